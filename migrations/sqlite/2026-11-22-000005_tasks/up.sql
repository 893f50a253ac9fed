CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    action TEXT NOT NULL,
    concurrency TEXT NOT NULL,
    misfire TEXT NOT NULL,
    max_run_seconds INTEGER,
    enabled BOOLEAN NOT NULL,
    paused BOOLEAN NOT NULL,
    schedule_since TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tasks_project_name ON tasks (project_id, name);

CREATE TABLE task_fires (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    fire_at TIMESTAMP NOT NULL,
    trigger_kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    missed_count INTEGER NOT NULL,
    run_id TEXT,
    node TEXT NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP
);
CREATE UNIQUE INDEX task_fires_claim ON task_fires (task_id, trigger_kind, fire_at);
CREATE INDEX task_fires_outcome ON task_fires (outcome);

ALTER TABLE runs ADD COLUMN task_id TEXT REFERENCES tasks (id) ON DELETE SET NULL;
CREATE INDEX runs_task_id ON runs (task_id);
