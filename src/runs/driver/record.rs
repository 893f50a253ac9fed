//! Storing what happens to a run's cases and to the run: results with their
//! counters and events, the final status, DONE, log lines.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use crate::db::{now, DbError};
use crate::notifications::model::NotificationKind;
use crate::notifications::service::notify;
use crate::runs::events::{counters, log_event, progress, status_event};
use crate::runs::model::{CaseCompletion, NewEvent, RunCaseId, RunCaseRow, RunRow, StoredResult};
use crate::runs::service::publish;
use crate::runs::state::{CaseResultStatus, RunStatus};

use super::state::{Driver, Finished};

impl Driver<'_> {
    /// Finishes a run that reached its final status without its DONE: a
    /// cancelled run's unfinished cases are skipped, then DONE is stored.
    pub(super) async fn close_taken_over(&mut self) -> anyhow::Result<()> {
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

    /// Stores finished cases (captures feed the cases still to come).
    pub(super) async fn record_outcomes(
        &mut self,
        done: Vec<(usize, Finished)>,
    ) -> anyhow::Result<()> {
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

    pub(super) fn skip(&self, index: usize, reason: &str) -> CaseCompletion {
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

    /// Commits completions with their counters and events, and starts the
    /// cases the freed workers can take in the same transaction (while the run
    /// is still running on this node); then publishes the events, in `seq`
    /// order, and sends the started cases on their way.
    pub(super) async fn commit(&mut self, completions: Vec<CaseCompletion>) -> anyhow::Result<()> {
        if completions.is_empty() {
            return Ok(());
        }
        for completion in &completions {
            if let Some(index) = self
                .cases
                .iter()
                .position(|case| case.id == completion.run_case_id)
            {
                self.finished[index] = true;
            }
        }
        let starting = if self.run.status == RunStatus::Running {
            self.take_ready()
        } else {
            Vec::new()
        };
        let starts = self.start_events(&starting);
        let by_id: HashMap<&RunCaseId, &RunCaseRow> =
            self.cases.iter().map(|case| (&case.id, case)).collect();
        let event_of = |completion: &CaseCompletion, run: &RunRow| {
            let case = by_id.get(&completion.run_case_id);
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
        let node = self.app.executor.node_id();
        let (run, events, started) = self
            .app
            .db
            .transaction(async |conn| {
                let at = now();
                let (run, events) =
                    RunRow::complete_cases(conn, id, &completions, &event_of, at).await?;
                let still_ours =
                    run.status == RunStatus::Running && run.lease_owner.as_deref() == Some(node);
                let started = if still_ours && !starts.is_empty() {
                    RunRow::start_cases(conn, id, &starts, at).await?
                } else {
                    Vec::new()
                };
                Ok::<_, DbError>((run, events, started))
            })
            .await?;
        self.app.metrics.record_case_results(
            completions
                .iter()
                .map(|completion| completion.status.as_str()),
        );
        self.run = run;
        for event in &events {
            publish(self.app, &self.run, event).await;
        }
        if started.is_empty() {
            self.put_back(starting);
        } else {
            self.started(starting, &started).await;
        }
        Ok(())
    }

    /// Re-reads the run (status, lease).
    pub(super) async fn refresh(&mut self) -> anyhow::Result<()> {
        if let Some(run) = RunRow::find(&mut self.app.db.conn().await?, &self.run.id).await? {
            self.run = run;
        }
        Ok(())
    }

    /// Aborts in-flight cases and skips every unfinished one, then ends the stream.
    pub(super) async fn cancel_unfinished(&mut self) -> anyhow::Result<()> {
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
    pub(super) async fn finish(&mut self) -> anyhow::Result<bool> {
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
    pub(super) async fn done(&mut self) -> anyhow::Result<()> {
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

    pub(super) async fn log(&mut self, level: &str, message: String) -> anyhow::Result<()> {
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
