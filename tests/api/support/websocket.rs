//! A GraphQL WebSocket client speaking either protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::TestApp;

/// How long a test waits for one message (generous: a busy machine only makes
/// a test slower, never wrong).
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The two subscription protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws` (the current one).
    TransportWs,
    /// `graphql-ws` (the legacy subscriptions-transport-ws).
    LegacyWs,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::LegacyWs => "graphql-ws",
        }
    }
}

/// An open socket.
pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: Protocol,
}

/// How a socket ended.
#[derive(Debug)]
pub struct Closed {
    pub code: Option<u16>,
    pub reason: String,
    /// A `connection_error` message (legacy protocol) seen before the close.
    pub error_payload: Option<Value>,
}

impl TestApp {
    /// Opens `/graphql` as a WebSocket with `protocol`.
    pub async fn websocket(&self, protocol: Protocol) -> Socket {
        let mut request = format!("ws://{}/graphql", self.address)
            .into_client_request()
            .expect("ws request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            protocol.name().parse().expect("header"),
        );
        let (stream, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket upgrade");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol.name(),
            "server picks the offered protocol"
        );
        Socket { stream, protocol }
    }

    /// Opens a socket, initialises it with `payload`, and expects the ack.
    pub async fn subscribed_socket(&self, protocol: Protocol, payload: Value) -> Socket {
        let mut socket = self.websocket(protocol).await;
        socket.init(payload).await;
        let ack = socket.next_json().await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        socket
    }
}

impl Socket {
    /// Sends `connection_init` with `payload`.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str) {
        let kind = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::LegacyWs => "start",
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query } }))
            .await;
    }

    /// The next operation result's payload (`next` / `data`), skipping keep-alives.
    pub async fn next_payload(&mut self) -> Value {
        loop {
            let message = self.next_json().await.expect("a message");
            match message["type"].as_str() {
                Some("next") | Some("data") => return message["payload"].clone(),
                Some("ka") | Some("ping") | Some("pong") => continue,
                _ => panic!("unexpected message {message}"),
            }
        }
    }

    /// The next text message as JSON, or `None` when the socket closed.
    pub async fn next_json(&mut self) -> Option<Value> {
        self.next_json_within(MESSAGE_TIMEOUT).await
    }

    /// The next text message as JSON within `timeout`, or `None` when the socket closed.
    pub async fn next_json_within(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(timeout, self.stream.next())
                .await
                .expect("message within the timeout")?;
            match message.expect("WebSocket frame") {
                Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON")),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Waits for the close frame; collects a legacy `connection_error` on the way.
    pub async fn closed(mut self) -> Closed {
        let mut error_payload = None;
        loop {
            let message = tokio::time::timeout(MESSAGE_TIMEOUT, self.stream.next())
                .await
                .expect("close within the timeout");
            match message {
                Some(Ok(Message::Close(frame))) => {
                    return Closed {
                        code: frame.as_ref().map(|f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                        error_payload,
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    if value["type"] == "connection_error" {
                        error_payload = Some(value["payload"].clone());
                    }
                }
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => {
                    return Closed {
                        code: None,
                        reason: String::new(),
                        error_payload,
                    }
                }
            }
        }
    }

    async fn send(&mut self, value: Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("send");
    }
}

/// The close code for "going away".
pub fn going_away() -> u16 {
    u16::from(CloseCode::Away)
}
