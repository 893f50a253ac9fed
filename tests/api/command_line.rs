//! The `tidewatch` binary itself: flags after the subcommand, a plain log file
//! that names operations without their text, literals or variables, and
//! WebSockets closed with 1001 when the process is told to stop, and output
//! into a pipe its reader closed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A password that must never reach the log.
const SECRET: &str = "correct-horse-battery-staple";

/// A `tidewatch serve` process on a free loopback port, logging to a file.
struct Node {
    process: Child,
    address: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts the binary with its flags after the subcommand and waits until it answers.
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let log = dir.path().join("node.log");
        let process = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
            .env_clear()
            .env("RUST_LOG", "info")
            .args(["serve", "--bind", &address, "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--monitor-enabled", "false"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let node = Self {
            process,
            address,
            log,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if client.get(node.url("/health")).send().await.is_ok() {
                return node;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the node did not answer; its log:\n{}", node.log_text());
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Sockets open at shutdown; enough that a process exiting early would cut some off.
const SUBSCRIBERS: usize = 50;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` socket, acknowledged, with one subscription running.
async fn subscriber(node: &Node, token: &str) -> Socket {
    let mut request = format!("ws://{}/graphql", node.address)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "token": token } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { notifications { id } }" } });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    socket
}

/// The close frame the server sends, if any.
async fn closing_frame(
    mut socket: Socket,
) -> Option<tokio_tungstenite::tungstenite::protocol::CloseFrame> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("the socket ends in time");
        match message {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => continue,
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_flags_after_serve_logs_plainly_and_closes_sockets_with_1001() {
    let mut node = Node::start().await;
    let client = reqwest::Client::new();

    // A password in variables (POST) and one written into a document sent by GET.
    let registered: Value = client.post(node.url("/graphql"))
        .json(&json!({
            "query": "mutation Register($input: RegisterInput!) { register(input: $input) { accessToken } }",
            "variables": { "input": { "username": "ada", "email": "ada@example.com", "password": SECRET } },
        }))
        .send().await.unwrap().json().await.unwrap();
    let token = registered["data"]["register"]["accessToken"]
        .as_str()
        .expect("a token")
        .to_owned();
    let by_get = client
        .get(node.url("/graphql"))
        .header("accept", "application/json")
        .query(&[(
            "query",
            format!("query Leak {{ __type(name: \"{SECRET}\") {{ name }} }}"),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.status(), 200);

    // Subscribers, then SIGTERM: every one gets the going-away frame before the process ends.
    let mut sockets = Vec::new();
    for _ in 0..SUBSCRIBERS {
        sockets.push(subscriber(&node, &token).await);
    }
    let terminated = Command::new("kill")
        .args(["-TERM", &node.process.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    for socket in sockets {
        let close = closing_frame(socket).await.expect("a close code");
        assert_eq!(u16::from(close.code), 1001);
        assert_eq!(close.reason.as_str(), "server shutting down");
    }
    assert!(node.process.wait().unwrap().success());

    let log = node.log_text();
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log}"
    );
    assert!(!log.contains(SECRET), "a password reached the log:\n{log}");
    assert!(
        !log.contains("__type"),
        "document text reached the log:\n{log}"
    );
    assert!(
        log.contains("operation=\"mutation.register\" operation_name=\"Register\" document=\""),
        "{log}"
    );
    assert!(log.contains("operation_name=\"Leak\""), "{log}");
}

#[test]
fn serve_help_lists_the_configuration_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--bind",
        "--data-dir",
        "--database-url",
        "--cors-origins",
        "--max-query-nesting",
    ] {
        assert!(help.contains(flag), "{flag} missing from\n{help}");
    }
}

#[test]
fn the_schema_into_a_closed_pipe_ends_quietly() {
    // `tidewatch schema | head -1`, with the reader gone before the first write.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .env_clear()
        .arg("schema")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(stderr.is_empty(), "{stderr}");
}
