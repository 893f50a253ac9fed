-- Monitor work shared between nodes on one database.
-- Each server's next probe time (epoch milliseconds); a node claims a due
-- server by moving it forward, so exactly one node probes it per interval.
ALTER TABLE servers ADD COLUMN next_probe_ms BIGINT;
CREATE INDEX servers_next_probe_ms ON servers (next_probe_ms);

-- Duties one node at a time performs (alert evaluation, purging old samples),
-- held under a lease that its node renews and another takes over once expired.
CREATE TABLE monitor_leases (
    duty TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- At most one open (PENDING or FIRING) alert per rule and server.
CREATE UNIQUE INDEX alerts_one_open_per_rule_server ON alerts (rule_id, server_id)
    WHERE state IN ('PENDING', 'FIRING');
