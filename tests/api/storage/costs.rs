//! What a request costs in statements and connection checkouts.

use std::sync::Arc;

use tempfile::TempDir;
use tidewatch::auth::Viewer;
use tidewatch::cases::service::{create_case, NewCase};
use tidewatch::projects::access::ProjectAccess;
use tidewatch::projects::model::ProjectRole;
use tidewatch::projects::service::create_project;
use tidewatch::runs::service::{start_run, StartRun};
use tidewatch::runs::state::RunTrigger;
use tidewatch::users::model::Role;
use tidewatch::users::service::{create_account, NewAccount};
use tidewatch::{App, Config};

use crate::support::{Backend, TestDatabase};

/// A node without HTTP and background work, on a pool of one connection.
///
/// Run on a current-thread runtime, nothing else runs between two of the
/// caller's statements, so the counters hold exactly what the caller did.
struct BareNode {
    app: Arc<App>,
    _database: TestDatabase,
    _data_dir: TempDir,
}

impl BareNode {
    async fn start(backend: Backend) -> Self {
        let database = TestDatabase::create(backend).await;
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::with_data_dir(data_dir.path());
        config.database_url = Some(database.url.clone());
        config.redis_url = None;
        config.auth.jwt_secret = Some(crate::support::TEST_JWT_SECRET.to_owned());
        config.database.db_pool_size = 1;
        config.monitor.monitor_enabled = false;
        let app = App::build(config).await.expect("build app");
        Self {
            app,
            _database: database,
            _data_dir: data_dir,
        }
    }

    /// A user (not an admin, so access checks read the membership).
    async fn viewer(&self, username: &str) -> Viewer {
        let account = NewAccount {
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            password: "correct horse battery".to_owned(),
        };
        let user = create_account(&self.app, account, Role::User)
            .await
            .expect("account");
        Viewer {
            user,
            family_id: "measurement".to_owned(),
        }
    }

    /// (statements, checkouts) so far.
    fn counts(&self) -> (u64, u64) {
        (self.app.db.statements_run(), self.app.db.checkouts())
    }
}

/// An HTTP case that is never reached (the run is measured, not awaited).
fn http_case(name: &str) -> NewCase {
    NewCase {
        name: name.to_owned(),
        description: None,
        tags: Vec::new(),
        priority: None,
        active: None,
        spec: serde_json::from_value(serde_json::json!({ "http": {
            "request": { "method": "GET", "url": "http://127.0.0.1:9/" },
            "assertions": [{ "status": { "equals": 200 } }]
        } }))
        .expect("spec"),
    }
}

/// Ada, a user, and the id of her project with `cases` HTTP cases.
async fn project_with_cases(node: &BareNode, cases: usize) -> (Viewer, String) {
    let app = &node.app;
    let ada = node.viewer("ada").await;
    let project = create_project(app, &ada, "Measured", None, None)
        .await
        .expect("project");
    let access = ProjectAccess::require(app, &ada, &project.id, ProjectRole::Member)
        .await
        .expect("access");
    for index in 0..cases {
        create_case(app, &access, http_case(&format!("case {index}")))
            .await
            .expect("case");
    }
    (ada, project.id)
}

/// A run of every case of the project.
fn every_case() -> StartRun {
    StartRun {
        case_ids: None,
        tags: Vec::new(),
        environment_id: None,
        max_workers: None,
    }
}

/// `startRun` as its resolver does it (after authentication): the project
/// access check, then the service. Before connections were passed down, this
/// took 11 statements on 6 checkouts on both backends; with a connection per
/// model call, 11 on 5; with the whole start in one transaction, 11 on 2 (the
/// access check, and the transaction).
async fn measure_start_run(backend: Backend) -> (u64, u64) {
    let node = BareNode::start(backend).await;
    let app = &node.app;
    let (ada, project) = project_with_cases(&node, 3).await;
    let (statements, checkouts) = node.counts();
    let access = ProjectAccess::require(app, &ada, &project, ProjectRole::Member)
        .await
        .expect("access");
    let run = start_run(app, &access, every_case(), RunTrigger::Manual)
        .await
        .expect("run");
    assert_eq!(run.total, 3);
    let (statements_after, checkouts_after) = node.counts();
    let cost = (statements_after - statements, checkouts_after - checkouts);
    eprintln!(
        "startRun of 3 cases on {backend:?}: {} statements, {} checkouts",
        cost.0, cost.1
    );
    cost
}

/// Statements and checkouts of `startRun` with three cases, at most.
const START_RUN_BUDGET: (u64, u64) = (11, 2);

#[tokio::test(flavor = "current_thread")]
async fn start_run_statements_and_checkouts_sqlite() {
    let (statements, checkouts) = measure_start_run(Backend::Sqlite).await;
    assert!(statements <= START_RUN_BUDGET.0, "{statements} statements");
    assert!(checkouts <= START_RUN_BUDGET.1, "{checkouts} checkouts");
}

#[tokio::test(flavor = "current_thread")]
async fn start_run_statements_and_checkouts_postgres() {
    if crate::support::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL is not set; PostgreSQL variant not run");
        return;
    }
    let (statements, checkouts) = measure_start_run(Backend::Postgres).await;
    assert!(statements <= START_RUN_BUDGET.0, "{statements} statements");
    assert!(checkouts <= START_RUN_BUDGET.1, "{checkouts} checkouts");
}

/// Statements the runner's group writes take for `size` cases at once:
/// (starting them, storing their results).
async fn group_write_costs(backend: Backend) {
    use tidewatch::db::now;
    use tidewatch::runs::model::{CaseCompletion, NewEvent, RunCaseRow, RunEventRow, RunRow};
    use tidewatch::runs::state::CaseResultStatus;

    let node = BareNode::start(backend).await;
    let app = &node.app;
    let (ada, project) = project_with_cases(&node, 41).await;
    let access = ProjectAccess::require(app, &ada, &project, ProjectRole::Member)
        .await
        .expect("access");
    // Without the node's driver the run stays queued: the writes are the test's.
    let run = start_run(app, &access, every_case(), RunTrigger::Manual)
        .await
        .expect("run");
    let mut conn = app.db.conn().await.expect("conn");
    let cases = RunCaseRow::list_for_run(&mut conn, &run.id)
        .await
        .expect("cases");
    drop(conn);
    let mut costs = Vec::new();
    for batch in [&cases[..1], &cases[1..]] {
        let starts: Vec<_> = batch
            .iter()
            .map(|case| {
                let event = NewEvent {
                    kind: "CASE_STARTED",
                    payload: serde_json::json!({ "runCaseId": case.id }),
                };
                (case.id.clone(), event)
            })
            .collect();
        let before = node.counts().0;
        app.db
            .transaction(async |conn| RunRow::start_cases(conn, &run.id, &starts, now()).await)
            .await
            .expect("start");
        let started = node.counts().0 - before;
        let completions: Vec<_> = batch
            .iter()
            .map(|case| CaseCompletion {
                run_case_id: case.id.clone(),
                status: CaseResultStatus::Passed,
                duration_ms: Some(1),
                result: "{}".to_owned(),
                sealed_captures: None,
            })
            .collect();
        let event_of = |completion: &CaseCompletion, run: &RunRow| NewEvent {
            kind: "CASE_FINISHED",
            payload: serde_json::json!({ "runCaseId": completion.run_case_id, "passed": run.passed }),
        };
        let before = node.counts().0;
        let (counted, _) = app
            .db
            .transaction(async |conn| {
                RunRow::complete_cases(conn, &run.id, &completions, &event_of, now()).await
            })
            .await
            .expect("complete");
        costs.push((started, node.counts().0 - before, counted.passed));
    }
    eprintln!("group writes on {backend:?} (1 case, then 40): {costs:?}");
    assert_eq!(costs[0].0, costs[1].0, "starting 1 and 40 cases: {costs:?}");
    assert_eq!(
        costs[0].1, costs[1].1,
        "finishing 1 and 40 cases: {costs:?}"
    );
    assert_eq!((costs[0].2, costs[1].2), (1, 41));

    // What was stored: every result, the counters, and one event per write in
    // seq order, each CASE_FINISHED counted up to its own result.
    let mut conn = app.db.conn().await.expect("conn");
    let stored = RunCaseRow::list_for_run(&mut conn, &run.id)
        .await
        .expect("cases");
    assert!(stored
        .iter()
        .all(|case| case.status == CaseResultStatus::Passed && case.duration_ms == Some(1)));
    let events = RunEventRow::after(&mut conn, &run.id, 0, None, 1000)
        .await
        .expect("events");
    assert_eq!(events.len(), 82);
    assert!(events.windows(2).all(|pair| pair[1].seq == pair[0].seq + 1));
    let counted: Vec<i64> = events
        .iter()
        .filter(|event| event.kind == "CASE_FINISHED")
        .map(|event| {
            let payload: serde_json::Value = serde_json::from_str(&event.payload).expect("json");
            payload["passed"].as_i64().expect("passed")
        })
        .collect();
    assert_eq!(counted, (1..=41).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "current_thread")]
async fn group_writes_cost_the_same_for_one_case_and_forty_sqlite() {
    group_write_costs(Backend::Sqlite).await;
}

#[tokio::test(flavor = "current_thread")]
async fn group_writes_cost_the_same_for_one_case_and_forty_postgres() {
    if crate::support::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL is not set; PostgreSQL variant not run");
        return;
    }
    group_write_costs(Backend::Postgres).await;
}
