//! The egress policy: HTTP cases (and their redirect hops), connection tests,
//! probes and OpenAPI fetches refuse the addresses the operator denies.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_test;
use crate::servers::create_server;
use crate::support::client::Account;
use crate::support::target::TargetServer;
use crate::support::{postgres_url, redis_url, Backend, TestApp};
use tidewatch::egress::CidrList;

const TEST_TARGET: &str =
    "mutation($input: ConnectionTargetInput!) { testConnection(input: $input) {
    success errorKind message } }";
const TEST_SERVER: &str =
    "mutation($id: ID!) { testConnection(serverId: $id) { success errorKind message } }";
const GENERATE: &str = "mutation($input: GenerateCasesInput!) { generateCases(input: $input) {
    drafts { operation } } }";
const RESULTS: &str = "query($id: ID!) { run(id: $id) { status results { nodes {
    name status message error { kind message } } } } }";
const LOOPBACK: &str = "127.0.0.0/8,::1/128";

/// A node whose egress policy denies `deny` and allows only `allow` (when not empty).
async fn node(backend: Backend, deny: &'static str, allow: &'static str) -> TestApp {
    TestApp::builder(backend)
        .config(move |config| {
            config.egress.egress_deny = CidrList::parse(deny).unwrap();
            config.egress.egress_allow = CidrList::parse(allow).unwrap();
        })
        .start()
        .await
}

/// A loopback server answering every request with a small OpenAPI document.
async fn openapi_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let document = json!({ "openapi": "3.0.3", "info": { "title": "t", "version": "1" },
        "servers": [{ "url": "http://127.0.0.1:9" }],
        "paths": { "/ping": { "get": { "responses": { "200": { "description": "ok" } } } } } })
    .to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let document = document.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 2048];
                let _ = socket.read(&mut buffer).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    document.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(document.as_bytes()).await;
            });
        }
    });
    format!("http://{address}/openapi.json")
}

/// Runs one HTTP case to `url` (following redirects) and returns its result once final.
async fn run_case(app: &TestApp, owner: &Account, project: &str, url: &str) -> Value {
    let case = app
        .create_case(&owner.access_token, json!({ "projectId": project, "name": "outbound",
            "spec": { "http": { "request": { "method": "GET", "url": url }, "assertions": [{ "status": { "equals": 200 } }] } } }))
        .await
        .ok()
        .data("createCase.case.id")
        .clone();
    let started = app
        .graphql(
            Some(&owner.access_token),
            "mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }",
            json!({ "input": { "projectId": project, "caseIds": [case] } }),
        )
        .await
        .ok();
    final_result(
        app,
        owner,
        started.data("startRun.run.id").as_str().unwrap(),
    )
    .await
}

/// The first result of run `run_id` once the run is final (60 s at most).
async fn final_result(app: &TestApp, owner: &Account, run_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = app
            .graphql(Some(&owner.access_token), RESULTS, json!({ "id": run_id }))
            .await
            .ok()
            .data("run")
            .clone();
        if matches!(
            run["status"].as_str(),
            Some("PASSED" | "FAILED" | "ERROR" | "CANCELLED")
        ) {
            return run["results"]["nodes"][0].clone();
        }
        assert!(Instant::now() < deadline, "run not final: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_refused(text: &str, address: &str) {
    assert!(
        text.contains("the egress policy refuses") && text.contains(address),
        "{text}"
    );
}

backend_test! {
    async fn a_denied_range_is_refused_on_every_outbound_path(backend: Backend) {
        let app = node(backend, LOOPBACK, "").await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "egress").await;

        // An HTTP case: ERROR of kind EGRESS_DENIED naming the address.
        let result = run_case(&app, &owner, &project, &target.url("/json")).await;
        assert_eq!(result["status"], "ERROR", "{result}");
        assert_eq!(result["error"]["kind"], "EGRESS_DENIED");
        assert_refused(result["error"]["message"].as_str().unwrap(), "127.0.0.1");

        // Connection tests of every kind, unsaved and stored.
        let http_address = target.url("/json");
        let tcp_address = target.base_url.trim_start_matches("http://").to_owned();
        let mut targets = vec![("HTTP", http_address), ("TCP", tcp_address.clone()), ("POSTGRES", tcp_address.clone()),
            ("MYSQL", tcp_address.clone()), ("REDIS", tcp_address.clone())];
        let service = |url: String| { let url = url::Url::parse(&url).unwrap(); format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()) };
        if let Some(url) = postgres_url() { targets.push(("POSTGRES", service(url))); }
        if let Some(url) = redis_url() { targets.push(("REDIS", service(url))); }
        for (kind, address) in targets {
            let reply = app.graphql(Some(&owner.access_token), TEST_TARGET, json!({ "input": { "kind": kind, "address": address } })).await.ok();
            assert_eq!(reply.data("testConnection.success"), false, "{kind}: {}", reply.0);
            assert_eq!(reply.data("testConnection.errorKind"), "EGRESS_DENIED", "{kind}: {}", reply.0);
            assert_refused(reply.data("testConnection.message").as_str().unwrap(), "127.0.0.1");
        }
        let server = create_server(&app, &owner, &project, json!({ "kind": "TCP", "name": "loopback", "address": tcp_address })).await;
        let reply = app.graphql(Some(&owner.access_token), TEST_SERVER, json!({ "id": server })).await.ok();
        assert_eq!(reply.data("testConnection.errorKind"), "EGRESS_DENIED", "{}", reply.0);

        // A probe records DOWN, with the reason.
        let task = app.graphql(Some(&owner.access_token), "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
            json!({ "input": { "projectId": project, "name": "probe", "enabled": false, "schedule": { "cron": "@daily" },
                "action": { "probeServers": { "serverIds": [server] } } } })).await.ok().data("createTask.id").clone();
        let fire = app.graphql(Some(&owner.access_token), "mutation($id: ID!) { runTaskNow(id: $id) { runId } }", json!({ "id": task })).await.ok();
        let result = final_result(&app, &owner, fire.data("runTaskNow.runId").as_str().unwrap()).await;
        assert_eq!(result["status"], "FAILED", "{result}");
        assert_refused(result["message"].as_str().unwrap(), "127.0.0.1");
        let status = app.graphql(Some(&owner.access_token), "query($id: ID!) { server(id: $id) { status } }", json!({ "id": server })).await.ok();
        assert_eq!(status.data("server.status"), "DOWN");

        // An OpenAPI document fetched from a URL: BAD_USER_INPUT on `url`.
        let reply = app.graphql(Some(&owner.access_token), GENERATE,
            json!({ "input": { "projectId": project, "url": openapi_server().await } })).await;
        assert_eq!(reply.code(), "BAD_USER_INPUT", "{}", reply.0);
        assert_eq!(reply.extension("field"), "url");
        assert_refused(reply.0["errors"][0]["message"].as_str().unwrap(), "127.0.0.1");
    }
}

backend_test! {
    async fn the_same_paths_work_where_the_policy_permits(backend: Backend) {
        // Only 127.0.0.0/8 is allowed: the loopback target is reached.
        let app = node(backend, "", "127.0.0.0/8").await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "egress").await;
        let result = run_case(&app, &owner, &project, &target.url("/json")).await;
        assert_eq!(result["status"], "PASSED", "{result}");
        let tcp_address = target.base_url.trim_start_matches("http://");
        let reply = app.graphql(Some(&owner.access_token), TEST_TARGET, json!({ "input": { "kind": "TCP", "address": tcp_address } })).await.ok();
        assert_eq!(reply.data("testConnection.success"), true, "{}", reply.0);
        let reply = app.graphql(Some(&owner.access_token), GENERATE,
            json!({ "input": { "projectId": project, "url": openapi_server().await } })).await.ok();
        assert_eq!(reply.data("generateCases.drafts.0.operation"), "GET /ping");

        // Outside the allow list: refused, and the reason says so.
        let reply = app.graphql(Some(&owner.access_token), TEST_TARGET, json!({ "input": { "kind": "TCP", "address": "[::1]:9" } })).await.ok();
        assert_eq!(reply.data("testConnection.errorKind"), "EGRESS_DENIED", "{}", reply.0);
        assert!(reply.data("testConnection.message").as_str().unwrap().contains("not in TIDEWATCH_EGRESS_ALLOW"), "{}", reply.0);
    }
}

backend_test! {
    async fn the_default_policy_refuses_cloud_metadata_and_checks_redirect_hops(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "egress").await;
        let metadata = "http://169.254.169.254/latest/meta-data/";

        let result = run_case(&app, &owner, &project, metadata).await;
        assert_eq!(result["error"]["kind"], "EGRESS_DENIED", "{result}");
        assert_refused(result["error"]["message"].as_str().unwrap(), "169.254.169.254");
        // A permitted target redirecting there: refused at the hop.
        let hop = format!("{}?url={}", target.url("/redirect-to"), url::form_urlencoded::byte_serialize(metadata.as_bytes()).collect::<String>());
        let result = run_case(&app, &owner, &project, &hop).await;
        assert_eq!(result["error"]["kind"], "EGRESS_DENIED", "{result}");
        assert_refused(result["error"]["message"].as_str().unwrap(), "169.254.169.254");

        for (kind, address) in [("TCP", "169.254.169.254:80"), ("HTTP", metadata), ("REDIS", "[fd00:ec2::254]:6379")] {
            let reply = app.graphql(Some(&owner.access_token), TEST_TARGET, json!({ "input": { "kind": kind, "address": address } })).await.ok();
            assert_eq!(reply.data("testConnection.errorKind"), "EGRESS_DENIED", "{kind}: {}", reply.0);
        }
        // Validation lets the address be stored; connecting is what is refused.
        let server = create_server(&app, &owner, &project, json!({ "kind": "HTTP", "name": "metadata", "address": metadata })).await;
        let reply = app.graphql(Some(&owner.access_token), TEST_SERVER, json!({ "id": server })).await.ok();
        assert_eq!(reply.data("testConnection.errorKind"), "EGRESS_DENIED", "{}", reply.0);

        let reply = app.graphql(Some(&owner.access_token), GENERATE,
            json!({ "input": { "projectId": project, "url": "http://169.254.169.254/openapi.json" } })).await;
        assert_eq!(reply.code(), "BAD_USER_INPUT");
        assert_eq!(reply.extension("field"), "url");
        assert_refused(reply.0["errors"][0]["message"].as_str().unwrap(), "169.254.169.254");
    }
}
