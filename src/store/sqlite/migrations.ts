import { deferrableInsertTriggerSql, rollupMigrationSql } from './rollups.js';

/**
 * Schema migrations for the SQLite store, applied in order at open. The database's `PRAGMA user_version`
 * records how many have run. Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: events, keys, meta.
  `
  CREATE TABLE events (
    id                    TEXT PRIMARY KEY,
    source                TEXT NOT NULL,
    provider_request_id   TEXT,
    started_at            INTEGER NOT NULL,
    first_token_at        INTEGER,
    ended_at              INTEGER NOT NULL,
    user_id               TEXT,
    team_id               TEXT,
    project_id            TEXT,
    key_id                TEXT,
    session_id            TEXT,
    tags                  TEXT NOT NULL DEFAULT '[]',
    repo                  TEXT,
    branch                TEXT,
    provider              TEXT NOT NULL,
    endpoint              TEXT NOT NULL,
    model_requested       TEXT,
    model_served          TEXT,
    input_tokens          INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens     INTEGER NOT NULL DEFAULT 0,
    cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens         INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens      INTEGER NOT NULL DEFAULT 0,
    cost_usd              REAL,
    usage_estimated       INTEGER NOT NULL DEFAULT 0,
    status                INTEGER NOT NULL,
    error_class           TEXT,
    streamed              INTEGER NOT NULL DEFAULT 0,
    client_aborted        INTEGER NOT NULL DEFAULT 0,
    raw_usage             TEXT
  );
  CREATE INDEX idx_events_started_at      ON events (started_at, id);
  CREATE INDEX idx_events_user            ON events (user_id, started_at);
  CREATE INDEX idx_events_team            ON events (team_id, started_at);
  CREATE INDEX idx_events_project         ON events (project_id, started_at);
  CREATE INDEX idx_events_session         ON events (session_id, started_at);
  -- No index on model or source: every index costs each insert on the gateway's write path, and model/source
  -- filters are always combined with a time range, which idx_events_started_at serves.

  CREATE TABLE keys (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    team_id     TEXT,
    project_id  TEXT,
    name        TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
  );
  CREATE INDEX idx_keys_prefix ON keys (prefix);

  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  );
  INSERT INTO meta (key, value) VALUES ('keys_version', 0);
  `,
  // 2: audit mode: importer file offsets, OTLP cumulative counter series, outcome events.
  `
  CREATE TABLE import_files (
    source      TEXT NOT NULL,
    path        TEXT NOT NULL,
    "offset"    INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    inode       INTEGER NOT NULL,
    mtime_ms    REAL NOT NULL,
    head_hash   TEXT NOT NULL,
    head_bytes  INTEGER NOT NULL,
    context     TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (source, path)
  ) WITHOUT ROWID;

  CREATE TABLE counter_series (
    series_key     TEXT PRIMARY KEY,
    start_time_ns  TEXT NOT NULL,
    time_ns        TEXT NOT NULL,
    value          REAL NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE outcomes (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    user_id     TEXT,
    team_id     TEXT,
    repo        TEXT,
    session_id  TEXT,
    at          INTEGER NOT NULL,
    count       REAL NOT NULL,
    source      TEXT NOT NULL,
    attrs       TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX idx_outcomes_at   ON outcomes (at, id);
  CREATE INDEX idx_outcomes_user ON outcomes (user_id, at);
  CREATE INDEX idx_outcomes_team ON outcomes (team_id, at);
  `,
  // 3: waste detection: findings, request fingerprints (no text: keyed hashes and counts), the fingerprint secret.
  `
  CREATE TABLE findings (
    id            TEXT PRIMARY KEY,
    rule          TEXT NOT NULL,
    subject_kind  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    user_id       TEXT,
    team_id       TEXT,
    session_id    TEXT,
    start_at      INTEGER NOT NULL,
    end_at        INTEGER NOT NULL,
    wasted_usd    REAL NOT NULL,
    waste_method  TEXT NOT NULL,
    confidence    REAL NOT NULL,
    summary       TEXT NOT NULL,
    suggestion    TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    detected_at   INTEGER NOT NULL
  );
  CREATE INDEX idx_findings_start ON findings (start_at);
  CREATE INDEX idx_findings_user  ON findings (user_id, start_at);
  CREATE INDEX idx_findings_team  ON findings (team_id, start_at);

  CREATE TABLE fingerprints (
    event_id        TEXT PRIMARY KEY,
    at              INTEGER NOT NULL,
    user_id         TEXT,
    session_id      TEXT,
    human_turn      INTEGER NOT NULL,
    prompt          BLOB,
    features        TEXT,
    blocks          BLOB,
    tool_step       INTEGER,
    tools_declared  INTEGER NOT NULL DEFAULT 0,
    complexity      REAL
  );
  CREATE INDEX idx_fingerprints_at ON fingerprints (at);

  CREATE TABLE detect_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 4: outcomes of shipped work (git, webhooks, the API): where, which change, how big, whether AI co-wrote it.
  `
  ALTER TABLE outcomes ADD COLUMN project_id    TEXT;
  ALTER TABLE outcomes ADD COLUMN branch        TEXT;
  ALTER TABLE outcomes ADD COLUMN sha           TEXT;
  ALTER TABLE outcomes ADD COLUMN pr_number     INTEGER;
  ALTER TABLE outcomes ADD COLUMN tickets       TEXT;
  ALTER TABLE outcomes ADD COLUMN lines_added   INTEGER;
  ALTER TABLE outcomes ADD COLUMN lines_removed INTEGER;
  ALTER TABLE outcomes ADD COLUMN files_changed INTEGER;
  ALTER TABLE outcomes ADD COLUMN ai_coauthored INTEGER;
  ALTER TABLE outcomes ADD COLUMN ai_tools      TEXT;
  ALTER TABLE outcomes ADD COLUMN reverts_sha   TEXT;
  `,
  // 5: hourly rollups at three levels (model; team and source; user, team, project and source), filled from the
  // events already stored and kept up to date by triggers on events. See rollups.ts (frozen with this migration).
  rollupMigrationSql(),
  // 6: the rollup insert trigger can be deferred inside one write transaction (bulk imports sum the rollups of a
  // batch themselves: a third of the insert time). See rollups.ts and rollup-batch.ts.
  deferrableInsertTriggerSql(),
  // 7: which target failed when the gateway's fallback served a request (UsageEvent.fallbackFrom).
  `ALTER TABLE events ADD COLUMN fallback_from TEXT;`,
  // 8: live waste detection (src/detect/live): which process runs it (a lease) and how far it has read the events.
  `
  CREATE TABLE detect_live (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    lease_until  INTEGER NOT NULL,
    cursor       TEXT,
    updated_at   INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 9: the importers' price book: per-token rates learnt from the price catalogue, so that a re-import need not
  // load it (src/importers/price-book.ts). One row, under the key of the catalogue version it was learnt from.
  `CREATE TABLE import_price_book (
    catalogue  TEXT PRIMARY KEY,
    book       TEXT NOT NULL
  ) WITHOUT ROWID;`,
  // 10: the increase the last point of an OTLP counter series added, so that the same point sent again (a retried
  // batch whose events were not stored) gives the same increase instead of none (audit-tables.ts, counterDelta).
  `ALTER TABLE counter_series ADD COLUMN last_delta REAL;`,
  // 11: the gateway's Messages events by the provider's id of the request (Anthropic's msg_…), so an import of Claude
  // Code's log finds a request the gateway already metered and does not count it twice (audit-tables.ts,
  // commitImportBatch). Messages only: Claude Code calls nothing else, and the ids are random, so each indexed
  // insert lands on a page of its own (measured: 15 → 24 µs of CPU per gateway event when every one was indexed).
  `CREATE INDEX idx_events_gateway_request ON events (provider_request_id)
     WHERE source = 'gateway' AND endpoint = 'messages' AND provider_request_id IS NOT NULL;`,
  // 12: an OTLP counter series is its attributes and its start time (the point a cumulative counter counts from), so
  // two senders with the same attributes (two processes of one service, without an instance id) each keep their own
  // series instead of taking the row from each other and losing their increases (audit-tables.ts, counterDelta).
  // The stored rows keep their start: each becomes the series of that start.
  `
  CREATE TABLE counter_series_by_start (
    series_key     TEXT NOT NULL,
    start_time_ns  TEXT NOT NULL,
    time_ns        TEXT NOT NULL,
    value          REAL NOT NULL,
    last_delta     REAL,
    PRIMARY KEY (series_key, start_time_ns)
  ) WITHOUT ROWID;
  INSERT INTO counter_series_by_start (series_key, start_time_ns, time_ns, value, last_delta)
    SELECT series_key, start_time_ns, time_ns, value, last_delta FROM counter_series;
  DROP TABLE counter_series;
  ALTER TABLE counter_series_by_start RENAME TO counter_series;
  `,
  // 13: what the metric points of an OTLP interval event said so far (their identities and sums), under the event's
  // id, so points of one interval that arrive in several requests (a collector's batch processor splits exports)
  // add to the event instead of being dropped as a replay of it (importers/otlp/intervals.ts). A GenAI token
  // histogram's interval is told with the resource, model and endpoint whose spans describe some of its requests
  // (its event is what the spans of its window leave over), found from a span by them; the spans of a window are
  // found by model and end (OpenTelemetry events only).
  `
  CREATE TABLE otel_intervals (
    id       TEXT PRIMARY KEY,
    from_ms  INTEGER NOT NULL,
    to_ms    INTEGER NOT NULL,
    state    TEXT NOT NULL,
    resource TEXT,
    model    TEXT,
    endpoint TEXT
  ) WITHOUT ROWID;
  CREATE INDEX idx_otel_intervals_resource ON otel_intervals (resource, model, endpoint, to_ms) WHERE resource IS NOT NULL;
  CREATE INDEX idx_events_otel_model_end ON events (model_served, ended_at) WHERE source = 'otel';
  `,
  // 14: the usage buckets priced apart from text tokens: audio tokens among the input and output (OpenAI's audio
  // models), and the built-in tool calls billed per call, by kind, as JSON (UsageEvent.toolCalls). Not in the rollups:
  // their cost is in cost_usd, and reports show them per event.
  `
  ALTER TABLE events ADD COLUMN audio_input_tokens  INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE events ADD COLUMN audio_output_tokens INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE events ADD COLUMN tool_calls          TEXT;
  `,
  // 15: the fingerprint secret leaves the database (it is now a file beside it, or config): with it, anyone who could
  // read the database could invert the stored prompt hashes word by word against a dictionary. The old secret is
  // dropped, not moved: it was readable with the database. Fingerprints made with it no longer match new ones and
  // age out with the retention (those made with a configured secret still match). secure_delete zeroes its freed
  // page rather than leave the secret's bytes in the file.
  `
  PRAGMA secure_delete = ON;
  DROP TABLE IF EXISTS detect_secrets;
  PRAGMA secure_delete = OFF;
  `,
];
