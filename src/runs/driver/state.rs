//! What one run's driver knows: the run, its cases, what each needs, what the
//! environment and finished cases provide, and what is in flight.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::app::App;
use crate::cases::spec::{CaseSpec, HttpSpec, KeyValue};
use crate::runs::http_check::{request_placeholders, HttpCaseRun};
use crate::runs::model::{RunCaseRow, RunRow};
use crate::runs::service::EnvironmentSnapshot;
use crate::runs::state::CaseResultStatus;
use crate::runs::steps::{StepOutcome, StepPerformer};

/// What a finished case brings back.
pub(super) enum Finished {
    /// An HTTP case's exchange and verdict.
    Http(Box<HttpCaseRun>),
    /// A step's verdict (a probe, a purge).
    Step(StepOutcome),
}

/// One run's dispatch state.
pub(super) struct Driver<'a> {
    pub(super) app: &'a Arc<App>,
    /// Performs the cases that are steps.
    pub(super) performer: Arc<dyn StepPerformer>,
    pub(super) run: RunRow,
    pub(super) cases: Vec<RunCaseRow>,
    pub(super) specs: Vec<Option<HttpSpec>>,
    /// Which cases are steps (PROBE, PURGE cases of a task's run).
    pub(super) steps: Vec<bool>,
    /// Per case, the cases whose captures it uses.
    pub(super) needs: Vec<Vec<usize>>,
    pub(super) pending: Vec<usize>,
    pub(super) finished: Vec<bool>,
    pub(super) variables: Arc<HashMap<String, String>>,
    pub(super) default_headers: Arc<Vec<KeyValue>>,
    pub(super) secrets: Arc<Vec<String>>,
    pub(super) in_flight: JoinSet<(usize, Finished)>,
    pub(super) in_flight_cases: HashSet<usize>,
}

impl<'a> Driver<'a> {
    /// The driver of `run` with its `cases`: the environment opened, and what
    /// finished cases captured restored (as after a takeover).
    pub(super) fn new(
        app: &'a Arc<App>,
        performer: Arc<dyn StepPerformer>,
        run: RunRow,
        cases: Vec<RunCaseRow>,
    ) -> anyhow::Result<Self> {
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
        let steps: Vec<bool> = cases
            .iter()
            .map(|case| performer.recognizes(case))
            .collect();
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
            performer,
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
