-- A task's newest run (Task.lastRun) is read from the index alone.
DROP INDEX runs_task_id;
CREATE INDEX runs_task_id ON runs (task_id, id);
