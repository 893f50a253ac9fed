-- Servers, credentials, metric samples in tiers, alert rules, alerts, silences.
-- Metric times are epoch milliseconds (BIGINT): portable, compact and fast to bucket.

CREATE TABLE credentials (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    username TEXT,
    sealed_secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX credentials_project_name ON credentials (project_id, lower(name));

CREATE TABLE servers (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    tags TEXT NOT NULL,
    address TEXT NOT NULL,
    database_name TEXT,
    credential_id TEXT REFERENCES credentials (id) ON DELETE SET NULL,
    probe_interval_secs INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_changed_at TIMESTAMP,
    last_checked_at TIMESTAMP,
    node_name TEXT,
    agent_token_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX servers_project_name ON servers (project_id, lower(name));
CREATE UNIQUE INDEX servers_agent_token_hash ON servers (agent_token_hash);
CREATE INDEX servers_last_checked_at ON servers (last_checked_at);

CREATE TABLE metric_samples (
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL
);
CREATE INDEX metric_samples_series ON metric_samples (server_id, metric, at_ms);
CREATE INDEX metric_samples_at ON metric_samples (at_ms);

-- One row per series, tier (60 or 3600 seconds) and bucket start, updated at ingest.
CREATE TABLE metric_rollups (
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    tier_secs INTEGER NOT NULL,
    bucket_ms BIGINT NOT NULL,
    sample_count BIGINT NOT NULL,
    value_sum DOUBLE PRECISION NOT NULL,
    value_min DOUBLE PRECISION NOT NULL,
    value_max DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (server_id, metric, tier_secs, bucket_ms)
);
CREATE INDEX metric_rollups_bucket ON metric_rollups (tier_secs, bucket_ms);

CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    metric TEXT NOT NULL,
    server_id TEXT REFERENCES servers (id) ON DELETE CASCADE,
    tag TEXT,
    comparison TEXT NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    for_secs INTEGER NOT NULL,
    severity TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX alert_rules_project ON alert_rules (project_id);

-- One row per episode; each transition's time is kept (started, fired, resolved).
CREATE TABLE alerts (
    id TEXT PRIMARY KEY NOT NULL,
    rule_id TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    started_at TIMESTAMP NOT NULL,
    fired_at TIMESTAMP,
    resolved_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX alerts_project_state ON alerts (project_id, state);
CREATE INDEX alerts_rule_server ON alerts (rule_id, server_id, state);

CREATE TABLE silences (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    rule_id TEXT REFERENCES alert_rules (id) ON DELETE CASCADE,
    server_id TEXT REFERENCES servers (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX silences_project_ends ON silences (project_id, ends_at);
