//! The project dashboard: recent runs and the pass rate of the last 7 days.

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::target::TargetServer;
use crate::support::{wait, Backend, TestApp};

const DASHBOARD: &str = "query($p: ID!) { dashboard(projectId: $p) {
    recentRuns { id status passed failed } runsLast7Days passRateLast7Days } }";

/// Creates an HTTP case that expects status 200 from `url`; returns its id.
async fn status_case(app: &TestApp, token: &str, project: &str, name: &str, url: &str) -> String {
    app.create_case(token, json!({ "projectId": project, "name": name, "spec": { "http": {
            "request": { "method": "GET", "url": url }, "assertions": [{ "status": { "equals": 200 } }] } } }))
        .await
        .ok()
        .data("createCase.case.id")
        .as_str()
        .unwrap()
        .to_owned()
}

/// Starts a run of `cases` and waits until it is finished; returns its id.
async fn finished_run(app: &TestApp, token: &str, project: &str, cases: &[&str]) -> String {
    let run = app
        .graphql(
            Some(token),
            "mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }",
            json!({ "input": { "projectId": project, "caseIds": cases } }),
        )
        .await
        .ok()
        .data("startRun.run.id")
        .as_str()
        .unwrap()
        .to_owned();
    wait::until("the run finishes", || async {
        let reply = app
            .graphql(
                Some(token),
                "query($id: ID!) { run(id: $id) { finishedAt } }",
                json!({ "id": run }),
            )
            .await
            .ok();
        if reply.0["data"]["run"]["finishedAt"].is_null() {
            Err(reply.0)
        } else {
            Ok(())
        }
    })
    .await;
    run
}

backend_test! {
    async fn dashboard_shows_recent_runs_and_the_pass_rate(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let ada = app.register("ada").await;
        let token = ada.access_token.clone();
        let project = app.create_project(&token, "Shop").await;

        let empty = app.graphql(Some(&token), DASHBOARD, json!({ "p": project })).await.ok();
        assert_eq!(empty.data("dashboard"), &json!({ "recentRuns": [], "runsLast7Days": 0, "passRateLast7Days": null }));

        let passing = status_case(&app, &token, &project, "passes", &target.url("/json")).await;
        let failing = status_case(&app, &token, &project, "fails", &target.url("/status/500")).await;
        let first = finished_run(&app, &token, &project, &[&passing, &failing]).await;
        let second = finished_run(&app, &token, &project, &[&passing]).await;

        let reply = app.graphql(Some(&token), DASHBOARD, json!({ "p": project })).await.ok();
        let dashboard: &Value = reply.data("dashboard");
        assert_eq!(dashboard["recentRuns"], json!([
            { "id": second, "status": "PASSED", "passed": 1, "failed": 0 },
            { "id": first, "status": "FAILED", "passed": 1, "failed": 1 },
        ]));
        assert_eq!(dashboard["runsLast7Days"], 2);
        // Two of the three executed cases passed.
        assert_eq!(dashboard["passRateLast7Days"], 66.7);

        // Another project's runs are not counted, and outsiders see nothing.
        let other = app.create_project(&token, "Other").await;
        let reply = app.graphql(Some(&token), DASHBOARD, json!({ "p": other })).await.ok();
        assert_eq!(reply.data("dashboard.runsLast7Days"), 0);
        let bob = app.register("bob").await;
        let denied = app.graphql(Some(&bob.access_token), DASHBOARD, json!({ "p": project })).await;
        assert_eq!(denied.code(), "NOT_FOUND");
    }
}
