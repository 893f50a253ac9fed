//! What benches share: a node served on a loopback port, GraphQL calls as a
//! client makes them (over HTTP and WebSocket), and a scratch PostgreSQL database.

// Each bench uses part of what benches share.
#![allow(dead_code)]

use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{SinkExt, StreamExt};
use poem::listener::{Acceptor, Listener, TcpListener};
use serde_json::{json, Value};
use tidewatch::{App, Config};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A node serving on a free loopback port until the process ends.
pub struct BenchNode {
    pub app: Arc<App>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub http: reqwest::Client,
}

impl BenchNode {
    /// Builds the node from `config` and serves it.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let app = App::build(config).await?;
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
        let base = format!(
            "http://{}",
            acceptor.local_addr()[0].as_socket_addr().expect("address")
        );
        tokio::spawn(tidewatch::http::serve_on(
            app.clone(),
            acceptor,
            std::future::pending(),
        ));
        Ok(Self {
            app,
            base,
            http: reqwest::Client::new(),
        })
    }

    /// Runs a GraphQL operation and returns its `data` (errors panic).
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        graphql_at(&self.http, &self.base, token, query, variables).await
    }

    /// Registers the first user (an admin) and returns its access token.
    pub async fn register(&self, username: &str) -> String {
        let data = self
            .graphql(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
                json!({ "i": { "username": username, "email": format!("{username}@example.com"),
                    "password": "bench password 1" } }),
            )
            .await;
        data["register"]["accessToken"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// The node's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }
}

/// Runs `bench` with a configuration whose data lives in a fresh temporary
/// directory: on SQLite there, or, with `BENCH_DATABASE_URL` set, on a scratch
/// PostgreSQL database created next to it and dropped afterwards.
pub async fn on_bench_database<F, Fut>(bench: F) -> anyhow::Result<()>
where
    F: FnOnce(&'static str, Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let data_dir = tempfile::tempdir()?;
    let mut config = Config::with_data_dir(data_dir.path());
    let Ok(admin_url) = std::env::var("BENCH_DATABASE_URL") else {
        let url = format!("sqlite://{}", data_dir.path().join("bench.db").display());
        config.database_url = Some(url);
        return bench("SQLite", config).await;
    };
    let name = format!("tidewatch_bench_{}", std::process::id());
    let mut admin = AsyncPgConnection::establish(&admin_url).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    config.database_url = Some(format!("{base}/{name}"));
    let outcome = bench("PostgreSQL", config).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    outcome
}

/// Runs a GraphQL operation on the node at `base` (`http://host:port`) and
/// returns its `data` (errors panic).
pub async fn graphql_at(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = http
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply: Value = request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert!(reply.get("errors").is_none(), "{reply}");
    reply["data"].clone()
}

/// A GraphQL WebSocket of the node at `base` (`http://host:port`), speaking
/// `graphql-transport-ws`, initialised with `token` and acknowledged.
pub async fn graphql_socket(base: &str, token: &str) -> GraphqlSocket {
    let mut request = format!("{}/graphql", base.replacen("http", "ws", 1))
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket upgrade");
    let init = json!({ "type": "connection_init", "payload": { "token": token } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("init");
    let ack = socket.next().await.expect("ack").expect("ack");
    assert!(ack.to_text().unwrap_or("").contains("connection_ack"));
    socket
}

/// Starts operation `id` on a socket from [`graphql_socket`].
pub async fn subscribe(socket: &mut GraphqlSocket, id: &str, query: &str) {
    let subscribe = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
}

/// A client WebSocket.
pub type GraphqlSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;
