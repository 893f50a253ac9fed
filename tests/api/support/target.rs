//! A loopback HTTP server to run HTTP cases against in tests.
//!
//! [`TargetServer::start`] serves, on 127.0.0.1 and a free port:
//! - `/json`: a JSON document with nested objects, arrays, numbers, strings, booleans, null;
//! - `/status/:code`: answers with that status code (any method);
//! - `/headers`: sets `X-Custom`, `X-Request-Id`, two `X-Multi`, `Set-Cookie`,
//!   plus one header per query parameter (`/headers?x-a=1` sets `x-a: 1`);
//! - `/echo`: echoes method, path, query, headers and body as JSON (any method);
//! - `/slow/:ms`: answers after `ms` milliseconds;
//! - `/text`: plain text with keywords in mixed case;
//! - `/token`: `{"token": "..."}`, the token `/needs-token` wants;
//! - `/needs-token`: 200 with `Authorization: Bearer <token>`, 401 otherwise;
//! - `/redirect` (302 to `/json`), `/redirect-loop` (302 to itself) and
//!   `/redirect-to?url=…` (302 to that URL);
//! - `/bytes/:n`: a body of `n` bytes;
//! - `/gate`: answers once [`TargetServer::open_gate`] has been called.
//!
//! A second, raw TCP listener serves [`TargetServer::drop_url`] (reads the request,
//! closes without answering), [`TargetServer::truncated_url`] (promises 1000 bytes,
//! sends fewer, closes) and [`TargetServer::hang_url`] (never answers; counts the
//! connections the client closed, see [`TargetServer::hang_closed`]).
//! [`closed_port_url`] gives a URL nothing listens on.
//!
//! Depends only on `poem` 3, `tokio` and `serde_json`, so it can be copied into
//! another crate's tests as is.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poem::http::{header, HeaderMap, StatusCode};
use poem::listener::TcpAcceptor;
use poem::web::{Data, Json, Path};
use poem::{get, handler, Body, EndpointExt, Request, Response, Route, Server};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running loopback target; its tasks stop when it is dropped.
pub struct TargetServer {
    /// `http://127.0.0.1:PORT` of the poem server (no trailing slash).
    pub base_url: String,
    /// A URL whose server reads the request and closes the connection without answering.
    pub drop_url: String,
    /// A URL whose server sends headers promising 1000 bytes, sends 11 and closes.
    pub truncated_url: String,
    /// A URL whose server reads the request and never answers.
    pub hang_url: String,
    /// The token `/token` returns and `/needs-token` expects.
    pub token: String,
    hang_closed: Arc<AtomicUsize>,
    gate: Arc<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Clone)]
struct State {
    token: String,
    gate: Arc<tokio::sync::watch::Sender<bool>>,
}

impl TargetServer {
    /// Starts both listeners on 127.0.0.1 with free ports.
    pub async fn start() -> TargetServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind target");
        let addr = listener.local_addr().expect("target address");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let token = format!("tw-{}-{nanos:09}", addr.port());
        let gate = Arc::new(tokio::sync::watch::Sender::new(false));
        let app = Route::new()
            .at("/json", get(json_doc))
            .at("/status/:code", with_status)
            .at("/headers", get(with_headers))
            .at("/echo", echo)
            .at("/slow/:ms", get(slow))
            .at("/text", get(text_doc))
            .at("/token", get(token_doc))
            .at("/needs-token", get(needs_token))
            .at("/redirect", get(redirect))
            .at("/redirect-loop", get(redirect_loop))
            .at("/redirect-to", get(redirect_to))
            .at("/bytes/:n", get(bytes_body))
            .at("/gate", get(gate_open))
            .data(State {
                token: token.clone(),
                gate: gate.clone(),
            });
        let acceptor = TcpAcceptor::from_tokio(listener).expect("target acceptor");
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });

        let raw = TcpListener::bind("127.0.0.1:0").await.expect("bind raw");
        let raw_addr = raw.local_addr().expect("raw address");
        let hang_closed = Arc::new(AtomicUsize::new(0));
        let counter = hang_closed.clone();
        let raw_task = tokio::spawn(async move {
            while let Ok((stream, _)) = raw.accept().await {
                tokio::spawn(serve_raw(stream, counter.clone()));
            }
        });

        let raw_base = format!("http://{raw_addr}");
        TargetServer {
            base_url: format!("http://{addr}"),
            drop_url: format!("{raw_base}/drop"),
            truncated_url: format!("{raw_base}/truncated"),
            hang_url: format!("{raw_base}/hang"),
            token,
            hang_closed,
            gate,
            tasks: vec![server, raw_task],
        }
    }

    /// `base_url` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Lets every `/gate` request, waiting or to come, answer.
    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    /// How many `/hang` connections the client has closed so far.
    pub fn hang_closed(&self) -> usize {
        self.hang_closed.load(Ordering::SeqCst)
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A URL on 127.0.0.1 whose port nothing listens on (bound, then released).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind probe");
    let port = listener.local_addr().expect("probe address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Reads a request head, then acts by path: `/drop`, `/truncated` or `/hang`.
async fn serve_raw(mut stream: TcpStream, hang_closed: Arc<AtomicUsize>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    if path.starts_with("/truncated") {
        let _ = stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"partial\":",
            )
            .await;
        let _ = stream.flush().await;
    } else if path.starts_with("/hang") {
        // Never answer; notice when the client goes away.
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        hang_closed.fetch_add(1, Ordering::SeqCst);
    }
    // `/drop` and anything else: close without a response.
}

#[handler]
fn json_doc() -> Json<Value> {
    Json(json!({
        "name": "Tidewatch",
        "version": 3,
        "ratio": 0.75,
        "active": true,
        "nothing": null,
        "tags": ["api", "ops", "test"],
        "owner": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "address": { "city": "London", "zip": "W1" }
        },
        "items": [
            { "id": 1, "name": "alpha", "price": 9.5, "inStock": true },
            { "id": 2, "name": "beta", "price": 20, "inStock": false },
            { "id": 3, "name": "gamma", "price": 42.25, "inStock": true }
        ]
    }))
}

#[handler]
fn with_status(Path(code): Path<u16>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({ "status": status.as_u16() }).to_string())
}

#[handler]
fn with_headers(req: &Request) -> Response {
    let mut response = Response::builder()
        .header("X-Custom", "hello-world")
        .header("X-Request-Id", "req-42")
        .header("X-Multi", "one")
        .header("X-Multi", "two")
        .header(header::SET_COOKIE, "session=abc123; HttpOnly")
        .content_type("text/plain")
        .body("headers");
    for (name, value) in query_pairs(req) {
        if let (Ok(name), Ok(value)) = (
            poem::http::HeaderName::from_bytes(name.as_bytes()),
            poem::http::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.params::<Vec<(String, String)>>().unwrap_or_default()
}

fn header_object(headers: &HeaderMap) -> Value {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_string())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    json!(map)
}

#[handler]
async fn echo(req: &Request, body: Body) -> Json<Value> {
    let body = body.into_string().await.unwrap_or_default();
    let query: BTreeMap<String, String> = query_pairs(req).into_iter().collect();
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    Json(json!({
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "rawQuery": req.uri().query().unwrap_or(""),
        "query": query,
        "headers": header_object(req.headers()),
        "body": body,
        "json": parsed,
    }))
}

#[handler]
async fn slow(Path(ms): Path<u64>) -> Json<Value> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(json!({ "sleptMs": ms }))
}

#[handler]
async fn gate_open(state: Data<&State>) -> Json<Value> {
    let mut open = state.gate.subscribe();
    let _ = open.wait_for(|open| *open).await;
    Json(json!({ "gate": "open" }))
}

#[handler]
fn text_doc() -> Response {
    Response::builder()
        .content_type("text/plain; charset=utf-8")
        .body("Welcome to TIDEWATCH!\nThe Quick Brown Fox watches the Tide.\nÜBER Straße, ÉCOLE.\n")
}

#[handler]
fn token_doc(state: Data<&State>) -> Json<Value> {
    Json(json!({ "token": state.token, "expiresIn": 3600 }))
}

#[handler]
fn needs_token(req: &Request, state: Data<&State>) -> Response {
    let expected = format!("Bearer {}", state.token);
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    let (status, body) = if authorized {
        (StatusCode::OK, json!({ "ok": true }))
    } else {
        (StatusCode::UNAUTHORIZED, json!({ "ok": false }))
    };
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}

#[handler]
fn redirect() -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, "/json")
        .body(())
}

#[handler]
fn redirect_loop() -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, "/redirect-loop")
        .body(())
}

#[handler]
fn redirect_to(req: &Request) -> Response {
    let location = query_pairs(req)
        .into_iter()
        .find_map(|(name, value)| (name == "url").then_some(value))
        .unwrap_or_else(|| "/json".to_string());
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .body(())
}

#[handler]
fn bytes_body(Path(n): Path<usize>) -> Response {
    let n = n.min(64 * 1024 * 1024);
    Response::builder()
        .content_type("application/octet-stream")
        .body(vec![b'a'; n])
}
