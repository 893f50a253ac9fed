ALTER TABLE run_cases DROP COLUMN sealed_captures;
