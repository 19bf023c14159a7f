/**
 * Schema migrations for the Postgres store, applied in order at open (see `migrate` in postgres-store.ts). The
 * `schema_migrations` table records each applied version. Never edit a released migration: append a new one.
 *
 * Text columns use the "C" collation so that `ORDER BY id` and group keys compare byte-wise, as SQLite does,
 * whatever the database's default collation is.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: events (partitioned by month of started_at), the hourly rollup, keys, meta.
  `
  -- started_at is epoch milliseconds, as in SQLite and UsageEvent: no conversion on the hot path, and monthly
  -- partitions are plain bigint ranges (bounds computed in UTC by partitions.ts).
  --
  -- The primary key of a partitioned table must contain the partition key, so events' is (id, started_at), which
  -- alone would let one id be stored twice with two start times. Importers do produce that: Claude Code writes
  -- several lines, with different timestamps, for one response. So event_ids, an unpartitioned table, keeps ids
  -- unique as SQLite does: an insert claims the id there first and only a claimed id reaches events.
  CREATE TABLE event_ids (
    id          TEXT COLLATE "C" PRIMARY KEY,
    started_at  BIGINT NOT NULL
  );

  CREATE TABLE events (
    id                    TEXT COLLATE "C" NOT NULL,
    source                TEXT COLLATE "C" NOT NULL,
    provider_request_id   TEXT COLLATE "C",
    started_at            BIGINT NOT NULL,
    first_token_at        BIGINT,
    ended_at              BIGINT NOT NULL,
    user_id               TEXT COLLATE "C",
    team_id               TEXT COLLATE "C",
    project_id            TEXT COLLATE "C",
    key_id                TEXT COLLATE "C",
    session_id            TEXT COLLATE "C",
    tags                  JSONB NOT NULL DEFAULT '[]',
    repo                  TEXT COLLATE "C",
    branch                TEXT COLLATE "C",
    provider              TEXT COLLATE "C" NOT NULL,
    endpoint              TEXT COLLATE "C" NOT NULL,
    model_requested       TEXT COLLATE "C",
    model_served          TEXT COLLATE "C",
    input_tokens          BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens     BIGINT NOT NULL DEFAULT 0,
    cache_write_5m_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens      BIGINT NOT NULL DEFAULT 0,
    cost_usd              DOUBLE PRECISION,
    usage_estimated       BOOLEAN NOT NULL DEFAULT false,
    status                INTEGER NOT NULL,
    error_class           TEXT COLLATE "C",
    streamed              BOOLEAN NOT NULL DEFAULT false,
    client_aborted        BOOLEAN NOT NULL DEFAULT false,
    -- Text, not JSONB: kept byte for byte as the provider sent it, for re-pricing.
    raw_usage             TEXT,
    PRIMARY KEY (id, started_at)
  ) PARTITION BY RANGE (started_at);

  -- Safety net only: the store creates the month's partition before inserting into it, and moves any rows
  -- found here into a partition when it creates one.
  CREATE TABLE events_default PARTITION OF events DEFAULT;

  -- The same indexes as SQLite's, created on the parent so every partition gets them.
  CREATE INDEX idx_events_started_at      ON events (started_at, id);
  CREATE INDEX idx_events_user            ON events (user_id, started_at);
  CREATE INDEX idx_events_team            ON events (team_id, started_at);
  CREATE INDEX idx_events_project         ON events (project_id, started_at);
  CREATE INDEX idx_events_session         ON events (session_id, started_at);
  CREATE INDEX idx_events_model_served    ON events (model_served, started_at);
  CREATE INDEX idx_events_model_requested ON events (model_requested, started_at);
  CREATE INDEX idx_events_source          ON events (source, started_at);

  -- Sums per UTC hour and per combination of the dimensions reports filter or group on, maintained in the
  -- same statement as the event insert from the rows actually inserted (never from ignored duplicates).
  -- Both model columns are kept: the model filter matches either, the model group uses served-else-requested.
  CREATE TABLE usage_hourly (
    hour_start            BIGINT NOT NULL,
    user_id               TEXT COLLATE "C",
    team_id               TEXT COLLATE "C",
    project_id            TEXT COLLATE "C",
    model_requested       TEXT COLLATE "C",
    model_served          TEXT COLLATE "C",
    provider              TEXT COLLATE "C" NOT NULL,
    source                TEXT COLLATE "C" NOT NULL,
    requests              BIGINT NOT NULL,
    input_tokens          BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    reasoning_tokens      BIGINT NOT NULL,
    cost_usd              DOUBLE PRECISION NOT NULL,
    unpriced              BIGINT NOT NULL,
    estimated             BIGINT NOT NULL,
    first_at              BIGINT NOT NULL,
    last_at               BIGINT NOT NULL,
    -- NULLS NOT DISTINCT (PostgreSQL 15+): a null team is one group, so the upsert finds its row.
    CONSTRAINT usage_hourly_key UNIQUE NULLS NOT DISTINCT
      (hour_start, user_id, team_id, project_id, model_requested, model_served, provider, source)
  );

  CREATE TABLE keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    hash        TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix      TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    team_id     TEXT COLLATE "C",
    project_id  TEXT COLLATE "C",
    name        TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
  );
  CREATE INDEX idx_keys_prefix ON keys (prefix);

  CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
  );
  INSERT INTO meta (key, value) VALUES ('keys_version', 0);
  `,
  // 2: audit mode: importer file offsets, OTLP cumulative counter series, outcome events (as SQLite's 2).
  `
  CREATE TABLE import_files (
    source      TEXT COLLATE "C" NOT NULL,
    path        TEXT COLLATE "C" NOT NULL,
    "offset"    BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    inode       BIGINT NOT NULL,
    mtime_ms    DOUBLE PRECISION NOT NULL,
    head_hash   TEXT NOT NULL,
    head_bytes  BIGINT NOT NULL,
    context     TEXT,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (source, path)
  );

  -- Nanosecond times are decimal strings (they exceed 2^53), compared as numbers in code.
  CREATE TABLE counter_series (
    series_key     TEXT COLLATE "C" PRIMARY KEY,
    start_time_ns  TEXT NOT NULL,
    time_ns        TEXT NOT NULL,
    value          DOUBLE PRECISION NOT NULL
  );

  CREATE TABLE outcomes (
    id          TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C",
    team_id     TEXT COLLATE "C",
    repo        TEXT COLLATE "C",
    session_id  TEXT COLLATE "C",
    at          BIGINT NOT NULL,
    count       DOUBLE PRECISION NOT NULL,
    source      TEXT COLLATE "C" NOT NULL,
    attrs       JSONB NOT NULL DEFAULT '{}'
  );
  CREATE INDEX idx_outcomes_at   ON outcomes (at, id);
  CREATE INDEX idx_outcomes_user ON outcomes (user_id, at);
  CREATE INDEX idx_outcomes_team ON outcomes (team_id, at);
  `,
  // 3: outcomes of shipped work (git, webhooks, the API), as SQLite's 4.
  `
  ALTER TABLE outcomes
    ADD COLUMN project_id    TEXT COLLATE "C",
    ADD COLUMN branch        TEXT COLLATE "C",
    ADD COLUMN sha           TEXT COLLATE "C",
    ADD COLUMN pr_number     BIGINT,
    ADD COLUMN tickets       JSONB,
    ADD COLUMN lines_added   BIGINT,
    ADD COLUMN lines_removed BIGINT,
    ADD COLUMN files_changed BIGINT,
    ADD COLUMN ai_coauthored BOOLEAN,
    ADD COLUMN ai_tools      JSONB,
    ADD COLUMN reverts_sha   TEXT COLLATE "C";
  `,
  // 4: which target failed when the gateway's fallback served a request (UsageEvent.fallbackFrom), as SQLite's 7.
  `
  ALTER TABLE events ADD COLUMN fallback_from TEXT COLLATE "C";
  `,
  // 5: waste detection (as SQLite's 3 and 8): findings, request fingerprints (keyed hashes and counts, no text), the
  // fingerprint secret, and live detection's lease and feed.
  `
  CREATE TABLE findings (
    id            TEXT COLLATE "C" PRIMARY KEY,
    rule          TEXT COLLATE "C" NOT NULL,
    subject_kind  TEXT COLLATE "C" NOT NULL,
    subject_id    TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C",
    team_id       TEXT COLLATE "C",
    session_id    TEXT COLLATE "C",
    start_at      BIGINT NOT NULL,
    end_at        BIGINT NOT NULL,
    wasted_usd    DOUBLE PRECISION NOT NULL,
    waste_method  TEXT NOT NULL,
    confidence    DOUBLE PRECISION NOT NULL,
    summary       TEXT NOT NULL,
    suggestion    TEXT NOT NULL,
    evidence      JSONB NOT NULL,
    detected_at   BIGINT NOT NULL
  );
  CREATE INDEX idx_findings_start ON findings (start_at);
  CREATE INDEX idx_findings_user  ON findings (user_id, start_at);
  CREATE INDEX idx_findings_team  ON findings (team_id, start_at);

  CREATE TABLE fingerprints (
    event_id        TEXT COLLATE "C" PRIMARY KEY,
    at              BIGINT NOT NULL,
    user_id         TEXT COLLATE "C",
    session_id      TEXT COLLATE "C",
    human_turn      BOOLEAN NOT NULL,
    prompt          BYTEA,
    features        JSONB,
    blocks          BYTEA,
    tool_step       BIGINT,
    tools_declared  INTEGER NOT NULL DEFAULT 0,
    complexity      DOUBLE PRECISION
  );
  CREATE INDEX idx_fingerprints_at ON fingerprints (at);

  CREATE TABLE detect_secrets (
    name   TEXT COLLATE "C" PRIMARY KEY,
    value  TEXT NOT NULL
  );

  CREATE TABLE detect_live (
    name         TEXT COLLATE "C" PRIMARY KEY,
    holder       TEXT NOT NULL,
    lease_until  BIGINT NOT NULL,
    cursor       TEXT,
    updated_at   BIGINT NOT NULL
  );

  -- The feed of live detection: the id of the transaction that stored each event. Read only below the oldest
  -- transaction still running (pg_snapshot_xmin), a position every later commit is above, so nothing committed
  -- late is skipped. Added without a default first (no table rewrite: rows stored before it keep NULL and are read
  -- by time at a warm-up), then the default applies to new rows. One index entry per event, appended at its right
  -- edge (transaction ids only grow).
  ALTER TABLE event_ids ADD COLUMN xact xid8;
  ALTER TABLE event_ids ALTER COLUMN xact SET DEFAULT pg_current_xact_id();
  CREATE INDEX idx_event_ids_xact ON event_ids (xact, id) WHERE xact IS NOT NULL;
  `,
  // The increase the last point of an OTLP counter series added, as SQLite's 10.
  `ALTER TABLE counter_series ADD COLUMN last_delta float8;`,
  // The gateway's events by the provider's id of the request, as SQLite's 11.
  `CREATE INDEX idx_events_gateway_request ON events (provider_request_id)
     WHERE source = 'gateway' AND endpoint = 'messages' AND provider_request_id IS NOT NULL;`,
  // An OTLP counter series is its attributes and its start time, as SQLite's 12.
  `
  ALTER TABLE counter_series DROP CONSTRAINT counter_series_pkey;
  ALTER TABLE counter_series ADD PRIMARY KEY (series_key, start_time_ns);
  `,
  // What the metric points of an OTLP interval event said so far, by resource, model and endpoint for a GenAI token
  // histogram's; and OpenTelemetry events by model and end: as SQLite's 13.
  `
  CREATE TABLE otel_intervals (
    id       TEXT COLLATE "C" PRIMARY KEY,
    from_ms  BIGINT NOT NULL,
    to_ms    BIGINT NOT NULL,
    state    TEXT NOT NULL,
    resource TEXT COLLATE "C",
    model    TEXT COLLATE "C",
    endpoint TEXT COLLATE "C"
  );
  CREATE INDEX idx_otel_intervals_resource ON otel_intervals (resource, model, endpoint, to_ms) WHERE resource IS NOT NULL;
  CREATE INDEX idx_events_otel_model_end ON events (model_served, ended_at) WHERE source = 'otel';
  `,
  // Audio tokens and built-in tool calls of an event, as SQLite's 14. A constant default: no table rewrite.
  `
  ALTER TABLE events
    ADD COLUMN audio_input_tokens  BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN audio_output_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN tool_calls          JSONB;
  `,
  // The fingerprint secret leaves the database, as SQLite's 15 (store/postgres/findings-tables.ts).
  `
  DROP TABLE IF EXISTS detect_secrets;
  `,
];
