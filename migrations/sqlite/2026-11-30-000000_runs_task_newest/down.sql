DROP INDEX runs_task_id;
CREATE INDEX runs_task_id ON runs (task_id);
