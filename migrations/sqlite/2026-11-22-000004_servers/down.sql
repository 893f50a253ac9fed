DROP TABLE silences;
DROP TABLE alerts;
DROP TABLE alert_rules;
DROP TABLE metric_rollups;
DROP TABLE metric_samples;
DROP TABLE servers;
DROP TABLE credentials;
