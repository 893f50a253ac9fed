use super::masking::is_sensitive_header;
use super::*;
use crate::runs::target::{closed_port_url, TargetServer};
use serde_json::{json, Value};

mod assertions;
mod captures;
mod egress;
mod failures;
mod outcome;
mod requests;
mod templating;

/// Owns what a [`CaseContext`] borrows.
#[derive(Default)]
struct Ctx {
    variables: HashMap<String, String>,
    defaults: Vec<KeyValue>,
    secrets: Vec<String>,
}

impl Ctx {
    fn with_vars(pairs: &[(&str, &str)]) -> Self {
        Ctx {
            variables: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Ctx::default()
        }
    }

    fn ctx(&self) -> CaseContext<'_> {
        CaseContext {
            variables: &self.variables,
            default_headers: &self.defaults,
            secrets: &self.secrets,
        }
    }
}

fn spec(value: Value) -> HttpSpec {
    serde_json::from_value(value).expect("valid spec JSON")
}

fn get_spec(url: &str, assertions: Value) -> Value {
    json!({ "request": { "method": "GET", "url": url }, "assertions": assertions })
}

async fn run(value: Value) -> HttpCaseOutcome {
    run_with(&Ctx::default(), value).await
}

async fn run_with(ctx: &Ctx, value: Value) -> HttpCaseOutcome {
    run_case(&EgressPolicy::default(), ctx, value).await.outcome
}

async fn run_case(policy: &EgressPolicy, ctx: &Ctx, value: Value) -> HttpCaseRun {
    HttpRunner::new(Arc::new(policy.clone()))
        .run(&spec(value), &ctx.ctx())
        .await
}

fn kv(name: &str, value: &str) -> KeyValue {
    KeyValue {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// Runs `assertions` (each with the verdict it must get) against `url`, one case.
async fn expect_verdicts(url: &str, cases: &[(Value, bool)]) -> HttpCaseOutcome {
    let assertions: Vec<Value> = cases.iter().map(|(a, _)| a.clone()).collect();
    let outcome = run(get_spec(url, json!(assertions))).await;
    assert_eq!(outcome.error, None, "{outcome:#?}");
    assert_eq!(outcome.assertions.len(), cases.len());
    for ((assertion, want), got) in cases.iter().zip(&outcome.assertions) {
        assert_eq!(got.passed, *want, "{assertion} gave {got:#?}");
    }
    let all = cases.iter().all(|(_, want)| *want);
    let verdict = if all {
        CaseVerdict::Passed
    } else {
        CaseVerdict::Failed
    };
    assert_eq!(outcome.status, verdict);
    for (i, got) in outcome.assertions.iter().enumerate() {
        assert_eq!(got.index, i as i32);
    }
    outcome
}

fn error_kind(outcome: &HttpCaseOutcome) -> FailureKind {
    assert_eq!(outcome.status, CaseVerdict::Error, "{outcome:#?}");
    assert!(outcome.assertions.is_empty());
    assert!(outcome.captures.is_empty());
    outcome.error.as_ref().expect("error set").kind
}

/// The future can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn run_future_is_send(runner: &HttpRunner, spec: &HttpSpec, ctx: &CaseContext<'_>) {
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&runner.run(spec, ctx));
}
