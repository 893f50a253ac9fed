//! Starting a run and its cases: INIT and RUNNING, which cases are ready, and
//! sending them on their way.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use crate::cases::spec::{HttpSpec, KeyValue};
use crate::db::{now, DbError};
use crate::runs::events::status_event;
use crate::runs::http_check::CaseContext;
use crate::runs::model::{NewEvent, RunCaseId, RunEventRow, RunRow};
use crate::runs::service::publish;
use crate::runs::state::{RunCaseKind, RunStatus};

use super::state::{Driver, Finished};
use super::NOT_SUPPORTED;

/// What a dispatched case needs, owned so the task outlives the driver's borrow.
struct Dispatch {
    index: usize,
    spec: HttpSpec,
    variables: Arc<HashMap<String, String>>,
    default_headers: Arc<Vec<KeyValue>>,
    secrets: Arc<Vec<String>>,
}

impl Driver<'_> {
    /// Starts a queued run (INIT, then RUNNING), or logs a takeover; skips unsupported cases.
    pub(super) async fn begin(&mut self, requeued: usize) -> anyhow::Result<()> {
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
            .filter(|index| self.specs[*index].is_none() && !self.steps[*index])
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

    /// final, or another node holds its lease now).
    pub(super) async fn step(&mut self) -> anyhow::Result<bool> {
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
        let starting = self.take_ready();
        if starting.is_empty() {
            return Ok(());
        }
        let starts = self.start_events(&starting);
        let id = &self.run.id;
        let events = self
            .app
            .db
            .transaction(async |conn| RunRow::start_cases(conn, id, &starts, now()).await)
            .await?;
        self.started(starting, &events).await;
        Ok(())
    }

    /// Takes the cases free workers can start now out of `pending`.
    pub(super) fn take_ready(&mut self) -> Vec<usize> {
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
        starting
    }

    /// Puts cases taken by [`Self::take_ready`] back, in their order.
    pub(super) fn put_back(&mut self, starting: Vec<usize>) {
        self.pending.extend(starting);
        self.pending.sort_unstable();
    }

    /// The CASE_STARTED events of `starting`.
    pub(super) fn start_events(&self, starting: &[usize]) -> Vec<(RunCaseId, NewEvent)> {
        starting
            .iter()
            .map(|index| {
                let case = &self.cases[*index];
                let started = NewEvent {
                    kind: "CASE_STARTED",
                    payload: json!({ "runCaseId": case.id, "caseId": case.case_id, "name": case.name, "position": case.position }),
                };
                (case.id.clone(), started)
            })
            .collect()
    }

    /// Publishes the stored CASE_STARTED `events`, then sends their cases on their way.
    pub(super) async fn started(&mut self, starting: Vec<usize>, events: &[RunEventRow]) {
        for event in events {
            publish(self.app, &self.run, event).await;
        }
        for index in starting {
            self.launch(index);
        }
    }

    /// Sends a started case on its way (a step, or an HTTP check on a worker slot).
    fn launch(&mut self, index: usize) {
        if self.steps[index] {
            let performed = self.performer.perform(
                self.app.clone(),
                self.run.project_id.clone(),
                self.cases[index].clone(),
            );
            self.in_flight_cases.insert(index);
            self.in_flight
                .spawn(async move { (index, Finished::Step(performed.await)) });
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
        let runner = self.app.executor.runner().clone();
        let slots = self.app.executor.slots().clone();
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
}
