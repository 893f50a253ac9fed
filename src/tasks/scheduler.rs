//! The scheduler: every node plans every enabled task and claims each fire in
//! the database; the unique (task, trigger, fire time) index lets one node win.
//!
//! Fire times come from the cron expression (croner); the planner keeps the
//! next fire of every task in one ordered queue and sleeps until the earliest
//! with a tokio timer, so a fire starts within milliseconds of its time. All
//! fires due at one instant are claimed in one statement. Changes reach every
//! node through the event bus (and a periodic resync, should a notice be
//! lost). Fires that fell due while no node ran, or while a task was paused,
//! go through the task's misfire policy when a node plans the task again.
//!
//! A sweeper (every second, on every node) starts queued fires whose previous
//! run ended, cancels runs past their task's maximum run time (reason
//! TIMED_OUT), and settles fires whose node stopped between claim and start.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use futures_util::StreamExt;

use crate::app::App;
use crate::db::{now, DbResult};
use crate::runs::events::status_event;
use crate::runs::model::RunRow;
use crate::runs::service::publish as publish_run_event;
use crate::runs::state::{RunStatus, ACTIVE_STATUSES};

use super::action::MisfirePolicy;
use super::events::{publish, TaskChanged, TaskEventKind, CHANGED_TOPIC};
use super::fire::{claim, handle_claimed, new_fire, settle, start, FireOrigin};
use super::model::{FireOutcome, FireRow, TaskRow, TaskTrigger};
use super::schedule::{utc, DueFires, Schedule};

/// A fire this much overdue when a node plans its task counts as missed
/// (younger ones still fire, late, and another node's claim wins if it fired).
pub const MISFIRE_GRACE: Duration = Duration::from_secs(2);
/// How often every node re-reads all tasks, in case a change notice was lost.
const RESYNC_EVERY: Duration = Duration::from_secs(10);
/// How often the sweeper looks at queued fires, run deadlines and stale claims.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// A fire still CLAIMED this long after its claim lost its node.
const ABANDONED_AFTER: TimeDelta = TimeDelta::seconds(60);

/// Starts this node's planner and sweeper.
pub fn spawn(app: Arc<App>) {
    tokio::spawn(plan_forever(app.clone()));
    tokio::spawn(sweep_forever(app));
}

struct Plan {
    task: TaskRow,
    schedule: Schedule,
    next: DateTime<Utc>,
}

struct Planner {
    app: Arc<App>,
    plans: HashMap<String, Plan>,
    queue: BTreeSet<(DateTime<Utc>, String)>,
}

async fn plan_forever(app: Arc<App>) {
    // Listen before reading, so no change falls between the two.
    let mut changes = Box::pin(app.bus.subscribe_json::<TaskChanged>(CHANGED_TOPIC));
    let mut planner = Planner {
        app: app.clone(),
        plans: HashMap::new(),
        queue: BTreeSet::new(),
    };
    let shutdown = app.shutdown_requested();
    tokio::pin!(shutdown);
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let wake = planner.queue.first().map(|(at, _)| {
            let wait = (*at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::Instant::now() + wait
        });
        tokio::select! {
            () = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {
                planner.fire_due().await;
            }
            Some(change) = changes.next() => {
                if let Err(error) = planner.reload(&change.task_id).await {
                    tracing::warn!(%error, task_id = change.task_id, "re-planning a task failed");
                }
            }
            _ = resync.tick() => {
                if let Err(error) = planner.resync().await {
                    tracing::warn!(%error, "reading the tasks failed; retrying");
                }
            }
            () = &mut shutdown => return,
        }
    }
}

impl Planner {
    /// Claims every fire due now in one statement and hands the won ones over.
    async fn fire_due(&mut self) {
        let now_utc = Utc::now();
        let mut due = Vec::new();
        while let Some(first) = self.queue.first().cloned() {
            if first.0 > now_utc {
                break;
            }
            self.queue.remove(&first);
            due.push(first);
        }
        // A change that has not reached this node yet (a lost or slow notice) must
        // not fire: tasks changed since they were planned are planned again instead.
        let changed = self.changed_since_planned(&due).await;
        let node = self.app.executor.node_id().to_owned();
        let mut fires = Vec::with_capacity(due.len());
        for (at, task_id) in due {
            if changed.contains(&task_id) {
                continue;
            }
            let Some(plan) = self.plans.get_mut(&task_id) else {
                continue;
            };
            fires.push(new_fire(
                &plan.task,
                at.naive_utc(),
                TaskTrigger::Schedule,
                &node,
            ));
            if let Some(next) = plan.schedule.next_after(at) {
                plan.next = next;
                self.queue.insert((next, task_id));
            }
        }
        let claimed = match claim(&self.app, &fires).await {
            Ok(claimed) => claimed,
            Err(error) => {
                // Nothing was claimed here. Dropping the plans makes the next resync
                // plan these tasks afresh, which records the fires as missed.
                tracing::error!(%error, count = fires.len(), "claiming due fires failed");
                for fire in &fires {
                    self.forget(&fire.task_id);
                }
                return;
            }
        };
        for task_id in changed {
            if let Err(error) = self.reload(&task_id).await {
                tracing::warn!(%error, task_id, "re-planning a changed task failed");
            }
        }
        let claimed: HashSet<String> = claimed.into_iter().collect();
        for fire in fires.into_iter().filter(|fire| claimed.contains(&fire.id)) {
            let Some(task) = self.plans.get(&fire.task_id).map(|plan| plan.task.clone()) else {
                continue;
            };
            let app = self.app.clone();
            tokio::spawn(async move {
                handle_claimed(&app, &task, fire, &FireOrigin::Schedule { note: None }).await;
            });
        }
    }

    /// Which of the due tasks changed (or went) since this node planned them.
    async fn changed_since_planned(&self, due: &[(DateTime<Utc>, String)]) -> HashSet<String> {
        let ids: Vec<String> = due.iter().map(|(_, id)| id.clone()).collect();
        let versions: HashMap<String, NaiveDateTime> = match versions(&self.app, &ids).await {
            Ok(versions) => versions.into_iter().collect(),
            // Unknown: fire as planned; the claim still holds each fire to once.
            Err(_) => return HashSet::new(),
        };
        ids.into_iter()
            .filter(|id| {
                let planned = self.plans.get(id).map(|plan| plan.task.updated_at);
                versions.get(id).copied() != planned
            })
            .collect()
    }

    /// Re-reads every task; re-plans those that changed or are new.
    async fn resync(&mut self) -> anyhow::Result<()> {
        let tasks = TaskRow::all_enabled(&mut self.app.db.conn().await?).await?;
        let present: HashSet<String> = tasks.iter().map(|task| task.id.clone()).collect();
        let gone: Vec<String> = self
            .plans
            .keys()
            .filter(|id| !present.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            self.forget(&id);
        }
        for task in tasks {
            let unchanged = self
                .plans
                .get(&task.id)
                .is_some_and(|plan| plan.task.updated_at == task.updated_at);
            if !unchanged {
                self.replan(task).await?;
            }
        }
        Ok(())
    }

    /// Re-plans one task after a change notice.
    async fn reload(&mut self, task_id: &str) -> anyhow::Result<()> {
        match TaskRow::find(&mut self.app.db.conn().await?, task_id).await? {
            Some(task) => self.replan(task).await,
            None => {
                self.forget(task_id);
                Ok(())
            }
        }
    }

    /// Plans `task` afresh from its last handled fire, or drops it while disabled or paused.
    async fn replan(&mut self, task: TaskRow) -> anyhow::Result<()> {
        if !task.enabled || task.paused {
            self.forget(&task.id);
            return Ok(());
        }
        let handled =
            FireRow::latest_scheduled_for(&mut self.app.db.conn().await?, &task.id).await?;
        self.plan(task, handled).await;
        Ok(())
    }

    fn forget(&mut self, task_id: &str) {
        if let Some(plan) = self.plans.remove(task_id) {
            self.queue.remove(&(plan.next, task_id.to_owned()));
        }
    }

    /// Applies the misfire policy to what fell due unhandled, then queues the next fire.
    async fn plan(&mut self, task: TaskRow, handled: Option<NaiveDateTime>) {
        self.forget(&task.id);
        let schedule = match Schedule::parse(&task.cron, &task.timezone) {
            Ok(schedule) => schedule,
            Err(error) => {
                tracing::error!(%error, task_id = task.id, "a stored schedule no longer parses");
                return;
            }
        };
        let since = utc(handled.map_or(task.schedule_since, |at| at.max(task.schedule_since)));
        let horizon = Utc::now() - TimeDelta::from_std(MISFIRE_GRACE).unwrap_or_default();
        let mut planned_from = since.max(horizon);
        if let Some(due) = schedule.due_between(since, horizon) {
            catch_up(&self.app, &task, due).await;
            planned_from = planned_from.max(due.last);
        }
        let Some(next) = schedule.next_after(planned_from) else {
            return;
        };
        self.queue.insert((next, task.id.clone()));
        self.plans.insert(
            task.id.clone(),
            Plan {
                task,
                schedule,
                next,
            },
        );
    }
}

/// Records fires that fell due unhandled, and starts one catch-up run under RUN_ONCE.
async fn catch_up(app: &Arc<App>, task: &TaskRow, due: DueFires) {
    let node = app.executor.node_id();
    let run_once = task.misfire == MisfirePolicy::RunOnce;
    let missed_count = if run_once { due.count - 1 } else { due.count };
    let mut fires = Vec::new();
    if missed_count > 0 {
        let mut missed = new_fire(
            task,
            if run_once { due.first } else { due.last }.naive_utc(),
            TaskTrigger::Schedule,
            node,
        );
        missed.outcome = FireOutcome::Missed;
        missed.missed_count = i32::try_from(missed_count).unwrap_or(i32::MAX);
        missed.reason = Some(format!(
            "{missed_count} fire(s) from {} on fell due while the task was paused or no server was running{}",
            due.first.to_rfc3339(),
            if run_once { "; one catch-up run follows" } else { "" }
        ));
        fires.push(missed);
    }
    let catch_up =
        run_once.then(|| new_fire(task, due.last.naive_utc(), TaskTrigger::Schedule, node));
    fires.extend(catch_up.clone());
    let claimed = match claim(app, &fires).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::error!(%error, task_id = task.id, "recording missed fires failed");
            return;
        }
    };
    for fire in fires.into_iter().filter(|fire| claimed.contains(&fire.id)) {
        if fire.outcome == FireOutcome::Missed {
            publish(app, task, TaskEventKind::Missed, Some(fire), None).await;
        }
    }
    if let Some(fire) = catch_up.filter(|fire| claimed.contains(&fire.id)) {
        let note = format!("catch-up for the fire due at {}", due.last.to_rfc3339());
        let app = app.clone();
        let task = task.clone();
        tokio::spawn(async move {
            handle_claimed(
                &app,
                &task,
                fire,
                &FireOrigin::Schedule { note: Some(note) },
            )
            .await;
        });
    }
}

async fn sweep_forever(app: Arc<App>) {
    let shutdown = app.shutdown_requested();
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut shutdown => return,
        }
        if let Err(error) = start_queued(&app).await {
            tracing::warn!(%error, "starting queued fires failed");
        }
        if let Err(error) = cancel_overdue_runs(&app).await {
            tracing::warn!(%error, "cancelling overdue task runs failed");
        }
        if let Err(error) = settle_abandoned(&app).await {
            tracing::warn!(%error, "settling abandoned fires failed");
        }
    }
}

/// Starts each queued fire whose task has no active run any more.
async fn start_queued(app: &Arc<App>) -> anyhow::Result<()> {
    for (task, fire) in take_startable_fires(app).await? {
        let origin = FireOrigin::Schedule {
            note: Some("started when the previous run ended".into()),
        };
        start(app, &task, fire, &origin).await;
    }
    Ok(())
}

/// Takes (for this node) the queued fires whose task has no active run any more.
async fn take_startable_fires(app: &App) -> DbResult<Vec<(TaskRow, FireRow)>> {
    let mut conn = app.db.conn().await?;
    let mut taken = Vec::new();
    for fire in FireRow::queued(&mut conn).await? {
        let Some(task) = TaskRow::find(&mut conn, &fire.task_id).await? else {
            continue;
        };
        if let Some(run_id) = TaskRow::active_run(&mut conn, &task.id).await? {
            tracing::debug!(run_id, fire_id = fire.id, "queued fire still waits");
            continue;
        }
        let node = app.executor.node_id();
        if FireRow::take(&mut conn, &fire.id, FireOutcome::Queued, node, now()).await? {
            taken.push((task, fire));
        }
    }
    Ok(taken)
}

/// Cancels runs still active past their task's maximum run time, with reason TIMED_OUT.
async fn cancel_overdue_runs(app: &Arc<App>) -> anyhow::Result<()> {
    let at = now();
    let overdue = TaskRow::runs_with_deadline(&mut app.db.conn().await?).await?;
    for (run_id, created_at, limit, task_id) in overdue {
        if created_at + TimeDelta::seconds(i64::from(limit)) > at {
            continue;
        }
        let reason = format!("TIMED_OUT: the run passed its task's maximum run time of {limit} s");
        let cancelled = app
            .db
            .transaction(async |conn| {
                let Some(run) = RunRow::find(conn, &run_id).await? else {
                    return Ok(None);
                };
                let event = status_event(&run, RunStatus::Cancelled, Some(&reason));
                let cancelled = RunStatus::Cancelled;
                RunRow::transition(conn, &run.id, &ACTIVE_STATUSES, cancelled, &event, at).await
            })
            .await?;
        if let Some((cancelled, event)) = cancelled {
            publish_run_event(app, &cancelled, &event).await;
            if let Some(task) = TaskRow::find(&mut app.db.conn().await?, &task_id).await? {
                publish(app, &task, TaskEventKind::TimedOut, None, Some(run_id)).await;
            }
        }
    }
    Ok(())
}

/// Settles fires left CLAIMED by a node that stopped before starting their run.
async fn settle_abandoned(app: &Arc<App>) -> anyhow::Result<()> {
    let abandoned = FireRow::abandoned(&mut app.db.conn().await?, now() - ABANDONED_AFTER).await?;
    for fire in abandoned {
        let Some(task) = TaskRow::find(&mut app.db.conn().await?, &fire.task_id).await? else {
            continue;
        };
        let reason = format!("node {} stopped before the fire's run started", fire.node);
        settle(
            app,
            &task,
            &fire,
            FireOutcome::Failed,
            TaskEventKind::Failed,
            Some(&reason),
            None,
        )
        .await;
    }
    Ok(())
}

/// The current version (`updated_at`) of each of `ids` that still exists.
async fn versions(app: &App, ids: &[String]) -> DbResult<Vec<(String, NaiveDateTime)>> {
    TaskRow::versions(&mut app.db.conn().await?, ids).await
}
