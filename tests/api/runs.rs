//! Runs: execution against a loopback target, live events, control, reports, takeover, roles.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::{script_case, Account};
use crate::support::target::{closed_port_url, TargetServer};
use crate::support::websocket::Protocol;
use crate::support::{Backend, TestApp};

const START: &str = "mutation($input: StartRunInput!) { startRun(input: $input) { run { id status trigger total } } }";
const RUN: &str = "query($id: ID!) { run(id: $id) { id status trigger total passed failed errored skipped progress
    retryOfId startedById startedAt finishedAt } }";

/// Creates a case from a spec; returns its id.
pub(crate) async fn case(
    app: &TestApp,
    token: &str,
    project_id: &str,
    name: &str,
    http: Value,
) -> String {
    let reply = app
        .create_case(
            token,
            json!({ "projectId": project_id, "name": name, "spec": { "http": http } }),
        )
        .await
        .ok();
    reply
        .data("createCase.case.id")
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn get(url: &str, assertions: Value) -> Value {
    json!({ "request": { "method": "GET", "url": url }, "assertions": assertions })
}

pub(crate) async fn start(app: &TestApp, token: &str, input: Value) -> String {
    let reply = app
        .graphql(Some(token), START, json!({ "input": input }))
        .await
        .ok();
    assert_eq!(reply.data("startRun.run.status"), "QUEUED");
    reply.data("startRun.run.id").as_str().unwrap().to_owned()
}

pub(crate) async fn run_state(app: &TestApp, token: &str, run_id: &str) -> Value {
    app.graphql(Some(token), RUN, json!({ "id": run_id }))
        .await
        .ok()
        .data("run")
        .clone()
}

/// Polls the run until `done` holds for it (at most `limit`).
pub(crate) async fn wait_for(
    app: &TestApp,
    token: &str,
    run_id: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    // A busy machine only makes the run slower: never wait less than the common deadline.
    let limit = limit.max(crate::support::wait::DEADLINE);
    let started = Instant::now();
    loop {
        let run = run_state(app, token, run_id).await;
        if done(&run) {
            return run;
        }
        assert!(
            started.elapsed() < limit,
            "run did not get there in time: {run}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn is_final(run: &Value) -> bool {
    matches!(
        run["status"].as_str(),
        Some("PASSED" | "FAILED" | "ERROR" | "CANCELLED")
    )
}

pub(crate) async fn finished(app: &TestApp, token: &str, run_id: &str) -> Value {
    wait_for(app, token, run_id, Duration::from_secs(60), is_final).await
}

/// A project with `n` slow cases (each `ms` long); returns (owner, project).
pub(crate) async fn slow_project(
    app: &TestApp,
    target: &TargetServer,
    n: usize,
    ms: u64,
) -> (Account, String) {
    let owner = app.register("owner").await;
    let project = app.create_project(&owner.access_token, "slow").await;
    for index in 0..n {
        let url = target.url(&format!("/slow/{ms}"));
        case(
            app,
            &owner.access_token,
            &project,
            &format!("slow {index}"),
            get(&url, json!([{ "status": { "equals": 200 } }])),
        )
        .await;
    }
    (owner, project)
}

pub(crate) async fn events(app: &TestApp, token: &str, run_id: &str, after: i64) -> Vec<Value> {
    let reply = app
        .graphql(
            Some(token),
            "query($id: ID!, $after: Int) { run(id: $id) { events(afterSeq: $after) { seq kind data } } }",
            json!({ "id": run_id, "after": after }),
        )
        .await
        .ok();
    reply.data("run.events").as_array().unwrap().clone()
}

pub(crate) fn assert_contiguous(seqs: &[i64]) {
    for (index, seq) in seqs.iter().enumerate() {
        assert_eq!(*seq, i64::try_from(index).unwrap() + 1, "seqs {seqs:?}");
    }
}

backend_test! {
    async fn a_run_judges_every_assertion_kind_and_keeps_errors_apart(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let token = owner.access_token.clone();
        let project = app.create_project(&token, "checks").await;
        // The consumer is created before the producer: the run must still order them.
        case(&app, &token, &project, "needs the token", json!({
            "request": { "method": "GET", "url": target.url("/needs-token"),
                         "headers": [{ "name": "Authorization", "value": "Bearer {{token}}" }] },
            "assertions": [{ "status": { "equals": 200 } }]
        })).await;
        case(&app, &token, &project, "gets the token", json!({
            "request": { "method": "GET", "url": target.url("/token") },
            "captures": [{ "variable": "token", "jsonPath": "$.token" }],
            "assertions": [{ "status": { "equals": 200 } }]
        })).await;
        case(&app, &token, &project, "every kind", get(&target.url("/json"), json!([
            { "status": { "min": 200, "max": 299 } },
            { "header": { "name": "content-type", "matches": "json" } },
            { "jsonPath": { "path": "$.owner.address.city", "operator": "EQUALS", "value": "London" } },
            { "body": { "contains": "Tidewatch" } },
            { "keywords": { "all": ["alpha", "GAMMA"] } },
            { "responseTime": { "belowMs": 5000 } },
            { "jsonSchema": { "schema": { "type": "object", "required": ["name", "items"] } } }
        ]))).await;
        case(&app, &token, &project, "keywords in text", get(&target.url("/text"), json!([
            { "keywords": { "all": ["quick brown fox"] } }
        ]))).await;
        case(&app, &token, &project, "wrong status", get(&target.url("/json"), json!([
            { "status": { "equals": 404 } },
            { "jsonPath": { "path": "$.version", "operator": "EQUALS", "value": 4 } }
        ]))).await;
        case(&app, &token, &project, "refused", get(&closed_port_url(), json!([{ "status": { "equals": 200 } }]))).await;
        case(&app, &token, &project, "dropped", get(&target.drop_url, json!([{ "status": { "equals": 200 } }]))).await;
        app.create_case(&token, script_case(&project, "a script")).await.ok();

        let run_id = start(&app, &token, json!({ "projectId": project, "maxWorkers": 4 })).await;
        let run = finished(&app, &token, &run_id).await;
        assert_eq!(run["status"], "FAILED", "{run}");
        assert_eq!(run["total"], 8);
        assert_eq!(run["passed"], 4, "{run}");
        assert_eq!(run["failed"], 1);
        assert_eq!(run["errored"], 2);
        assert_eq!(run["skipped"], 1);
        assert_eq!(run["progress"], 100.0);
        assert_eq!(run["trigger"], "MANUAL");
        assert_eq!(run["startedById"], owner.id.as_str());

        let results = app.graphql(Some(&token), "query($id: ID!) { run(id: $id) { results(first: 20) { totalCount nodes {
            name status durationMs skipReason request { method url headers { name value } }
            response { status headers { name value } bodyExcerpt }
            assertions { kind expected actual passed } captures { name value } error { kind message } } } } }",
            json!({ "id": run_id })).await.ok();
        let nodes = results.data("run.results.nodes").as_array().unwrap().clone();
        let by_name = |name: &str| nodes.iter().find(|n| n["name"] == name).unwrap().clone();
        let every = by_name("every kind");
        assert_eq!(every["status"], "PASSED", "{every}");
        let kinds: Vec<&str> = every["assertions"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["STATUS", "HEADER", "JSON_PATH", "BODY", "KEYWORDS", "RESPONSE_TIME", "JSON_SCHEMA"]);
        assert_eq!(every["response"]["status"], 200);
        let consumer = by_name("needs the token");
        assert_eq!(consumer["status"], "PASSED", "{consumer}");
        let sent = consumer["request"]["headers"].as_array().unwrap();
        assert!(sent.iter().any(|h| h["name"] == "Authorization" && h["value"] == "***"), "{consumer}");
        assert_eq!(by_name("gets the token")["captures"][0]["name"], "token");
        let wrong = by_name("wrong status");
        assert_eq!(wrong["status"], "FAILED");
        assert_eq!(wrong["assertions"][0]["passed"], false);
        assert_eq!(wrong["assertions"][0]["actual"], "200");
        assert_eq!(by_name("refused")["error"]["kind"], "CONNECT");
        assert_eq!(by_name("dropped")["status"], "ERROR");
        assert_eq!(by_name("a script")["skipReason"], "not supported yet");

        let filtered = app.graphql(Some(&token), "query($id: ID!) { run(id: $id) { results(status: ERROR) { totalCount } } }",
            json!({ "id": run_id })).await.ok();
        assert_eq!(filtered.data("run.results.totalCount"), 2);

        let report = app.graphql(Some(&token), "query($id: ID!) { run(id: $id) { report {
            total passed failed errored skipped passRate durationMs latency { p50 p90 p95 p99 max }
            slowest(n: 2) { name durationMs } failuresByAssertion { kind count } } } }",
            json!({ "id": run_id })).await.ok();
        let report = report.data("run.report");
        assert_eq!(report["total"], 8);
        assert_eq!(report["passRate"], 57.1);
        assert_eq!(report["slowest"].as_array().unwrap().len(), 2);
        assert_eq!(report["failuresByAssertion"], json!([{ "kind": "JSON_PATH", "count": 1 }, { "kind": "STATUS", "count": 1 }]));
        assert!(report["latency"]["max"].as_i64().unwrap() >= report["latency"]["p50"].as_i64().unwrap());

        // Notified when it finished.
        let notes = app.graphql(Some(&token), "{ notifications { nodes { kind message } } }", json!({})).await.ok();
        assert_eq!(notes.data("notifications.nodes.0.kind"), "RUN_FINISHED");

        // Renderings, in GraphQL and as downloads with the same auth.
        let export = app.graphql(Some(&token), "query($id: ID!) { run(id: $id) { junit: export(format: JUNIT) html: export(format: HTML) csv: export(format: CSV) json: export(format: JSON) } }",
            json!({ "id": run_id })).await.ok();
        let junit = export.data("run.junit").as_str().unwrap();
        assert!(junit.contains("tests=\"8\"") && junit.contains("failures=\"1\"") && junit.contains("errors=\"2\""), "{junit}");
        let html = export.data("run.html").as_str().unwrap();
        assert!(html.contains("<svg") && html.contains("<style>"));
        assert!(html.find("wrong status").unwrap() < html.find("every kind").unwrap(), "failures come first");
        assert_eq!(export.data("run.csv").as_str().unwrap().lines().count(), 9);
        let parsed: Value = serde_json::from_str(export.data("run.json").as_str().unwrap()).unwrap();
        assert_eq!(parsed["summary"]["failed"], 1);
        for (extension, media) in [("xml", "xml"), ("json", "json"), ("csv", "csv"), ("html", "html")] {
            let response = app.http().get(app.url(&format!("/runs/{run_id}/report.{extension}")))
                .bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert!(response.headers()["content-type"].to_str().unwrap().contains(media));
        }
        let anonymous = app.http().get(app.url(&format!("/runs/{run_id}/report.html"))).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let stranger = app.register("stranger").await;
        let hidden = app.http().get(app.url(&format!("/runs/{run_id}/report.html")))
            .bearer_auth(&stranger.access_token).send().await.unwrap();
        assert_eq!(hidden.status(), 404);

        // Events: INIT first, DONE last, contiguous seqs, results stored before their event.
        let stored = events(&app, &token, &run_id, 0).await;
        let seqs: Vec<i64> = stored.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_contiguous(&seqs);
        assert_eq!(stored[0]["kind"], "INIT");
        assert_eq!(stored.last().unwrap()["kind"], "DONE");
        assert_eq!(stored.iter().filter(|e| e["kind"] == "CASE_FINISHED").count(), 8);

        // Trend.
        let trend = app.graphql(Some(&token), "query($p: ID!) { projectTrend(projectId: $p, last: 5) { runId passRate status } }",
            json!({ "p": project })).await.ok();
        assert_eq!(trend.data("projectTrend.0.runId"), run_id.as_str());
    }
}

async fn live_events_over(protocol: Protocol, backend: Backend) {
    let app = TestApp::start(backend).await;
    let target = TargetServer::start().await;
    let (owner, project) = slow_project(&app, &target, 6, 150).await;
    let token = owner.access_token.clone();
    let run_id = start(
        &app,
        &token,
        json!({ "projectId": project, "maxWorkers": 2 }),
    )
    .await;
    let query = |after: i64| {
        format!("subscription {{ runEvents(runId: \"{run_id}\", afterSeq: {after}) {{ seq kind data }} }}")
    };

    let mut socket = app
        .subscribed_socket(protocol, json!({ "token": token }))
        .await;
    socket.subscribe("1", &query(0)).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let payload = socket.next_payload().await;
        seen.push(payload["data"]["runEvents"].clone());
    }
    drop(socket);
    // Reconnect with the last seq seen: the rest arrives once, in order, up to DONE.
    let last = seen.last().unwrap()["seq"].as_i64().unwrap();
    let mut socket = app
        .subscribed_socket(protocol, json!({ "token": token }))
        .await;
    socket.subscribe("2", &query(last)).await;
    loop {
        let payload = socket.next_payload().await;
        let event = payload["data"]["runEvents"].clone();
        let done = event["kind"] == "DONE";
        seen.push(event);
        if done {
            break;
        }
    }
    let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_contiguous(&seqs);
    assert_eq!(seen[0]["kind"], "INIT");
    assert_eq!(seen[0]["data"]["cases"].as_array().unwrap().len(), 6);
    let finished: Vec<&Value> = seen
        .iter()
        .filter(|e| e["kind"] == "CASE_FINISHED")
        .collect();
    assert_eq!(finished.len(), 6);
    assert_eq!(finished[5]["data"]["progress"], 100.0);
    assert!(seen
        .iter()
        .any(|e| e["kind"] == "STATUS" && e["data"]["status"] == "RUNNING"));
    assert_eq!(seen.last().unwrap()["data"]["status"], "PASSED");
    // The stored stream is the same.
    assert_eq!(events(&app, &token, &run_id, 0).await.len(), seen.len());
}

backend_test! {
    async fn live_events_over_graphql_transport_ws_resume_without_gap(backend: Backend) {
        live_events_over(Protocol::TransportWs, backend).await;
    }
}

backend_test! {
    async fn live_events_over_legacy_graphql_ws_resume_without_gap(backend: Backend) {
        live_events_over(Protocol::LegacyWs, backend).await;
    }
}

pub(crate) async fn act(
    app: &TestApp,
    token: &str,
    action: &str,
    run_id: &str,
) -> crate::support::client::Reply {
    app.graphql(
        Some(token),
        &format!("mutation($input: RunActionInput!) {{ {action}(input: $input) {{ run {{ id status trigger retryOfId total }} }} }}"),
        json!({ "input": { "runId": run_id } }),
    )
    .await
}

backend_test! {
    async fn pause_resume_cancel_and_retry_follow_the_state_machine(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let (owner, project) = slow_project(&app, &target, 8, 400).await;
        let token = owner.access_token.clone();
        let run_id = start(&app, &token, json!({ "projectId": project, "maxWorkers": 1 })).await;
        wait_for(&app, &token, &run_id, Duration::from_secs(10), |run| run["status"] == "RUNNING").await;

        assert_eq!(act(&app, &token, "resumeRun", &run_id).await.code(), "CONFLICT");
        let paused = act(&app, &token, "pauseRun", &run_id).await.ok();
        assert_eq!(paused.data("pauseRun.run.status"), "PAUSED");
        assert_eq!(act(&app, &token, "pauseRun", &run_id).await.code(), "CONFLICT");
        assert_eq!(act(&app, &token, "retryRun", &run_id).await.code(), "CONFLICT");
        // In flight finishes, nothing new starts: once no result is RUNNING, the
        // counts hold still (the second read looks for a case started after it).
        let in_flight = "query($id: ID!) { run(id: $id) { results(status: RUNNING) { totalCount } } }";
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let running = app.graphql(Some(&token), in_flight, json!({ "id": run_id })).await.ok();
            if running.data("run.results.totalCount") == 0 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the case in flight never finished");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let held = run_state(&app, &token, &run_id).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let still = run_state(&app, &token, &run_id).await;
        assert_eq!(held["passed"], still["passed"], "no case ran while paused");
        assert_eq!(still["status"], "PAUSED");

        let resumed = act(&app, &token, "resumeRun", &run_id).await.ok();
        assert_eq!(resumed.data("resumeRun.run.status"), "RUNNING");
        assert_eq!(act(&app, &token, "resumeRun", &run_id).await.code(), "CONFLICT");
        let cancelled = act(&app, &token, "cancelRun", &run_id).await.ok();
        assert_eq!(cancelled.data("cancelRun.run.status"), "CANCELLED");
        let again = act(&app, &token, "cancelRun", &run_id).await.ok();
        assert_eq!(again.data("cancelRun.run.status"), "CANCELLED");
        let run = wait_for(&app, &token, &run_id, Duration::from_secs(10), |run| {
            run["passed"].as_i64().unwrap() + run["skipped"].as_i64().unwrap() == 8
        }).await;
        assert!(run["skipped"].as_i64().unwrap() >= 1, "{run}");
        assert!(run["finishedAt"].is_string());
        for action in ["pauseRun", "resumeRun"] {
            assert_eq!(act(&app, &token, action, &run_id).await.code(), "CONFLICT", "{action}");
        }
        let skipped = app.graphql(Some(&token), "query($id: ID!) { run(id: $id) { results(status: SKIPPED, first: 1) { nodes { skipReason } } } }",
            json!({ "id": run_id })).await.ok();
        assert!(skipped.data("run.results.nodes.0.skipReason").as_str().unwrap().contains("cancelled"));
        // Nothing failed: nothing to retry.
        assert_eq!(act(&app, &token, "retryRun", &run_id).await.code(), "CONFLICT");
        let last = events(&app, &token, &run_id, 0).await;
        assert_eq!(last.last().unwrap()["kind"], "DONE");

        // A finished run with failures: retried as a new linked run of those cases only.
        let failing = case(&app, &token, &project, "fails", get(&target.url("/status/500"), json!([{ "status": { "equals": 200 } }]))).await;
        let passing = case(&app, &token, &project, "passes", get(&target.url("/json"), json!([{ "status": { "equals": 200 } }]))).await;
        let first = start(&app, &token, json!({ "projectId": project, "caseIds": [failing, passing] })).await;
        let done = finished(&app, &token, &first).await;
        assert_eq!(done["status"], "FAILED");
        for action in ["pauseRun", "resumeRun"] {
            assert_eq!(act(&app, &token, action, &first).await.code(), "CONFLICT", "{action}");
        }
        assert_eq!(act(&app, &token, "cancelRun", &first).await.code(), "CONFLICT");
        let retry = act(&app, &token, "retryRun", &first).await.ok();
        assert_eq!(retry.data("retryRun.run.trigger"), "RETRY");
        assert_eq!(retry.data("retryRun.run.retryOfId"), first.as_str());
        assert_eq!(retry.data("retryRun.run.total"), 1);
        let retry_id = retry.data("retryRun.run.id").as_str().unwrap().to_owned();
        let retried = finished(&app, &token, &retry_id).await;
        assert_eq!(retried["failed"], 1);
        let listed = app.graphql(Some(&token), "query($p: ID!) { runs(projectId: $p, filter: { trigger: RETRY }) { totalCount nodes { id } } }",
            json!({ "p": project })).await.ok();
        assert_eq!(listed.data("runs.totalCount"), 1);
        let all = app.graphql(Some(&token), "query($p: ID!) { runs(projectId: $p, first: 2) { totalCount pageInfo { hasNextPage } nodes { id } } }",
            json!({ "p": project })).await.ok();
        assert_eq!(all.data("runs.totalCount"), 3);
        assert_eq!(all.data("runs.nodes.0.id"), retry_id.as_str(), "newest first");
    }
}

backend_test! {
    async fn a_thousand_cases_finish_with_a_correct_report(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let token = owner.access_token.clone();
        let project = app.create_project(&token, "big").await;
        let mut cases = Vec::new();
        for index in 0..1000 {
            let status = if index % 10 == 0 { 404 } else { 200 };
            cases.push(json!({ "name": format!("case {index}"), "spec": { "http": get(&target.url(&format!("/status/{status}")), json!([{ "status": { "equals": 200 } }])) } }));
        }
        // Created through the import mutation would be faster; 1000 createCase calls keep it plain.
        for input in cases {
            let mut input = input;
            input["projectId"] = json!(project);
            app.create_case(&token, input).await.ok();
        }
        let run_id = start(&app, &token, json!({ "projectId": project, "maxWorkers": 32 })).await;
        let run = wait_for(&app, &token, &run_id, Duration::from_secs(180), is_final).await;
        assert_eq!(run["status"], "FAILED");
        assert_eq!(run["total"], 1000);
        assert_eq!(run["passed"], 900);
        assert_eq!(run["failed"], 100);
        let report = app.graphql(Some(&token), "query($id: ID!) { run(id: $id) { report { total passed failed errored skipped passRate failuresByAssertion { kind count } } } }",
            json!({ "id": run_id })).await.ok();
        assert_eq!(report.data("run.report"), &json!({ "total": 1000, "passed": 900, "failed": 100, "errored": 0, "skipped": 0,
            "passRate": 90.0, "failuresByAssertion": [{ "kind": "STATUS", "count": 100 }] }));
    }
}

backend_test! {
    async fn another_node_takes_over_a_run_whose_node_stopped(backend: Backend) {
        let first = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let (owner, project) = slow_project(&first, &target, 8, 700).await;
        let token = owner.access_token.clone();
        let run_id = start(&first, &token, json!({ "projectId": project, "maxWorkers": 2 })).await;
        wait_for(&first, &token, &run_id, Duration::from_secs(20), |run| run["passed"].as_i64().unwrap() >= 2).await;
        let database = first.database.clone();
        first.stop().await;

        let second = TestApp::builder(backend).database(database).start().await;
        let before = events(&second, &token, &run_id, 0).await;
        let kept: Vec<Value> = second.graphql(Some(&token), "query($id: ID!) { run(id: $id) { results(status: PASSED) { nodes { id finishedAt } } } }",
            json!({ "id": run_id })).await.ok().data("run.results.nodes").as_array().unwrap().clone();
        let run = wait_for(&second, &token, &run_id, Duration::from_secs(60), is_final).await;
        assert_eq!(run["status"], "PASSED", "{run}");
        assert_eq!(run["passed"], 8);
        let after: Vec<Value> = second.graphql(Some(&token), "query($id: ID!) { run(id: $id) { results(status: PASSED) { nodes { id finishedAt } } } }",
            json!({ "id": run_id })).await.ok().data("run.results.nodes").as_array().unwrap().clone();
        for result in &kept {
            assert!(after.contains(result), "finished result {result} kept as it was");
        }
        let all = events(&second, &token, &run_id, 0).await;
        let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_contiguous(&seqs);
        assert!(all.len() > before.len());
        assert!(all.iter().any(|e| e["kind"] == "LOG" && e["data"]["message"].as_str().unwrap().contains("took the run over")));
        assert_eq!(all.iter().filter(|e| e["kind"] == "DONE").count(), 1);
    }
}

backend_test! {
    async fn viewers_read_runs_members_start_them_strangers_see_nothing(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let (owner, project) = slow_project(&app, &target, 2, 600).await;
        let viewer = app.register("viewer").await;
        let stranger = app.register("stranger").await;
        app.add_member(&owner.access_token, &project, &viewer.id, "VIEWER").await;

        let denied = app.graphql(Some(&viewer.access_token), START, json!({ "input": { "projectId": project } })).await;
        assert_eq!(denied.code(), "FORBIDDEN");
        let hidden = app.graphql(Some(&stranger.access_token), START, json!({ "input": { "projectId": project } })).await;
        assert_eq!(hidden.code(), "NOT_FOUND");
        let bad = app.graphql(Some(&owner.access_token), START, json!({ "input": { "projectId": project, "caseIds": ["nope"] } })).await;
        assert_eq!(bad.code(), "BAD_USER_INPUT");
        assert_eq!(bad.extension("field"), "caseIds");
        let workers = app.graphql(Some(&owner.access_token), START, json!({ "input": { "projectId": project, "maxWorkers": 0 } })).await;
        assert_eq!(workers.code(), "BAD_USER_INPUT");

        let run_id = start(&app, &owner.access_token, json!({ "projectId": project })).await;
        assert_eq!(run_state(&app, &viewer.access_token, &run_id).await["id"], run_id.as_str());
        assert_eq!(act(&app, &viewer.access_token, "cancelRun", &run_id).await.code(), "FORBIDDEN");
        let unseen = app.graphql(Some(&stranger.access_token), RUN, json!({ "id": run_id })).await;
        assert_eq!(unseen.code(), "NOT_FOUND");

        let delete = "mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { deletedProjectId } }";
        let busy = app.graphql(Some(&owner.access_token), delete, json!({ "input": { "id": project } })).await;
        assert_eq!(busy.code(), "CONFLICT");
        finished(&app, &owner.access_token, &run_id).await;
        app.graphql(Some(&owner.access_token), delete, json!({ "input": { "id": project } })).await.ok();
    }
}
