-- The real values of captures a case result shows masked (they equal or contain
-- a secret), sealed with the credential key: the cases of the run that use them
-- get them from here after a takeover.
ALTER TABLE run_cases ADD COLUMN sealed_captures TEXT;
