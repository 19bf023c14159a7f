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
  CREATE INDEX idx_events_model_served    ON events (model_served, started_at);
  CREATE INDEX idx_events_model_requested ON events (model_requested, started_at);
  CREATE INDEX idx_events_source          ON events (source, started_at);

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
];
