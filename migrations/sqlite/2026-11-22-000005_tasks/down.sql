DROP INDEX runs_task_id;
ALTER TABLE runs DROP COLUMN task_id;
DROP TABLE task_fires;
DROP TABLE tasks;
