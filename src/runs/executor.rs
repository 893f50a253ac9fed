//! The executor: drives this node's runs with a bounded worker pool, and takes
//! over runs whose node stopped renewing their lease.
//!
//! One driver task per run dispatches cases (at most the run's `maxWorkers` in
//! flight, and at most [`NODE_MAX_IN_FLIGHT`] across the node), commits each
//! result with its counters and event in one transaction, then publishes the
//! event. It hears pause, resume and cancel through the run's own event topic
//! (and re-reads the status at every lease renewal, in case an event is lost).
//!
//! Captured values feed the cases that use them. A capture recorded masked
//! (it equals or contains a secret) becomes a secret of the run itself, and its
//! real value is stored sealed beside the result, so that a node taking the run
//! over feeds the same value to the cases still to come.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::app::App;
use crate::cases::spec::{CaseSpec, HttpSpec, KeyValue};
use crate::db::{now, Backend, DbError, DbResult};
use crate::egress::EgressPolicy;
use crate::notifications::model::NotificationKind;
use crate::notifications::service::notify;

use super::events::{counters, log_event, progress, run_control_topic, status_event};
use super::http_check::{request_placeholders, CaseContext, HttpCaseRun, HttpRunner};
use super::model::{CaseCompletion, NewEvent, RunCaseRow, RunRow, StoredResult};
use super::service::{publish, EnvironmentSnapshot};
use super::state::{CaseResultStatus, RunCaseKind, RunStatus};
use crate::tasks::steps::{StepOutcome, TaskStep};

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(5);
/// How often a driver renews its lease (and re-reads its run's status).
const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How often a node looks for runs whose lease expired.
const TAKEOVER_EVERY: Duration = Duration::from_secs(2);
/// Most cases in flight on one node across all runs.
pub const NODE_MAX_IN_FLIGHT: usize = 512;
/// Why SCRIPT, UI and PERF cases are skipped.
pub const NOT_SUPPORTED: &str = "not supported yet";

/// This node's executor.
pub struct Executor {
    node_id: String,
    slots: Arc<Semaphore>,
    runner: HttpRunner,
    driving: Mutex<HashSet<String>>,
}

impl Executor {
    /// An executor with a fresh node id and its own HTTP connection pool under `egress`.
    pub fn new(egress: Arc<EgressPolicy>) -> Self {
        Self {
            node_id: uuid::Uuid::now_v7().to_string(),
            slots: Arc::new(Semaphore::new(NODE_MAX_IN_FLIGHT)),
            runner: HttpRunner::new(egress),
            driving: Mutex::new(HashSet::new()),
        }
    }

    /// The id this node holds leases under.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// When a lease taken or renewed now expires.
    pub fn lease_deadline(&self) -> NaiveDateTime {
        now() + chrono::TimeDelta::from_std(LEASE).unwrap_or(chrono::TimeDelta::seconds(5))
    }

    /// Starts driving `run_id` here, unless this node already does.
    pub fn launch(&self, app: Arc<App>, run_id: String) {
        let fresh = self
            .driving
            .lock()
            .map(|mut driving| driving.insert(run_id.clone()))
            .unwrap_or(false);
        if fresh {
            tokio::spawn(async move {
                if let Err(error) = drive(&app, &run_id).await {
                    tracing::error!(%error, run_id, "run driver failed; another pass takes it over");
                }
                if let Ok(mut driving) = app.executor.driving.lock() {
                    driving.remove(&run_id);
                }
            });
        }
    }

    fn is_driving(&self, run_id: &str) -> bool {
        self.driving
            .lock()
            .map(|driving| driving.contains(run_id))
            .unwrap_or(true)
    }
}

/// Takes over orphaned runs now (on SQLite, a single node: every active run)
/// and then periodically, until shutdown.
pub fn spawn_takeover(app: Arc<App>) {
    tokio::spawn(async move {
        let mut at_start = app.db.backend() == Backend::Sqlite;
        let shutdown = app.shutdown_requested();
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = take_over_orphans(&app, at_start).await {
                tracing::warn!(%error, "looking for orphaned runs failed");
            }
            at_start = false;
            tokio::select! {
                () = tokio::time::sleep(TAKEOVER_EVERY) => {}
                () = &mut shutdown => return,
            }
        }
    });
}

async fn take_over_orphans(app: &Arc<App>, force: bool) -> DbResult<()> {
    let mut conn = app.db.conn().await?;
    for id in RunRow::orphaned(&mut conn, now(), force).await? {
        if app.executor.is_driving(&id) {
            continue;
        }
        let deadline = app.executor.lease_deadline();
        let node = app.executor.node_id();
        if RunRow::claim_lease(&mut conn, &id, node, now(), deadline, force).await? {
            tracing::info!(run_id = id, "taking over run");
            app.executor.launch(app.clone(), id);
        }
    }
    Ok(())
}

/// What a finished case brings back.
enum Finished {
    /// An HTTP case's exchange and verdict.
    Http(Box<HttpCaseRun>),
    /// A task step's verdict (a probe, a purge).
    Step(StepOutcome),
}

/// What a dispatched case needs, owned so the task outlives the driver's borrow.
struct Dispatch {
    index: usize,
    spec: HttpSpec,
    variables: Arc<HashMap<String, String>>,
    default_headers: Arc<Vec<KeyValue>>,
    secrets: Arc<Vec<String>>,
}

/// One run's dispatch state.
struct Driver<'a> {
    app: &'a Arc<App>,
    run: RunRow,
    cases: Vec<RunCaseRow>,
    specs: Vec<Option<HttpSpec>>,
    /// Task steps (PROBE, PURGE cases of a task's run).
    steps: Vec<Option<TaskStep>>,
    /// Per case, the cases whose captures it uses.
    needs: Vec<Vec<usize>>,
    pending: Vec<usize>,
    finished: Vec<bool>,
    variables: Arc<HashMap<String, String>>,
    default_headers: Arc<Vec<KeyValue>>,
    secrets: Arc<Vec<String>>,
    in_flight: JoinSet<(usize, Finished)>,
    in_flight_cases: HashSet<usize>,
}

async fn drive(app: &Arc<App>, run_id: &str) -> anyhow::Result<()> {
    // Subscribed before the run is read: a control change after the read is heard.
    let mut control = app.bus.subscribe(&run_control_topic(run_id));
    let (run, requeued, cases) = {
        let mut conn = app.db.conn().await?;
        let Some(run) = RunRow::find(&mut conn, run_id).await? else {
            return Ok(());
        };
        let requeued = RunCaseRow::requeue_started(&mut conn, run_id).await?;
        let cases = RunCaseRow::list_for_run(&mut conn, run_id).await?;
        (run, requeued, cases)
    };
    let mut driver = Driver::new(app, run, cases)?;
    if driver.run.status.is_final() {
        // Final, but its node stopped before storing DONE (cancelled while that node was down).
        return driver.close_taken_over().await;
    }
    driver.begin(requeued).await?;
    let shutdown = app.shutdown_requested();
    tokio::pin!(shutdown);
    let mut renew = tokio::time::interval(RENEW_EVERY);
    loop {
        if driver.step().await? {
            return Ok(());
        }
        tokio::select! {
            Some(joined) = driver.in_flight.join_next(), if !driver.in_flight.is_empty() => {
                let mut done = Vec::new();
                if let Ok(result) = joined {
                    done.push(result);
                }
                while let Some(Ok(result)) = driver.in_flight.try_join_next() {
                    done.push(result);
                }
                driver.record_outcomes(done).await?;
            }
            Some(_) = control.next() => driver.refresh().await?,
            _ = renew.tick() => {
                let deadline = app.executor.lease_deadline();
                let node = app.executor.node_id();
                if !RunRow::renew_lease(&mut app.db.conn().await?, run_id, node, deadline).await? {
                    driver.refresh().await?;
                    if !driver.run.status.is_final() {
                        // Another node took the run over.
                        driver.in_flight.abort_all();
                        return Ok(());
                    }
                }
                driver.refresh().await?;
            }
            () = &mut shutdown => {
                driver.in_flight.abort_all();
                // Let the next node take over at once instead of waiting for the lease.
                let node = app.executor.node_id();
                RunRow::renew_lease(&mut app.db.conn().await?, run_id, node, now()).await?;
                return Ok(());
            }
        }
    }
}

impl<'a> Driver<'a> {
    fn new(app: &'a Arc<App>, run: RunRow, cases: Vec<RunCaseRow>) -> anyhow::Result<Self> {
        let environment: EnvironmentSnapshot = serde_json::from_str(&run.environment)?;
        let mut variables = HashMap::new();
        let mut secrets = Vec::new();
        for variable in environment.variables {
            let value = if variable.secret {
                let opened = app.secrets.open(&variable.value).map_err(|error| {
                    anyhow::anyhow!("opening secret {}: {error}", variable.name)
                })?;
                secrets.push(opened.clone());
                opened
            } else {
                variable.value
            };
            variables.insert(variable.name, value);
        }
        let specs: Vec<Option<HttpSpec>> = cases
            .iter()
            .map(|case| {
                serde_json::from_str::<CaseSpec>(&case.spec)
                    .ok()
                    .and_then(|spec| spec.http)
            })
            .collect();
        let steps: Vec<Option<TaskStep>> = cases.iter().map(TaskStep::of_case).collect();
        let finished: Vec<bool> = cases
            .iter()
            .map(|case| case.status != CaseResultStatus::Pending)
            .collect();
        // Captured results of finished cases feed the rest, as before a takeover;
        // those recorded masked are stored sealed.
        for case in cases
            .iter()
            .filter(|case| case.status != CaseResultStatus::Pending)
        {
            if let Some(outcome) = case.stored_result().and_then(|result| result.outcome) {
                for capture in outcome.captures {
                    variables.insert(capture.name, capture.value);
                }
            }
            for capture in case.masked_captures(&app.secrets)? {
                secrets.push(capture.value.clone());
                variables.insert(capture.name, capture.value);
            }
        }
        let needs = capture_dependencies(&specs, &variables);
        let pending = (0..cases.len()).filter(|index| !finished[*index]).collect();
        Ok(Self {
            app,
            run,
            cases,
            specs,
            steps,
            needs,
            pending,
            finished,
            variables: Arc::new(variables),
            default_headers: Arc::new(environment.default_headers),
            secrets: Arc::new(secrets),
            in_flight: JoinSet::new(),
            in_flight_cases: HashSet::new(),
        })
    }

    /// Starts a queued run (INIT, then RUNNING), or logs a takeover; skips unsupported cases.
    async fn begin(&mut self, requeued: usize) -> anyhow::Result<()> {
        let at = now();
        if self.run.status == RunStatus::Queued {
            let list: Vec<serde_json::Value> = self
                .cases
                .iter()
                .map(|case| {
                    json!({ "runCaseId": case.id, "caseId": case.case_id, "name": case.name,
                            "kind": case.kind, "position": case.position })
                })
                .collect();
            let init = NewEvent {
                kind: "INIT",
                payload: json!({ "total": self.run.total, "maxWorkers": self.run.max_workers, "cases": list }),
            };
            let status = status_event(&self.run, RunStatus::Running, None);
            let id = &self.run.id;
            let (init, started) = self
                .app
                .db
                .transaction(async |conn| {
                    let init = RunRow::append(conn, id, &init, at).await?;
                    let queued = [RunStatus::Queued];
                    let started =
                        RunRow::transition(conn, id, &queued, RunStatus::Running, &status, at)
                            .await?;
                    Ok::<_, DbError>((init, started))
                })
                .await?;
            publish(self.app, &self.run, &init).await;
            if let Some((run, event)) = started {
                self.run = run;
                publish(self.app, &self.run, &event).await;
            }
        } else {
            let message = format!(
                "node {} took the run over; {} unfinished cases run again ({} were in flight)",
                self.app.executor.node_id(),
                self.pending.len(),
                requeued
            );
            self.log("INFO", message).await?;
        }
        let unsupported: Vec<usize> = self
            .pending
            .iter()
            .copied()
            .filter(|index| self.specs[*index].is_none() && self.steps[*index].is_none())
            .collect();
        if !unsupported.is_empty() {
            let completions = unsupported
                .iter()
                .map(|index| {
                    let reason = if self.cases[*index].kind == RunCaseKind::Http {
                        "the case's spec could not be read"
                    } else {
                        NOT_SUPPORTED
                    };
                    self.skip(*index, reason)
                })
                .collect();
            self.pending.retain(|index| !unsupported.contains(index));
            self.commit(completions).await?;
        }
        Ok(())
    }

    /// Finishes a run that reached its final status without its DONE: a
    /// cancelled run's unfinished cases are skipped, then DONE is stored.
    async fn close_taken_over(&mut self) -> anyhow::Result<()> {
        let node = self.app.executor.node_id().to_owned();
        if self.run.status == RunStatus::Cancelled {
            let message = format!(
                "node {node} took the cancelled run over to finish it; {} unfinished cases are skipped",
                self.pending.len()
            );
            self.log("INFO", message).await?;
            self.cancel_unfinished().await
        } else {
            self.log(
                "INFO",
                format!("node {node} took the finished run over to close it"),
            )
            .await?;
            self.done().await
        }
    }

    /// Acts on the current status; true when the driver is done (the run is
    /// final, or another node holds its lease now).
    async fn step(&mut self) -> anyhow::Result<bool> {
        match self.run.status {
            RunStatus::Cancelled => {
                self.cancel_unfinished().await?;
                return Ok(true);
            }
            status if status.is_final() => return Ok(true),
            RunStatus::Running => {
                self.dispatch().await?;
                if self.pending.is_empty() && self.in_flight.is_empty() {
                    return self.finish().await;
                }
            }
            _ => {}
        }
        if self.run.lease_owner.as_deref() != Some(self.app.executor.node_id())
            && self.run.lease_owner.is_some()
        {
            self.in_flight.abort_all();
            return Ok(true);
        }
        Ok(false)
    }

    /// Starts ready cases while the run has free workers: their CASE_STARTED
    /// events are stored in one transaction and published before any request goes out.
    async fn dispatch(&mut self) -> anyhow::Result<()> {
        let max_workers = usize::try_from(self.run.max_workers.max(1)).unwrap_or(1);
        let mut starting = Vec::new();
        while self.in_flight_cases.len() + starting.len() < max_workers {
            let ready = self
                .pending
                .iter()
                .position(|index| self.needs[*index].iter().all(|need| self.finished[*need]))
                // A capture cycle (or a capture that never comes) must not stall the run.
                .or_else(|| {
                    let idle = self.in_flight_cases.is_empty() && starting.is_empty();
                    (idle && !self.pending.is_empty()).then_some(0)
                });
            let Some(position) = ready else { break };
            starting.push(self.pending.remove(position));
        }
        if starting.is_empty() {
            return Ok(());
        }
        let starts: Vec<(String, NewEvent)> = starting
            .iter()
            .map(|index| {
                let case = &self.cases[*index];
                let started = NewEvent {
                    kind: "CASE_STARTED",
                    payload: json!({ "runCaseId": case.id, "caseId": case.case_id, "name": case.name, "position": case.position }),
                };
                (case.id.clone(), started)
            })
            .collect();
        let id = &self.run.id;
        let events = self
            .app
            .db
            .transaction(async |conn| RunRow::start_cases(conn, id, &starts, now()).await)
            .await?;
        for event in &events {
            publish(self.app, &self.run, event).await;
        }
        for index in starting {
            self.launch(index);
        }
        Ok(())
    }

    /// Sends a started case on its way (a task step, or an HTTP check on a worker slot).
    fn launch(&mut self, index: usize) {
        if let Some(step) = self.steps[index].clone() {
            let app = self.app.clone();
            let project_id = self.run.project_id.clone();
            self.in_flight_cases.insert(index);
            self.in_flight.spawn(async move {
                (index, Finished::Step(step.perform(&app, &project_id).await))
            });
            return;
        }
        let Some(spec) = self.specs[index].clone() else {
            return;
        };
        let dispatch = Dispatch {
            index,
            spec,
            variables: self.variables.clone(),
            default_headers: self.default_headers.clone(),
            secrets: self.secrets.clone(),
        };
        let runner = self.app.executor.runner.clone();
        let slots = self.app.executor.slots.clone();
        self.in_flight_cases.insert(index);
        self.in_flight.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let ctx = CaseContext {
                variables: &dispatch.variables,
                default_headers: &dispatch.default_headers,
                secrets: &dispatch.secrets,
            };
            let case_run = runner.run(&dispatch.spec, &ctx).await;
            (dispatch.index, Finished::Http(Box::new(case_run)))
        });
    }

    /// Stores finished cases (captures feed the cases still to come).
    async fn record_outcomes(&mut self, done: Vec<(usize, Finished)>) -> anyhow::Result<()> {
        let mut completions = Vec::with_capacity(done.len());
        for (index, finished) in done {
            self.in_flight_cases.remove(&index);
            let case_run = match finished {
                Finished::Http(case_run) => *case_run,
                Finished::Step(step) => {
                    completions.push(CaseCompletion {
                        run_case_id: self.cases[index].id.clone(),
                        status: step.status.into(),
                        duration_ms: Some(step.duration_ms),
                        result: serde_json::to_string(&StoredResult {
                            outcome: None,
                            skip_reason: None,
                            message: Some(step.message),
                        })?,
                        sealed_captures: None,
                    });
                    continue;
                }
            };
            let masked = case_run.masked_captures();
            if !case_run.captured.is_empty() {
                let variables = Arc::make_mut(&mut self.variables);
                for capture in &case_run.captured {
                    variables.insert(capture.name.clone(), capture.value.clone());
                }
            }
            if !masked.is_empty() {
                let secrets = Arc::make_mut(&mut self.secrets);
                secrets.extend(masked.iter().map(|capture| capture.value.clone()));
            }
            let outcome = case_run.outcome;
            let status = outcome.status.into();
            let duration_ms = Some(outcome.duration_ms);
            let result = StoredResult {
                outcome: Some(outcome),
                skip_reason: None,
                message: None,
            };
            completions.push(CaseCompletion {
                run_case_id: self.cases[index].id.clone(),
                status,
                duration_ms,
                result: serde_json::to_string(&result)?,
                sealed_captures: RunCaseRow::seal_captures(&self.app.secrets, &masked)?,
            });
        }
        self.commit(completions).await
    }

    fn skip(&self, index: usize, reason: &str) -> CaseCompletion {
        let result = StoredResult {
            outcome: None,
            skip_reason: Some(reason.to_owned()),
            message: None,
        };
        CaseCompletion {
            run_case_id: self.cases[index].id.clone(),
            status: CaseResultStatus::Skipped,
            duration_ms: None,
            result: serde_json::to_string(&result).unwrap_or_default(),
            sealed_captures: None,
        }
    }

    /// Commits completions with their counters and events, then publishes the events.
    async fn commit(&mut self, completions: Vec<CaseCompletion>) -> anyhow::Result<()> {
        if completions.is_empty() {
            return Ok(());
        }
        let by_id: HashMap<&str, &RunCaseRow> = self
            .cases
            .iter()
            .map(|case| (case.id.as_str(), case))
            .collect();
        let event_of = |completion: &CaseCompletion, run: &RunRow| {
            let case = by_id.get(completion.run_case_id.as_str());
            let result: serde_json::Value =
                serde_json::from_str(&completion.result).unwrap_or_default();
            NewEvent {
                kind: "CASE_FINISHED",
                payload: json!({
                    "runCaseId": completion.run_case_id,
                    "caseId": case.map(|case| case.case_id.clone()),
                    "name": case.map(|case| case.name.clone()),
                    "status": completion.status,
                    "durationMs": completion.duration_ms,
                    "result": result,
                    "progress": progress(run),
                    "counters": counters(run),
                }),
            }
        };
        let id = &self.run.id;
        let (run, events) = self
            .app
            .db
            .transaction(async |conn| {
                RunRow::complete_cases(conn, id, &completions, &event_of, now()).await
            })
            .await?;
        self.app.metrics.record_case_results(
            completions
                .iter()
                .map(|completion| completion.status.as_str()),
        );
        for completion in &completions {
            if let Some(index) = self
                .cases
                .iter()
                .position(|case| case.id == completion.run_case_id)
            {
                self.finished[index] = true;
            }
        }
        self.run = run;
        for event in &events {
            publish(self.app, &self.run, event).await;
        }
        Ok(())
    }

    /// Re-reads the run (status, lease).
    async fn refresh(&mut self) -> anyhow::Result<()> {
        if let Some(run) = RunRow::find(&mut self.app.db.conn().await?, &self.run.id).await? {
            self.run = run;
        }
        Ok(())
    }

    /// Aborts in-flight cases and skips every unfinished one, then ends the stream.
    async fn cancel_unfinished(&mut self) -> anyhow::Result<()> {
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        let mut completions: Vec<CaseCompletion> = self
            .in_flight_cases
            .drain()
            .collect::<Vec<_>>()
            .into_iter()
            .map(|index| self.skip(index, "run cancelled while the case was running"))
            .collect();
        let pending = std::mem::take(&mut self.pending);
        completions.extend(
            pending
                .into_iter()
                .map(|index| self.skip(index, "run cancelled")),
        );
        self.commit(completions).await?;
        self.done().await
    }

    /// Moves a run whose cases all finished to its final status.
    async fn finish(&mut self) -> anyhow::Result<bool> {
        let status = if self.run.failed > 0 {
            RunStatus::Failed
        } else if self.run.errored > 0 {
            RunStatus::Error
        } else {
            RunStatus::Passed
        };
        let event = status_event(&self.run, status, None);
        let id = &self.run.id;
        let moved = self
            .app
            .db
            .transaction(async |conn| {
                RunRow::transition(conn, id, &[RunStatus::Running], status, &event, now()).await
            })
            .await?;
        match moved {
            Some((run, event)) => {
                self.run = run;
                publish(self.app, &self.run, &event).await;
                self.done().await?;
                Ok(true)
            }
            None => {
                // Paused or cancelled meanwhile; the next step handles it.
                self.refresh().await?;
                Ok(false)
            }
        }
    }

    /// Stores DONE (releasing the lease) with the run as it is then, publishes
    /// it and tells whoever started the run.
    async fn done(&mut self) -> anyhow::Result<()> {
        let known = self.run.clone();
        let (run, event) = self
            .app
            .db
            .transaction(async |conn| {
                let run = RunRow::find(conn, &known.id).await?.unwrap_or(known);
                let done = NewEvent {
                    kind: "DONE",
                    payload: json!({ "status": run.status, "progress": progress(&run), "counters": counters(&run) }),
                };
                let event = RunRow::close(conn, &run.id, &done, now()).await?;
                Ok::<_, DbError>((run, event))
            })
            .await?;
        self.run = run;
        self.app
            .metrics
            .record_run_finished(self.run.status.as_str());
        publish(self.app, &self.run, &event).await;
        if let Some(user_id) = &self.run.started_by {
            let message = format!(
                "run {} finished {}: {} passed, {} failed, {} errored, {} skipped of {}",
                self.run.id,
                self.run.status,
                self.run.passed,
                self.run.failed,
                self.run.errored,
                self.run.skipped,
                self.run.total
            );
            if let Err(error) =
                notify(self.app, user_id, NotificationKind::RunFinished, message).await
            {
                tracing::warn!(%error, "run finished but its notification failed");
            }
        }
        Ok(())
    }

    async fn log(&mut self, level: &str, message: String) -> anyhow::Result<()> {
        let line = log_event(level, message);
        let id = &self.run.id;
        let event = self
            .app
            .db
            .transaction(async |conn| RunRow::append(conn, id, &line, now()).await)
            .await?;
        publish(self.app, &self.run, &event).await;
        Ok(())
    }
}

/// Per case, the other cases whose captures it uses (variables the environment lacks).
fn capture_dependencies(
    specs: &[Option<HttpSpec>],
    known: &HashMap<String, String>,
) -> Vec<Vec<usize>> {
    let mut producers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, spec) in specs.iter().enumerate() {
        for capture in spec.iter().flat_map(|spec| &spec.captures) {
            producers
                .entry(capture.variable.as_str())
                .or_default()
                .push(index);
        }
    }
    specs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let Some(spec) = spec else { return Vec::new() };
            let mut needs: Vec<usize> = request_placeholders(&spec.request)
                .iter()
                .filter(|name| !known.contains_key(name.as_str()))
                .filter_map(|name| producers.get(name.as_str()))
                .flatten()
                .copied()
                .filter(|producer| *producer != index)
                .collect();
            needs.sort_unstable();
            needs.dedup();
            needs
        })
        .collect()
}
