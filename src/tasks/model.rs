//! Task and fire rows, and their queries.
//!
//! A fire is claimed by inserting its row: the unique (task, trigger, fire
//! time) index lets exactly one node win each fire, whatever the number of
//! nodes scheduling the same task.

use async_graphql::Enum;
use chrono::NaiveDateTime;
use diesel::{
    ExpressionMethods, Insertable, JoinOnDsl, NullableExpressionMethods, OptionalExtension,
    QueryDsl, Queryable, Selectable, SelectableHelper,
};
use serde::{Deserialize, Serialize};

use crate::db::schema::{runs, task_fires, tasks};
use crate::db::stored::{unreadable_row, Json};
use crate::db::{Conn, DbError, DbResult};
use crate::projects::scope::ProjectScope;
use crate::runs::state::ACTIVE_STATUSES;
use crate::{db_run, stored_enum};

use super::action::{ConcurrencyPolicy, MisfirePolicy, TaskAction};

/// Fires claimed per statement on PostgreSQL (12 columns each, well under its bind limit).
const CLAIMS_PER_STATEMENT: usize = 1000;

/// A stored task; `action` is a [`TaskAction`] as JSON.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = tasks)]
pub struct TaskRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub cron: String,
    pub timezone: String,
    pub action: Json<TaskAction>,
    pub concurrency: ConcurrencyPolicy,
    pub misfire: MisfirePolicy,
    pub max_run_seconds: Option<i32>,
    pub enabled: bool,
    pub paused: bool,
    /// Fires before this time are not owed: set at creation, enabling and schedule changes.
    pub schedule_since: NaiveDateTime,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One fire of a task and what came of it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = task_fires)]
pub struct FireRow {
    pub id: String,
    pub task_id: String,
    pub project_id: String,
    pub fire_at: NaiveDateTime,
    pub trigger_kind: TaskTrigger,
    pub outcome: FireOutcome,
    pub reason: Option<String>,
    pub missed_count: i32,
    pub run_id: Option<String>,
    pub node: String,
    pub claimed_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
}

/// What fired a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskTrigger {
    /// Its schedule.
    Schedule,
    /// A person, with runTaskNow.
    Manual,
}

stored_enum!(TaskTrigger {
    Schedule = "SCHEDULE",
    Manual = "MANUAL",
});

/// What came of a fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FireOutcome {
    /// Claimed by a node, its run about to start.
    Claimed,
    /// Its run started.
    Started,
    /// Waiting for the task's previous run to end.
    Queued,
    /// Not run (see the reason), e.g. the previous run was still active.
    Skipped,
    /// Fell due while the task was paused or no server was running.
    Missed,
    /// Its run could not start (see the reason).
    Failed,
}

stored_enum!(FireOutcome {
    Claimed = "CLAIMED",
    Started = "STARTED",
    Queued = "QUEUED",
    Skipped = "SKIPPED",
    Missed = "MISSED",
    Failed = "FAILED",
});

crate::project_owned!(TaskRow, "task");

/// Database methods.
impl TaskRow {
    /// Stores a new task.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(tasks::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The task `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            tasks::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "tasks", id))
        })
    }

    /// A page of a project's tasks in creation order, after the task `after_id`.
    pub async fn page(
        conn: &mut Conn,
        scope: &ProjectScope,
        after_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = tasks::table
                .filter(tasks::project_id.eq(scope.project_id()))
                .select(Self::as_select())
                .order(tasks::id.asc())
                .limit(limit)
                .into_boxed();
            if let Some(after) = after_id {
                query = query.filter(tasks::id.gt(after.to_owned()));
            }
            Ok(query.load(conn).await?)
        })
    }

    /// How many tasks the project has.
    pub async fn count(conn: &mut Conn, scope: &ProjectScope) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(tasks::table
                .filter(tasks::project_id.eq(scope.project_id()))
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// Every enabled task (paused ones too: their misses are owed on resume).
    pub async fn all_enabled(conn: &mut Conn) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(tasks::table
                .filter(tasks::enabled.eq(true))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The current version (`updated_at`) of each of `ids` that still exists.
    pub async fn versions(
        conn: &mut Conn,
        ids: &[String],
    ) -> DbResult<Vec<(String, NaiveDateTime)>> {
        db_run!(conn, |conn| {
            Ok(tasks::table
                .filter(tasks::id.eq_any(ids))
                .select((tasks::id, tasks::updated_at))
                .load(conn)
                .await?)
        })
    }

    /// Writes every editable column of the task.
    pub async fn save(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::update(tasks::table.find(&self.id))
                .set((
                    tasks::name.eq(&self.name),
                    tasks::description.eq(&self.description),
                    tasks::cron.eq(&self.cron),
                    tasks::timezone.eq(&self.timezone),
                    tasks::action.eq(&self.action),
                    tasks::concurrency.eq(self.concurrency),
                    tasks::misfire.eq(self.misfire),
                    tasks::max_run_seconds.eq(self.max_run_seconds),
                    tasks::enabled.eq(self.enabled),
                    tasks::paused.eq(self.paused),
                    tasks::schedule_since.eq(self.schedule_since),
                    tasks::updated_at.eq(self.updated_at),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Deletes a task of the project in scope with its fires (its runs stay, unlinked).
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope, id: &str) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::delete(
                tasks::table
                    .find(id)
                    .filter(tasks::project_id.eq(scope.project_id())),
            )
            .execute(conn)
            .await?;
            Ok(())
        })
    }

    /// Whether a run the task fired is queued, running or paused (its id if so).
    pub async fn active_run(conn: &mut Conn, id: &str) -> DbResult<Option<String>> {
        db_run!(conn, |conn| {
            Ok(runs::table
                .filter(runs::task_id.eq(id))
                .filter(runs::status.eq_any(ACTIVE_STATUSES))
                .select(runs::id)
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// The newest run the task fired.
    pub async fn last_run(
        conn: &mut Conn,
        id: &str,
    ) -> DbResult<Option<crate::runs::model::RunRow>> {
        db_run!(conn, |conn| {
            Ok(runs::table
                .filter(runs::task_id.eq(id))
                .order(runs::id.desc())
                .select(crate::runs::model::RunRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Active runs fired by tasks with a maximum run time: (run id, created, limit in s).
    pub async fn runs_with_deadline(
        conn: &mut Conn,
    ) -> DbResult<Vec<(String, NaiveDateTime, i32, String)>> {
        db_run!(conn, |conn| {
            Ok(runs::table
                .inner_join(tasks::table.on(tasks::id.nullable().eq(runs::task_id)))
                .filter(runs::status.eq_any(ACTIVE_STATUSES))
                .filter(tasks::max_run_seconds.is_not_null())
                .select((
                    runs::id,
                    runs::created_at,
                    tasks::max_run_seconds.assume_not_null(),
                    tasks::id,
                ))
                .load(conn)
                .await?)
        })
    }
}

/// Database methods.
impl FireRow {
    /// Inserts the fires no node has claimed yet; returns the ids of those this call claimed.
    /// On SQLite, run it in a transaction: one statement per fire.
    pub async fn claim(conn: &mut Conn, fires: &[FireRow]) -> DbResult<Vec<String>> {
        if fires.is_empty() {
            return Ok(Vec::new());
        }
        // PostgreSQL takes many rows per statement; diesel cannot build that for
        // SQLite, where one statement per row inside the transaction is cheap anyway.
        db_run!(conn,
            sqlite: |conn| {
                let mut claimed = Vec::with_capacity(fires.len());
                for fire in fires {
                    let id: Option<String> = diesel::insert_into(task_fires::table)
                        .values(fire)
                        .on_conflict((
                            task_fires::task_id,
                            task_fires::trigger_kind,
                            task_fires::fire_at,
                        ))
                        .do_nothing()
                        .returning(task_fires::id)
                        .get_result(conn)
                        .await
                        .optional()?;
                    claimed.extend(id);
                }
                Ok(claimed)
            },
            postgres: |conn| {
                let mut claimed = Vec::with_capacity(fires.len());
                for chunk in fires.chunks(CLAIMS_PER_STATEMENT) {
                    let ids: Vec<String> = diesel::insert_into(task_fires::table)
                        .values(chunk)
                        .on_conflict((
                            task_fires::task_id,
                            task_fires::trigger_kind,
                            task_fires::fire_at,
                        ))
                        .do_nothing()
                        .returning(task_fires::id)
                        .get_results(conn)
                        .await?;
                    claimed.extend(ids);
                }
                Ok(claimed)
            },
        )
    }

    /// Records what came of a claimed or queued fire.
    pub async fn settle(
        conn: &mut Conn,
        id: &str,
        outcome: FireOutcome,
        reason: Option<&str>,
        run_id: Option<&str>,
        started_at: Option<NaiveDateTime>,
    ) -> DbResult<FireRow> {
        db_run!(conn, |conn| {
            Ok(diesel::update(task_fires::table.find(id))
                .set((
                    task_fires::outcome.eq(outcome),
                    task_fires::reason.eq(reason),
                    task_fires::run_id.eq(run_id),
                    task_fires::started_at.eq(started_at),
                ))
                .returning(FireRow::as_returning())
                .get_result(conn)
                .await?)
        })
    }

    /// The latest scheduled fire time handled for one task.
    pub async fn latest_scheduled_for(
        conn: &mut Conn,
        task_id: &str,
    ) -> DbResult<Option<NaiveDateTime>> {
        db_run!(conn, |conn| {
            Ok(task_fires::table
                .filter(task_fires::task_id.eq(task_id))
                .filter(task_fires::trigger_kind.eq(TaskTrigger::Schedule))
                .select(diesel::dsl::max(task_fires::fire_at))
                .first(conn)
                .await?)
        })
    }

    /// Deletes the project's settled fires older than `before`, keeping each task's
    /// latest scheduled fire (the mark misfires are counted from); how many went.
    pub async fn purge_before(
        conn: &mut Conn,
        scope: &ProjectScope,
        before: NaiveDateTime,
    ) -> DbResult<usize> {
        let task_ids: Vec<String> = db_run!(&mut *conn, |conn| {
            Ok::<_, DbError>(
                tasks::table
                    .filter(tasks::project_id.eq(scope.project_id()))
                    .select(tasks::id)
                    .load(conn)
                    .await?,
            )
        })?;
        let mut deleted = 0;
        for task_id in task_ids {
            let latest = Self::latest_scheduled_for(conn, &task_id).await?;
            let keep_from = latest.map_or(before, |latest| latest.min(before));
            deleted += db_run!(&mut *conn, |conn| {
                Ok::<_, DbError>(
                    diesel::delete(
                        task_fires::table
                            .filter(task_fires::task_id.eq(&task_id))
                            .filter(task_fires::fire_at.lt(keep_from))
                            .filter(
                                task_fires::outcome
                                    .ne_all([FireOutcome::Queued, FireOutcome::Claimed]),
                            ),
                    )
                    .execute(conn)
                    .await?,
                )
            })?;
        }
        Ok(deleted)
    }

    /// A page of a task's fires, newest first, after the fire `after_id`.
    pub async fn page(
        conn: &mut Conn,
        task_id: &str,
        after_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = task_fires::table
                .filter(task_fires::task_id.eq(task_id))
                .select(Self::as_select())
                .order(task_fires::id.desc())
                .limit(limit)
                .into_boxed();
            if let Some(after) = after_id {
                query = query.filter(task_fires::id.lt(after.to_owned()));
            }
            Ok(query.load(conn).await?)
        })
    }

    /// How many fires the task has.
    pub async fn count(conn: &mut Conn, task_id: &str) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(task_fires::table
                .filter(task_fires::task_id.eq(task_id))
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// Whether the task has a fire waiting for its previous run.
    pub async fn has_queued(conn: &mut Conn, task_id: &str) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(task_fires::table
                .filter(task_fires::task_id.eq(task_id))
                .filter(task_fires::outcome.eq(FireOutcome::Queued))
                .count()
                .get_result::<i64>(conn)
                .await?
                > 0)
        })
    }

    /// Fires waiting for their task's previous run, oldest first.
    pub async fn queued(conn: &mut Conn) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(task_fires::table
                .filter(task_fires::outcome.eq(FireOutcome::Queued))
                .select(Self::as_select())
                .order(task_fires::id.asc())
                .load(conn)
                .await?)
        })
    }

    /// Moves a fire from `from` to CLAIMED for `node`; true for the one caller that wins.
    pub async fn take(
        conn: &mut Conn,
        id: &str,
        from: FireOutcome,
        node: &str,
        at: NaiveDateTime,
    ) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                task_fires::table
                    .filter(task_fires::id.eq(id))
                    .filter(task_fires::outcome.eq(from)),
            )
            .set((
                task_fires::outcome.eq(FireOutcome::Claimed),
                task_fires::node.eq(node),
                task_fires::claimed_at.eq(at),
            ))
            .execute(conn)
            .await?
                == 1)
        })
    }

    /// Claimed fires whose node stopped before settling them (claimed before `before`).
    pub async fn abandoned(conn: &mut Conn, before: NaiveDateTime) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(task_fires::table
                .filter(task_fires::outcome.eq(FireOutcome::Claimed))
                .filter(task_fires::claimed_at.lt(before))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }
}
