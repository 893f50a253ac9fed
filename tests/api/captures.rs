//! Captured values that equal or contain a secret: masked wherever they are
//! shown (results, live events, exports, reports), real for the cases that use
//! them, also after another node takes the run over.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::Account;
use crate::support::target::TargetServer;
use crate::support::websocket::Protocol;
use crate::support::{Backend, TestApp};

const RESULTS: &str = "query($id: ID!) { run(id: $id) { status passed results { nodes {
    name status request { url headers { name value } bodyExcerpt } response { headers { name value } bodyExcerpt }
    assertions { description expected actual } captures { name value } error { kind message } } } } }";
/// A fixed credential key, so that two nodes on one database open each other's secrets.
const CREDENTIAL_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A project whose default environment holds the target's token as a secret,
/// and the ids of three cases: one capturing the echoed token, one slow, one
/// using the capture (in that order).
async fn project_with_echo(
    app: &TestApp,
    owner: &Account,
    target: &TargetServer,
) -> (String, Vec<Value>) {
    let token = &owner.access_token;
    let project = app.create_project(token, "captures").await;
    app.graphql(Some(token), "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
        json!({ "input": { "projectId": project, "name": "staging", "isDefault": true, "variables": [
            { "name": "baseUrl", "value": target.base_url },
            { "name": "token", "value": target.token, "secret": true } ] } }))
        .await
        .ok();
    let mut ids = Vec::new();
    for (name, http) in [
        (
            "echo",
            json!({
                "request": { "method": "POST", "url": "{{baseUrl}}/echo",
                             "headers": [{ "name": "X-Echo", "value": "{{token}}" }],
                             "body": { "json": { "note": "sent {{token}} here" } } },
                "captures": [{ "variable": "echoed", "jsonPath": "$.headers['x-echo']" },
                             { "variable": "sentence", "jsonPath": "$.json.note" },
                             { "variable": "method", "jsonPath": "$.method" }],
                "assertions": [{ "status": { "equals": 200 } }, { "body": { "contains": "sent" } }]
            }),
        ),
        (
            "slow",
            json!({ "request": { "method": "GET", "url": "{{baseUrl}}/slow/3000" },
            "assertions": [{ "status": { "equals": 200 } }] }),
        ),
        (
            "use",
            json!({
                "request": { "method": "GET", "url": "{{baseUrl}}/needs-token",
                             "query": [{ "name": "t", "value": "{{echoed}}" }],
                             "headers": [{ "name": "Authorization", "value": "Bearer {{echoed}}" }] },
                "assertions": [{ "status": { "equals": 200 } }]
            }),
        ),
    ] {
        let reply = app
            .create_case(
                token,
                json!({ "projectId": project, "name": name, "spec": { "http": http } }),
            )
            .await
            .ok();
        ids.push(reply.data("createCase.case.id").clone());
    }
    (project, ids)
}

async fn start(app: &TestApp, owner: &Account, project: &str, case_ids: &[Value]) -> String {
    app.graphql(
        Some(&owner.access_token),
        "mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }",
        json!({ "input": { "projectId": project, "caseIds": case_ids, "maxWorkers": 1 } }),
    )
    .await
    .ok()
    .data("startRun.run.id")
    .as_str()
    .unwrap()
    .to_owned()
}

/// The run's results once `done` holds for the run (60 s at most).
async fn results_when(
    app: &TestApp,
    token: &str,
    run_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = app
            .graphql(Some(token), RESULTS, json!({ "id": run_id }))
            .await
            .ok()
            .data("run")
            .clone();
        if done(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "condition not met: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn is_final(run: &Value) -> bool {
    matches!(
        run["status"].as_str(),
        Some("PASSED" | "FAILED" | "ERROR" | "CANCELLED")
    )
}

fn by_name<'r>(run: &'r Value, name: &str) -> &'r Value {
    run["results"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap()
}

fn assert_hidden(secret: &str, what: &str, text: &str) {
    assert!(!text.contains(secret), "{what} shows the secret: {text}");
}

backend_test! {
    async fn echoed_secrets_are_masked_everywhere_and_real_for_the_cases_using_them(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let viewer = app.register("viewer").await;
        let (project, cases) = project_with_echo(&app, &owner, &target).await;
        app.add_member(&owner.access_token, &project, &viewer.id, "VIEWER").await;
        let secret = target.token.clone();

        let run_id = start(&app, &owner, &project, &cases).await;
        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": viewer.access_token })).await;
        socket.subscribe("1", &format!("subscription {{ runEvents(runId: \"{run_id}\", afterSeq: 0) {{ seq kind data }} }}")).await;
        let mut events = Vec::new();
        loop {
            let event = socket.next_payload().await["data"]["runEvents"].clone();
            let done = event["kind"] == "DONE";
            events.push(event);
            if done {
                break;
            }
        }

        let run = results_when(&app, &viewer.access_token, &run_id, is_final).await;
        // The case using the capture got the real value: the target accepted it.
        assert_eq!(run["status"], "PASSED", "{run}");
        let echo = by_name(&run, "echo");
        assert_eq!(echo["captures"], json!([{ "name": "echoed", "value": "***" },
            { "name": "sentence", "value": "sent *** here" }, { "name": "method", "value": "POST" }]));
        assert_eq!(by_name(&run, "use")["request"]["url"].as_str().unwrap(), format!("{}/needs-token?t=***", target.base_url));
        assert_hidden(&secret, "results", &run.to_string());

        let finished: Vec<&Value> = events.iter().filter(|e| e["kind"] == "CASE_FINISHED").collect();
        assert_eq!(finished.len(), 3);
        let echo_event = finished.iter().find(|e| e["data"]["name"] == "echo").unwrap();
        assert_eq!(echo_event["data"]["result"]["outcome"]["captures"][0]["value"], "***", "{echo_event}");
        assert_hidden(&secret, "live events", &json!(events).to_string());
        let stored = app.graphql(Some(&viewer.access_token), "query($id: ID!) { run(id: $id) { events { data } log { data } } }",
            json!({ "id": run_id })).await.ok();
        assert_hidden(&secret, "stored events", &stored.0.to_string());

        for format in ["JSON", "HTML", "CSV", "JUNIT"] {
            let export = app.graphql(Some(&viewer.access_token), "query($id: ID!, $f: ReportFormat!) { run(id: $id) { export(format: $f) } }",
                json!({ "id": run_id, "f": format })).await.ok();
            assert_hidden(&secret, format, &export.0.to_string());
        }
        let report: Value = app.http().get(app.url(&format!("/runs/{run_id}/report.json")))
            .bearer_auth(&viewer.access_token).send().await.unwrap().json().await.unwrap();
        let echo_report = report["results"].as_array().unwrap().iter().find(|r| r["name"] == "echo").unwrap();
        assert_eq!(echo_report["result"]["outcome"]["captures"][0]["value"], "***", "{echo_report}");
        assert_hidden(&secret, "report.json", &report.to_string());
        for extension in ["html", "csv", "xml"] {
            let body = app.http().get(app.url(&format!("/runs/{run_id}/report.{extension}")))
                .bearer_auth(&viewer.access_token).send().await.unwrap().text().await.unwrap();
            assert_hidden(&secret, extension, &body);
        }
    }
}

backend_test! {
    async fn a_masked_capture_keeps_its_real_value_across_a_takeover(backend: Backend) {
        let first = TestApp::builder(backend)
            .config(|config| config.secrets.credential_key = Some(CREDENTIAL_KEY.to_owned()))
            .start()
            .await;
        let target = TargetServer::start().await;
        let owner = first.register("owner").await;
        let (project, cases) = project_with_echo(&first, &owner, &target).await;
        let run_id = start(&first, &owner, &project, &cases).await;
        // The capture is recorded; the slow case is in flight when the node stops.
        results_when(&first, &owner.access_token, &run_id, |run| run["passed"] == 1).await;
        let database = first.database.clone();
        first.stop().await;

        let second = TestApp::builder(backend)
            .database(database)
            .config(|config| config.secrets.credential_key = Some(CREDENTIAL_KEY.to_owned()))
            .start()
            .await;
        let run = results_when(&second, &owner.access_token, &run_id, is_final).await;
        let log = second.graphql(Some(&owner.access_token), "query($id: ID!) { run(id: $id) { log { data } } }",
            json!({ "id": run_id })).await.ok();
        assert!(log.0.to_string().contains("took the run over"), "{}", log.0);
        assert_eq!(run["status"], "PASSED", "{run}");
        assert_eq!(by_name(&run, "use")["status"], "PASSED");
        assert_eq!(by_name(&run, "echo")["captures"][0]["value"], "***");
        assert_hidden(&target.token, "results", &run.to_string());
    }
}

backend_test! {
    async fn a_key_rotation_reseals_what_runs_keep_sealed(backend: Backend) {
        use tidewatch::secrets::SecretBox;
        let old_key = SecretBox::generate_base64_key().unwrap();
        let new_key = SecretBox::generate_base64_key().unwrap();
        let key = old_key.clone();
        let first = TestApp::builder(backend)
            .config(move |config| config.secrets.credential_key = Some(key))
            .start()
            .await;
        let target = TargetServer::start().await;
        let owner = first.register("owner").await;
        let (project, cases) = project_with_echo(&first, &owner, &target).await;
        let run_id = start(&first, &owner, &project, &cases).await;
        // The masked capture is stored, sealed with the old key; the node stops mid-run.
        results_when(&first, &owner.access_token, &run_id, |run| run["passed"] == 1).await;
        let database = first.database.clone();
        first.stop().await;

        // `tidewatch secrets reseal` with the new key and the old one.
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = tidewatch::Config::with_data_dir(data_dir.path());
        config.database_url = Some(database.url.clone());
        config.secrets.credential_key = Some(new_key.clone());
        config.secrets.previous_credential_key = Some(old_key);
        let rotating = tidewatch::App::build(config).await.unwrap();
        // The run's snapshot of the secret variable, and the masked capture.
        assert_eq!(tidewatch::runs::reseal::reseal_runs(&rotating).await.unwrap(), 2);
        assert_eq!(tidewatch::runs::reseal::reseal_runs(&rotating).await.unwrap(), 0);
        drop(rotating);

        // A node with only the new key takes the run over: the case using the
        // captured token gets its real value.
        let second = TestApp::builder(backend)
            .database(database)
            .config(move |config| config.secrets.credential_key = Some(new_key))
            .start()
            .await;
        let run = results_when(&second, &owner.access_token, &run_id, is_final).await;
        assert_eq!(run["status"], "PASSED", "{run}");
        assert_eq!(by_name(&run, "use")["status"], "PASSED");
    }
}
