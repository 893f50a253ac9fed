DROP TABLE run_events;
DROP TABLE run_cases;
DROP TABLE runs;
