//! Servers: CRUD, validation, write-only credentials, real connection tests, agents.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_test;
use crate::support::client::Account;
use crate::support::{postgres_url, redis_url, Backend, TestApp};

const CREATE_SERVER: &str = "mutation($input: CreateServerInput!) { createServer(input: $input) {
    server { id kind name tags address databaseName credentialId probeIntervalSecs status hasAgentToken } } }";
const CREATE_CREDENTIAL: &str =
    "mutation($input: CreateCredentialInput!) { createCredential(input: $input) {
    credential { id name username hasSecret } } }";
const TEST_SERVER: &str = "mutation($id: ID!) { testConnection(serverId: $id) {
    success latencyMs version httpStatus errorKind message } }";
const TEST_TARGET: &str =
    "mutation($input: ConnectionTargetInput!) { testConnection(input: $input) {
    success latencyMs version httpStatus errorKind message } }";
const SECRET: &str = "Sup3r-S3cret-Pw!";

/// Creates a server from `input` (the project id is added); returns its id.
pub async fn create_server(
    app: &TestApp,
    user: &Account,
    project: &str,
    mut input: Value,
) -> String {
    input["projectId"] = json!(project);
    app.graphql(
        Some(&user.access_token),
        CREATE_SERVER,
        json!({ "input": input }),
    )
    .await
    .ok()
    .data("createServer.server.id")
    .as_str()
    .unwrap()
    .to_owned()
}

async fn create_credential(
    app: &TestApp,
    user: &Account,
    project: &str,
    username: &str,
    secret: &str,
) -> String {
    app.graphql(
        Some(&user.access_token),
        CREATE_CREDENTIAL,
        json!({ "input": { "projectId": project, "name": format!("{username}-{}", secret.len()), "username": username, "secret": secret } }),
    )
    .await
    .ok()
    .data("createCredential.credential.id")
    .as_str()
    .unwrap()
    .to_owned()
}

/// `host:port` of a test service URL, with its user name.
fn service(url: &str) -> (String, String) {
    let url = url::Url::parse(url).expect("test URL");
    (
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()),
        url.username().to_owned(),
    )
}

/// A loopback HTTP server answering every request with 200.
async fn loopback_http() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 2048];
                let _ = socket.read(&mut buffer).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    format!("http://{address}/health")
}

/// A loopback port with nothing listening.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

backend_test! {
    async fn servers_are_created_listed_updated_and_deleted(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        app.add_member(&ada.access_token, &project, &bob.id, "VIEWER").await;
        let credential = create_credential(&app, &ada, &project, "postgres", SECRET).await;
        let created = app
            .graphql(Some(&ada.access_token), CREATE_SERVER, json!({ "input": {
                "projectId": project, "kind": "POSTGRES", "name": "main db", "tags": ["db", "prod", "db"],
                "address": "db.internal:5432", "databaseName": "app", "credentialId": credential } }))
            .await
            .ok();
        let server = created.data("createServer.server");
        assert_eq!(server["tags"], json!(["db", "prod"]));
        assert_eq!(server["status"], "UNKNOWN");
        assert_eq!(server["probeIntervalSecs"], 60);
        let id = server["id"].as_str().unwrap().to_owned();

        // Viewers read, but may not write.
        let listed = app
            .graphql(Some(&bob.access_token), "query($p: ID!) { servers(projectId: $p, tag: \"prod\") { totalCount nodes { id name } } }", json!({ "p": project }))
            .await
            .ok();
        assert_eq!(listed.data("servers.nodes.0.id"), &json!(id));
        let denied = app
            .graphql(Some(&bob.access_token), CREATE_SERVER, json!({ "input": {
                "projectId": project, "kind": "TCP", "name": "x", "address": "127.0.0.1:1" } }))
            .await;
        assert_eq!(denied.code(), "FORBIDDEN");

        let updated = app
            .graphql(Some(&ada.access_token), "mutation($input: UpdateServerInput!) { updateServer(input: $input) { server { name tags probeIntervalSecs credentialId } } }",
                json!({ "input": { "id": id, "name": "primary db", "tags": ["db"], "probeIntervalSecs": 30, "credentialId": "" } }))
            .await
            .ok();
        assert_eq!(updated.data("updateServer.server.name"), "primary db");
        assert!(updated.0["data"]["updateServer"]["server"]["credentialId"].is_null());

        // Bad input names the field.
        for (input, field) in [
            (json!({ "kind": "TCP", "name": "t", "address": "no-port" }), "address"),
            (json!({ "kind": "HTTP", "name": "h", "address": "ftp://x" }), "address"),
            (json!({ "kind": "TCP", "name": "t", "address": "127.0.0.1:80", "probeIntervalSecs": 1 }), "probeIntervalSecs"),
            (json!({ "kind": "TCP", "name": "", "address": "127.0.0.1:80" }), "name"),
        ] {
            let mut input = input;
            input["projectId"] = json!(project);
            let reply = app.graphql(Some(&ada.access_token), CREATE_SERVER, json!({ "input": input })).await;
            assert_eq!(reply.code(), "BAD_USER_INPUT", "{input}");
            assert_eq!(reply.extension("field"), field, "{input}");
        }
        let unknown_kind = app
            .graphql(Some(&ada.access_token), CREATE_SERVER, json!({ "input": {
                "projectId": project, "kind": "FTP", "name": "f", "address": "x" } }))
            .await;
        assert_eq!(unknown_kind.code(), "BAD_USER_INPUT");
        assert!(unknown_kind.0["errors"][0]["message"].as_str().unwrap().contains("FTP"), "{}", unknown_kind.0);

        let duplicate = app
            .graphql(Some(&ada.access_token), CREATE_SERVER, json!({ "input": {
                "projectId": project, "kind": "TCP", "name": "PRIMARY DB", "address": "127.0.0.1:80" } }))
            .await;
        assert_eq!(duplicate.code(), "CONFLICT");

        app.graphql(Some(&ada.access_token), "mutation($id: ID!) { deleteServer(input: { id: $id }) { deletedId } }", json!({ "id": id }))
            .await
            .ok();
        let gone = app.graphql(Some(&ada.access_token), "query($id: ID!) { server(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(gone.code(), "NOT_FOUND");

        // The secret appears nowhere: not in responses, not in the audit trail.
        let everything = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { credentials(projectId: $p) { id name username hasSecret }
                auditLog(projectId: $p) { nodes { action summary } } }", json!({ "p": project }))
            .await
            .ok();
        let text = everything.0.to_string();
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("server.create") && text.contains("credential.create"), "{text}");
    }
}

backend_test! {
    async fn connections_are_tested_for_real(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;

        // A loopback HTTP server answers; a closed port refuses.
        let http = create_server(&app, &ada, &project, json!({ "kind": "HTTP", "name": "web", "address": loopback_http().await })).await;
        let reply = app.graphql(Some(&ada.access_token), TEST_SERVER, json!({ "id": http })).await.ok();
        assert_eq!(reply.data("testConnection.success"), true, "{}", reply.0);
        assert_eq!(reply.data("testConnection.httpStatus"), 200);
        let reply = app
            .graphql(Some(&ada.access_token), TEST_TARGET, json!({ "input": { "kind": "TCP", "address": closed_port().await } }))
            .await
            .ok();
        assert_eq!(reply.data("testConnection.success"), false);
        assert_eq!(reply.data("testConnection.errorKind"), "REFUSED");
        let reply = app
            .graphql(Some(&ada.access_token), TEST_TARGET, json!({ "input": { "kind": "TCP", "address": "not an address" } }))
            .await;
        assert_eq!(reply.code(), "BAD_USER_INPUT");
        assert_eq!(reply.extension("field"), "address");

        if let Some(url) = postgres_url() {
            let (address, user) = service(&url);
            let credential = create_credential(&app, &ada, &project, &user, "").await;
            let pg = create_server(&app, &ada, &project, json!({ "kind": "POSTGRES", "name": "pg", "address": address, "credentialId": credential })).await;
            let reply = app.graphql(Some(&ada.access_token), TEST_SERVER, json!({ "id": pg })).await.ok();
            assert_eq!(reply.data("testConnection.success"), true, "{}", reply.0);
            assert!(reply.data("testConnection.version").as_str().unwrap().starts_with(char::is_numeric));
            // An unknown role is refused even where local connections are trusted.
            let reply = app
                .graphql(Some(&ada.access_token), TEST_TARGET, json!({ "input": { "kind": "POSTGRES", "address": address,
                    "username": "tidewatch_no_such_role", "password": SECRET } }))
                .await
                .ok();
            assert_eq!(reply.data("testConnection.errorKind"), "AUTHENTICATION_FAILED", "{}", reply.0);
            assert!(!reply.0.to_string().contains(SECRET));
        }
        if let Some(url) = redis_url() {
            let (address, _) = service(&url);
            let reply = app
                .graphql(Some(&ada.access_token), TEST_TARGET, json!({ "input": { "kind": "REDIS", "address": address } }))
                .await
                .ok();
            assert_eq!(reply.data("testConnection.success"), true, "{}", reply.0);
            let reply = app
                .graphql(Some(&ada.access_token), TEST_TARGET, json!({ "input": { "kind": "REDIS", "address": address,
                    "username": "tidewatch_no_such_user", "password": SECRET } }))
                .await
                .ok();
            assert_eq!(reply.data("testConnection.errorKind"), "AUTHENTICATION_FAILED", "{}", reply.0);
            assert!(!reply.0.to_string().contains(SECRET));
        }
        if let Some(url) = std::env::var("TEST_MYSQL_URL").ok().filter(|u| !u.is_empty()) {
            let (address, user) = service(&url);
            let right = create_credential(&app, &ada, &project, &user, "").await;
            let wrong = create_credential(&app, &ada, &project, &user, SECRET).await;
            let mysql = create_server(&app, &ada, &project, json!({ "kind": "MYSQL", "name": "mysql", "address": address, "credentialId": right })).await;
            let reply = app.graphql(Some(&ada.access_token), TEST_SERVER, json!({ "id": mysql })).await.ok();
            assert_eq!(reply.data("testConnection.success"), true, "{}", reply.0);
            app.graphql(Some(&ada.access_token), "mutation($input: UpdateServerInput!) { updateServer(input: $input) { server { id } } }",
                json!({ "input": { "id": mysql, "credentialId": wrong } }))
                .await
                .ok();
            let reply = app.graphql(Some(&ada.access_token), TEST_SERVER, json!({ "id": mysql })).await.ok();
            assert_eq!(reply.data("testConnection.errorKind"), "AUTHENTICATION_FAILED", "{}", reply.0);
            assert!(!reply.0.to_string().contains(SECRET));
        }
    }
}

backend_test! {
    async fn agents_report_with_their_token_and_history_reads_buckets(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let server = create_server(&app, &ada, &project, json!({ "kind": "HOST", "name": "worker-1", "address": "localhost" })).await;
        let token = app
            .graphql(Some(&ada.access_token), "mutation($id: ID!) { createAgentToken(input: { id: $id }) { token server { hasAgentToken } } }", json!({ "id": server }))
            .await
            .ok()
            .data("createAgentToken.token")
            .as_str()
            .unwrap()
            .to_owned();
        let report = "mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted } }";
        let now = chrono::Utc::now();
        let samples: Vec<Value> = (0..30)
            .map(|i| json!({ "metric": "cpu_percent", "value": f64::from(i), "at": (now - chrono::Duration::seconds(i64::from(i) * 10)).to_rfc3339() }))
            .collect();
        let reply = app.graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": samples } })).await.ok();
        assert_eq!(reply.data("reportMetrics.accepted"), 30);

        // A user's token, a wrong token, or another server's id are refused.
        let reply = app.graphql(Some(&ada.access_token), report, json!({ "input": { "serverId": server, "samples": [] } })).await;
        assert_eq!(reply.code(), "UNAUTHENTICATED");
        let reply = app.graphql(Some("twa_wrong"), report, json!({ "input": { "serverId": server, "samples": [] } })).await;
        assert_eq!(reply.code(), "UNAUTHENTICATED");
        let reply = app.graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": [{ "metric": "bad metric", "value": 1 }] } })).await;
        assert_eq!(reply.code(), "BAD_USER_INPUT");
        assert_eq!(reply.extension("field"), "samples[0].metric");

        // Raw tier (10-second steps) and the 1-minute rollups agree on the totals.
        let history = "query($id: ID!, $step: Int, $range: MetricRange!) { server(id: $id) {
            metrics(metric: \"cpu_percent\", range: $range, step: $step) { at avg min max count } } }";
        for (step, range) in [(10, json!({ "last": "LAST_1H" })), (60, json!({ "last": "LAST_24H" })), (3600, json!({ "last": "LAST_7D" }))] {
            let reply = app.graphql(Some(&ada.access_token), history, json!({ "id": server, "step": step, "range": range })).await.ok();
            let buckets = reply.data("server.metrics").as_array().unwrap().clone();
            let count: i64 = buckets.iter().map(|b| b["count"].as_i64().unwrap()).sum();
            let max = buckets.iter().map(|b| b["max"].as_f64().unwrap()).fold(f64::MIN, f64::max);
            let min = buckets.iter().map(|b| b["min"].as_f64().unwrap()).fold(f64::MAX, f64::min);
            assert_eq!((count, min, max), (30, 0.0, 29.0), "step {step}: {buckets:?}");
        }
        let window = json!({ "between": { "from": (now - chrono::Duration::minutes(10)).to_rfc3339(), "to": (now + chrono::Duration::seconds(1)).to_rfc3339() } });
        let reply = app.graphql(Some(&ada.access_token), history, json!({ "id": server, "range": window })).await.ok();
        assert!(!reply.data("server.metrics").as_array().unwrap().is_empty());
        let reply = app.graphql(Some(&ada.access_token), history, json!({ "id": server, "step": 1, "range": { "last": "LAST_7D" } })).await;
        assert_eq!(reply.extension("field"), "step");

        // Revoked tokens stop working.
        app.graphql(Some(&ada.access_token), "mutation($id: ID!) { revokeAgentToken(input: { id: $id }) { server { hasAgentToken } } }", json!({ "id": server }))
            .await
            .ok();
        let reply = app.graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": [] } })).await;
        assert_eq!(reply.code(), "UNAUTHENTICATED");
    }
}

backend_test! {
    async fn unsaved_targets_are_tested_only_by_admins_and_maintainers(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let target = json!({ "input": { "kind": "HTTP", "address": loopback_http().await } });

        // Bob belongs to no project, then only as a member: refused before anything is dialled.
        let refused = app.graphql(Some(&bob.access_token), TEST_TARGET, target.clone()).await;
        assert_eq!(refused.code(), "FORBIDDEN", "{}", refused.0);
        assert!(refused.0["data"].is_null() || refused.0["data"]["testConnection"].is_null());
        app.add_member(&ada.access_token, &project, &bob.id, "MEMBER").await;
        let refused = app.graphql(Some(&bob.access_token), TEST_TARGET, target.clone()).await;
        assert_eq!(refused.code(), "FORBIDDEN");
        let bad = app.graphql(Some(&bob.access_token), TEST_TARGET, json!({ "input": { "kind": "TCP", "address": "no port" } })).await;
        assert_eq!(bad.code(), "FORBIDDEN", "no validation detail before the role check");

        // A maintainer of some project, the owner of one, and an admin may.
        let maintained = app.create_project(&ada.access_token, "Ops 2").await;
        app.add_member(&ada.access_token, &maintained, &bob.id, "MAINTAINER").await;
        let carols = app.create_project(&carol.access_token, "Carol's").await;
        assert!(!carols.is_empty());
        for user in [&bob, &carol, &ada] {
            let reply = app.graphql(Some(&user.access_token), TEST_TARGET, target.clone()).await.ok();
            assert_eq!(reply.data("testConnection.success"), true, "{}", reply.0);
            assert_eq!(reply.data("testConnection.httpStatus"), 200);
        }
        let unauthenticated = app.graphql(None, TEST_TARGET, target).await;
        assert_eq!(unauthenticated.code(), "UNAUTHENTICATED");
    }
}
