DROP INDEX alerts_one_open_per_rule_server;
DROP TABLE monitor_leases;
DROP INDEX servers_next_probe_ms;
ALTER TABLE servers DROP COLUMN next_probe_ms;
