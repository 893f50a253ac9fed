//! Run rows, case snapshots with their results, numbered events, and their queries.
//!
//! Every write that a client can observe (a transition, a result) appends its
//! event in the same transaction, taking the next `seq` from the run row, so
//! stored events, results and counters always agree.

use chrono::NaiveDateTime;
use diesel::{
    BoolExpressionMethods, ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable,
    Selectable, SelectableHelper,
};
use serde::{Deserialize, Serialize};

use crate::cases::spec::KeyValue;
use crate::db::schema::{run_cases, run_events, runs};
use crate::db::stored::unreadable_row;
use crate::db::{Conn, DbResult};
use crate::projects::scope::ProjectScope;
use crate::secrets::SecretBox;
use crate::{db_run, project_owned};

use super::state::{CaseResultStatus, RunCaseKind, RunStatus, RunTrigger, ACTIVE_STATUSES};

crate::stored_id!(
    /// The id of a run. Run ids, the ids of a run's cases and the ids of the
    /// cases those snapshot travel side by side (rows, the driver, event
    /// payloads) and must not be swapped.
    RunId
);

crate::stored_id!(
    /// The id of one case of one run (a `run_cases` row), not the id of the
    /// case it snapshots.
    RunCaseId
);

/// A stored run.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = runs)]
pub struct RunRow {
    pub id: RunId,
    pub project_id: String,
    pub status: RunStatus,
    pub trigger_kind: RunTrigger,
    pub started_by: Option<String>,
    pub retry_of: Option<RunId>,
    pub environment: String,
    pub max_workers: i32,
    pub total: i32,
    pub passed: i32,
    pub failed: i32,
    pub errored: i32,
    pub skipped: i32,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub next_seq: i64,
    pub task_id: Option<String>,
}

project_owned!(RunRow, "run");

/// A case snapshotted by a run; `spec` is the case's spec JSON, `result` a [`StoredResult`]
/// (what is shown), `sealed_captures` the real values of captures shown masked.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = run_cases)]
pub struct RunCaseRow {
    pub id: RunCaseId,
    pub run_id: RunId,
    pub case_id: String,
    pub position: i32,
    pub name: String,
    pub kind: RunCaseKind,
    pub spec: String,
    pub status: CaseResultStatus,
    pub duration_ms: Option<i64>,
    pub result: Option<String>,
    pub finished_at: Option<NaiveDateTime>,
    pub sealed_captures: Option<String>,
}

/// One numbered event of a run; `payload` is JSON.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = run_events)]
pub struct RunEventRow {
    pub run_id: RunId,
    pub seq: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

/// An event about to be stored (its `seq` is assigned on insert).
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// INIT, CASE_STARTED, CASE_FINISHED, STATUS, LOG or DONE.
    pub kind: &'static str,
    /// The JSON payload.
    pub payload: serde_json::Value,
}

/// A case's final status with what is stored for it.
#[derive(Debug, Clone)]
pub struct CaseCompletion {
    /// The run case.
    pub run_case_id: RunCaseId,
    /// PASSED, FAILED, ERROR or SKIPPED.
    pub status: CaseResultStatus,
    /// Time the case took, when it ran.
    pub duration_ms: Option<i64>,
    /// The [`StoredResult`] as JSON.
    pub result: String,
    /// The real values of the captures the result shows masked, sealed.
    pub sealed_captures: Option<String>,
}

/// Which runs of a project to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// Only runs with this trigger.
    pub trigger: Option<RunTrigger>,
    /// Only runs created at or after.
    pub since: Option<NaiveDateTime>,
    /// Only runs created before.
    pub until: Option<NaiveDateTime>,
    /// Only runs fired by this task.
    pub task_id: Option<String>,
}

/// Appends one event on `$conn` (inside the caller's transaction): takes the next `seq` from the run.
macro_rules! append_event {
    ($conn:expr, $run_id:expr, $event:expr, $at:expr) => {{
        let seq: i64 = diesel::update(runs::table.find($run_id))
            .set(runs::next_seq.eq(runs::next_seq + 1))
            .returning(runs::next_seq)
            .get_result($conn)
            .await?;
        let row = RunEventRow {
            run_id: $run_id.clone(),
            seq,
            kind: $event.kind.to_owned(),
            payload: $event.payload.to_string(),
            created_at: $at,
        };
        diesel::insert_into(run_events::table)
            .values(&row)
            .execute($conn)
            .await?;
        row
    }};
}

/// One project's runs narrowed by a [`RunFilter`], boxed for the backend in use.
macro_rules! filtered_runs {
    ($project_id:expr, $filter:expr) => {{
        let filter: &RunFilter = $filter;
        let mut query = runs::table
            .filter(runs::project_id.eq($project_id.to_owned()))
            .into_boxed();
        if let Some(status) = &filter.status {
            query = query.filter(runs::status.eq(*status));
        }
        if let Some(trigger) = &filter.trigger {
            query = query.filter(runs::trigger_kind.eq(*trigger));
        }
        if let Some(since) = filter.since {
            query = query.filter(runs::created_at.ge(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(runs::created_at.lt(until));
        }
        if let Some(task_id) = &filter.task_id {
            query = query.filter(runs::task_id.eq(task_id.clone()));
        }
        query
    }};
}

/// Database methods.
impl RunRow {
    /// Stores a run with its case snapshots (in the caller's transaction).
    pub async fn insert_with_cases(&self, conn: &mut Conn, cases: &[RunCaseRow]) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(runs::table)
                .values(self)
                .execute(conn)
                .await?;
            for case in cases {
                diesel::insert_into(run_cases::table)
                    .values(case)
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
    }

    /// Deletes the project's runs that finished before `before`; how many went.
    pub async fn purge_finished_before(
        conn: &mut Conn,
        scope: &ProjectScope,
        before: NaiveDateTime,
    ) -> DbResult<usize> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(
                runs::table
                    .filter(runs::project_id.eq(scope.project_id()))
                    .filter(runs::finished_at.lt(before)),
            )
            .execute(conn)
            .await?)
        })
    }

    /// The run `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            runs::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "runs", id))
        })
    }

    /// A page of a project's runs, newest first, after the run `after_id`.
    pub async fn page(
        conn: &mut Conn,
        scope: &ProjectScope,
        filter: &RunFilter,
        after_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = filtered_runs!(scope.project_id(), filter)
                .select(Self::as_select())
                .order(runs::id.desc())
                .limit(limit);
            if let Some(after) = after_id {
                query = query.filter(runs::id.lt(after.to_owned()));
            }
            Ok(query.load(conn).await?)
        })
    }

    /// How many of a project's runs match.
    pub async fn count(conn: &mut Conn, scope: &ProjectScope, filter: &RunFilter) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(filtered_runs!(scope.project_id(), filter)
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// The project's last `limit` finished runs, newest first.
    pub async fn latest_finished(
        conn: &mut Conn,
        scope: &ProjectScope,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(runs::table
                .filter(runs::project_id.eq(scope.project_id()))
                .filter(runs::finished_at.is_not_null())
                .select(Self::as_select())
                .order(runs::id.desc())
                .limit(limit)
                .load(conn)
                .await?)
        })
    }

    /// How many runs of the project are queued, running or paused.
    pub async fn count_active(conn: &mut Conn, scope: &ProjectScope) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(runs::table
                .filter(runs::project_id.eq(scope.project_id()))
                .filter(runs::status.eq_any(ACTIVE_STATUSES))
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// Runs that still need a node and whose lease expired before `now` (or
    /// all of them, with `ignore_leases`). A run needs a node while it is
    /// active, and after its final status until its DONE is stored: the lease
    /// is released only with DONE, so a final run that still holds one was
    /// left half-finished (cancelled while its node was down).
    pub async fn orphaned(
        conn: &mut Conn,
        now: NaiveDateTime,
        ignore_leases: bool,
    ) -> DbResult<Vec<RunId>> {
        db_run!(conn, |conn| {
            let mut query = runs::table
                .filter(
                    runs::status
                        .eq_any(ACTIVE_STATUSES)
                        .or(runs::lease_owner.is_not_null()),
                )
                .select(runs::id)
                .into_boxed();
            if !ignore_leases {
                query = query.filter(
                    runs::lease_expires_at
                        .is_null()
                        .or(runs::lease_expires_at.lt(now)),
                );
            }
            Ok(query.load(conn).await?)
        })
    }

    /// Takes the lease of a run that needs a node (see [`RunRow::orphaned`]) for
    /// `owner` if it is free, expired (or `force`); true when taken.
    pub async fn claim_lease(
        conn: &mut Conn,
        id: &RunId,
        owner: &str,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
        force: bool,
    ) -> DbResult<bool> {
        db_run!(conn, |conn| {
            let mut query = diesel::update(runs::table)
                .filter(runs::id.eq(id))
                .filter(
                    runs::status
                        .eq_any(ACTIVE_STATUSES)
                        .or(runs::lease_owner.is_not_null()),
                )
                .into_boxed();
            if !force {
                query = query.filter(
                    runs::lease_expires_at
                        .is_null()
                        .or(runs::lease_expires_at.lt(now)),
                );
            }
            Ok(query
                .set((
                    runs::lease_owner.eq(owner),
                    runs::lease_expires_at.eq(expires_at),
                ))
                .execute(conn)
                .await?
                == 1)
        })
    }

    /// Extends `owner`'s lease; false when another node holds it now.
    pub async fn renew_lease(
        conn: &mut Conn,
        id: &RunId,
        owner: &str,
        expires_at: NaiveDateTime,
    ) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                runs::table
                    .filter(runs::id.eq(id))
                    .filter(runs::lease_owner.eq(owner)),
            )
            .set(runs::lease_expires_at.eq(expires_at))
            .execute(conn)
            .await?
                == 1)
        })
    }

    /// Moves the run from one of `from` to `to` and appends `event` (in the
    /// caller's transaction); `None` when it was elsewhere.
    pub async fn transition(
        conn: &mut Conn,
        id: &RunId,
        from: &[RunStatus],
        to: RunStatus,
        event: &NewEvent,
        at: NaiveDateTime,
    ) -> DbResult<Option<(Self, RunEventRow)>> {
        db_run!(conn, |conn| {
            let changed = diesel::update(
                runs::table
                    .filter(runs::id.eq(id))
                    .filter(runs::status.eq_any(from)),
            )
            .set(runs::status.eq(to))
            .execute(conn)
            .await?;
            if changed == 0 {
                return Ok(None);
            }
            if to == RunStatus::Running {
                diesel::update(runs::table.find(id).filter(runs::started_at.is_null()))
                    .set(runs::started_at.eq(at))
                    .execute(conn)
                    .await?;
            }
            if to.is_final() {
                // The lease stays until DONE is stored (`RunRow::close`).
                diesel::update(runs::table.find(id))
                    .set(runs::finished_at.eq(at))
                    .execute(conn)
                    .await?;
            }
            let event = append_event!(conn, id, event, at);
            let run = runs::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await?;
            Ok(Some((run, event)))
        })
    }

    /// Appends one event to the run (in the caller's transaction).
    pub async fn append(
        conn: &mut Conn,
        id: &RunId,
        event: &NewEvent,
        at: NaiveDateTime,
    ) -> DbResult<RunEventRow> {
        db_run!(conn, |conn| { Ok(append_event!(conn, id, event, at)) })
    }

    /// Appends the run's DONE and releases its lease: no node has work on it any
    /// more (in the caller's transaction).
    pub async fn close(
        conn: &mut Conn,
        id: &RunId,
        done: &NewEvent,
        at: NaiveDateTime,
    ) -> DbResult<RunEventRow> {
        db_run!(conn, |conn| {
            let event = append_event!(conn, id, done, at);
            diesel::update(runs::table.find(id))
                .set((
                    runs::lease_owner.eq(None::<String>),
                    runs::lease_expires_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
                .await?;
            Ok(event)
        })
    }
}

/// Database methods.
impl RunCaseRow {
    /// The run's cases in order.
    pub async fn list_for_run(conn: &mut Conn, run_id: &RunId) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(run_cases::table
                .filter(run_cases::run_id.eq(run_id))
                .select(Self::as_select())
                .order(run_cases::position.asc())
                .load(conn)
                .await?)
        })
    }

    /// A page of the run's cases in order from `offset`, optionally in one status.
    pub async fn page(
        conn: &mut Conn,
        run_id: &RunId,
        status: Option<CaseResultStatus>,
        offset: i64,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = run_cases::table
                .filter(run_cases::run_id.eq(run_id))
                .select(Self::as_select())
                .order(run_cases::position.asc())
                .offset(offset)
                .limit(limit)
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(run_cases::status.eq(status));
            }
            Ok(query.load(conn).await?)
        })
    }

    /// How many of the run's cases are in `status` (all with `None`).
    pub async fn count(
        conn: &mut Conn,
        run_id: &RunId,
        status: Option<CaseResultStatus>,
    ) -> DbResult<i64> {
        db_run!(conn, |conn| {
            let mut query = run_cases::table
                .filter(run_cases::run_id.eq(run_id))
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(run_cases::status.eq(status));
            }
            Ok(query.count().get_result(conn).await?)
        })
    }

    /// Puts cases that were in flight when a node stopped back in line.
    pub async fn requeue_started(conn: &mut Conn, run_id: &RunId) -> DbResult<usize> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                run_cases::table
                    .filter(run_cases::run_id.eq(run_id))
                    .filter(run_cases::status.eq(CaseResultStatus::Running)),
            )
            .set(run_cases::status.eq(CaseResultStatus::Pending))
            .execute(conn)
            .await?)
        })
    }
}

/// Database methods.
impl RunEventRow {
    /// Deletes the events of the project's runs that finished before `before`; how many went.
    pub async fn purge_finished_before(
        conn: &mut Conn,
        scope: &ProjectScope,
        before: NaiveDateTime,
    ) -> DbResult<usize> {
        db_run!(conn, |conn| {
            let old_runs = runs::table
                .filter(runs::project_id.eq(scope.project_id()))
                .filter(runs::finished_at.lt(before))
                .select(runs::id);
            Ok(
                diesel::delete(run_events::table.filter(run_events::run_id.eq_any(old_runs)))
                    .execute(conn)
                    .await?,
            )
        })
    }

    /// The run's events after `after_seq`, in order, at most `limit`.
    pub async fn after(
        conn: &mut Conn,
        run_id: &RunId,
        after_seq: i64,
        kind: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = run_events::table
                .filter(run_events::run_id.eq(run_id))
                .filter(run_events::seq.gt(after_seq))
                .select(Self::as_select())
                .order(run_events::seq.asc())
                .limit(limit)
                .into_boxed();
            if let Some(kind) = kind {
                query = query.filter(run_events::kind.eq(kind.to_owned()));
            }
            Ok(query.load(conn).await?)
        })
    }
}

/// What is stored for a finished case: the HTTP outcome, or why it was skipped.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResult {
    /// The outcome of an executed HTTP case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<super::http_check::HttpCaseOutcome>,
    /// Why the case did not run (or did not finish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// What a task step (a probe, a purge) did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Local methods.
impl RunCaseRow {
    /// The stored result, once the case finished.
    pub fn stored_result(&self) -> Option<StoredResult> {
        self.result
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }

    /// Seals the real values of captures shown masked; `None` when there are none.
    pub fn seal_captures(
        secrets: &SecretBox,
        captures: &[KeyValue],
    ) -> anyhow::Result<Option<String>> {
        if captures.is_empty() {
            return Ok(None);
        }
        Ok(Some(secrets.seal(&serde_json::to_string(captures)?)))
    }

    /// The real values of the captures this case's result shows masked.
    pub fn masked_captures(&self, secrets: &SecretBox) -> anyhow::Result<Vec<KeyValue>> {
        let Some(sealed) = &self.sealed_captures else {
            return Ok(Vec::new());
        };
        let opened = secrets.open(sealed).map_err(|error| {
            anyhow::anyhow!("opening the captures of case {}: {error}", self.id)
        })?;
        Ok(serde_json::from_str(&opened)?)
    }
}
