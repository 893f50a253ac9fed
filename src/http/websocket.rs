//! The subscription socket: `graphql-transport-ws` and the legacy `graphql-ws`.
//!
//! The token comes in the `connection_init` payload, as
//! `{"Authorization": "Bearer …"}` or `{"token": "…"}`; without a valid one
//! the socket is closed with the reason. On shutdown every socket gets a
//! going-away close frame, and the server waits for it to be sent
//! ([`OpenSockets`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::{WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::Data;
use futures_util::{future, FutureExt, SinkExt, StreamExt};
use poem::http::header;
use poem::web::websocket::{Message, WebSocket, WebSocketConfig, WebSocketStream};
use poem::{IntoResponse, Request, Response};
use tokio::sync::mpsc;

use crate::app::App;
use crate::auth::session::{authenticate, parse_bearer, Session};
use crate::graphql::ClientAddr;
use crate::schema::TidewatchSchema;

/// Close code sent to every socket when the node shuts down (RFC 6455 "going away").
const GOING_AWAY: u16 = 1001;
/// Close code for a frame that breaks the WebSocket protocol.
const PROTOCOL_ERROR: u16 = 1002;
/// Close code for a message larger than the node accepts.
const MESSAGE_TOO_BIG: u16 = 1009;

/// At most this many messages are written out together; a burst of events
/// for a socket goes out in a few writes instead of one per message.
const MAX_MESSAGES_PER_WRITE: usize = 64;

/// How long a closing socket waits for the client's close frame.
const CLOSE_HANDSHAKE_GRACE: Duration = Duration::from_secs(2);

/// Every open socket holds a clone; shutdown waits until none is left.
#[derive(Clone)]
pub struct OpenSockets {
    _held: mpsc::Sender<()>,
}

impl OpenSockets {
    /// The handle to give to sockets, and a future that completes once it and
    /// every clone are dropped.
    pub fn new() -> (Self, impl Future<Output = ()> + Send) {
        let (sender, mut receiver) = mpsc::channel::<()>(1);
        (Self { _held: sender }, async move {
            // Nothing is ever sent: `recv` returns `None` once every sender is gone.
            let _ = receiver.recv().await;
        })
    }
}

/// Accepts the upgrade and serves the socket.
pub fn upgrade(
    request: &Request,
    socket: WebSocket,
    schema: TidewatchSchema,
    app: Arc<App>,
    sockets: OpenSockets,
) -> Response {
    let protocol = request
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .find_map(|name| name.trim().parse::<WebSocketProtocols>().ok())
        })
        // Clients that name no protocol get the current one.
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let client = ClientAddr(
        request
            .remote_addr()
            .as_socket_addr()
            .map(|address| address.ip()),
    );
    let max_message = app.config.limits.max_body_bytes;
    socket
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .config(socket_config(max_message))
        .on_upgrade(move |stream| serve(stream, schema, app, protocol, client, sockets))
        .into_response()
}

/// Buffers sized for many mostly idle sockets that carry small messages: the
/// read buffer starts at 4 KiB (it grows for a larger message) instead of the
/// 128 KiB allocated up front by default, messages ready together are written
/// together (up to 8 KiB before a write), and a message may be no larger than
/// a request body.
fn socket_config(max_message: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// Decrements the open-socket gauge, and releases the socket's hold on
/// shutdown, however the socket ends.
struct OpenSocket {
    app: Arc<App>,
    _held: OpenSockets,
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.app.metrics.websocket_connections.dec();
    }
}

async fn serve(
    stream: WebSocketStream,
    schema: TidewatchSchema,
    app: Arc<App>,
    protocol: WebSocketProtocols,
    client: ClientAddr,
    sockets: OpenSockets,
) {
    app.metrics.websocket_connections.inc();
    let _open = OpenSocket {
        app: app.clone(),
        _held: sockets,
    };
    let shutdown = app.shutdown_requested();
    futures_util::pin_mut!(shutdown);
    let (mut sink, incoming) = stream.split();
    let refused = Arc::new(std::sync::Mutex::new(None));
    let read_error = refused.clone();
    let incoming = incoming
        .take_while(move |message| {
            if let Err(error) = message {
                *read_error.lock().expect("read error lock") = Some(close_for(error));
            }
            future::ready(message.is_ok())
        })
        .filter_map(|message| {
            future::ready(match message {
                Ok(message) if message.is_text() || message.is_binary() => {
                    Some(message.into_bytes())
                }
                _ => None,
            })
        });
    let init_app = app.clone();
    let outgoing = async_graphql::http::WebSocket::new(schema, incoming, protocol)
        .on_connection_init(move |payload| connection_init(init_app, payload, client));
    futures_util::pin_mut!(outgoing);
    // A message taken from `outgoing` while others were being written out.
    let mut ready: Option<Option<WsMessage>> = None;
    let mut unflushed = 0;
    loop {
        let message = match ready.take() {
            Some(message) => message,
            None => tokio::select! {
                message = outgoing.next() => message,
                () = &mut shutdown => {
                    let going_away = Message::close_with(GOING_AWAY, "server shutting down");
                    if sink.send(going_away).await.is_ok() {
                        // Finish the closing handshake: dropping the connection with the
                        // client's messages unread would answer them with a reset, which
                        // can destroy the close frame before the client reads it.
                        let drained = async { while outgoing.next().await.is_some() {} };
                        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_GRACE, drained).await;
                    }
                    return;
                }
            },
        };
        match message {
            Some(WsMessage::Text(text)) => {
                if sink.feed(Message::Text(text)).await.is_err() {
                    return;
                }
                unflushed += 1;
                // Messages that are already waiting go out in the same write.
                ready = if unflushed < MAX_MESSAGES_PER_WRITE {
                    outgoing.next().now_or_never()
                } else {
                    None
                };
                if ready.is_none() {
                    unflushed = 0;
                    if sink.flush().await.is_err() {
                        return;
                    }
                }
            }
            Some(WsMessage::Close(code, reason)) => {
                let _ = sink.send(Message::close_with(code, reason)).await;
                return;
            }
            None => {
                let refused = refused.lock().expect("read error lock").take();
                match refused {
                    Some((code, reason)) => {
                        let _ = sink.send(Message::close_with(code, reason)).await;
                    }
                    None => {
                        let _ = sink.close().await;
                    }
                }
                return;
            }
        }
    }
}

/// The close frame that answers a message the socket could not read: 1009
/// for one past the size limit, 1002 for any other violation of the protocol.
/// (On a connection that broke, the frame goes nowhere.)
fn close_for(error: &std::io::Error) -> (u16, &'static str) {
    let text = error.to_string();
    if text.contains("too long") || text.contains("too big") {
        (MESSAGE_TOO_BIG, "message too big")
    } else {
        (PROTOCOL_ERROR, "unreadable message")
    }
}

/// Checks the token in the `connection_init` payload.
async fn connection_init(
    app: Arc<App>,
    payload: serde_json::Value,
    client: ClientAddr,
) -> async_graphql::Result<Data> {
    let bearer = token_from_payload(&payload);
    if let Err(error) = authenticate(&app, bearer.as_deref()).await {
        return Err(async_graphql::Error::new(format!(
            "UNAUTHENTICATED: {error}"
        )));
    }
    let mut data = Data::default();
    data.insert(Session::for_connection(bearer));
    data.insert(client);
    Ok(data)
}

/// `{"Authorization": "Bearer …"}` (any case) or `{"token": "…"}`.
fn token_from_payload(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
        .and_then(parse_bearer)
        .or_else(|| {
            object
                .get("token")
                .and_then(|value| value.as_str())
                .map(str::to_owned)
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::token_from_payload;

    #[test]
    fn token_in_either_payload_shape() {
        let header = json!({"Authorization": "Bearer abc"});
        let lower = json!({"authorization": "Bearer abc"});
        let plain = json!({"token": "abc"});
        for payload in [header, lower, plain] {
            assert_eq!(token_from_payload(&payload).as_deref(), Some("abc"));
        }
        assert_eq!(token_from_payload(&json!({})), None);
        assert_eq!(token_from_payload(&json!(null)), None);
    }
}
