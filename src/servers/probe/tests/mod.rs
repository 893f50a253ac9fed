//! Tests against loopback servers started here always run. Tests against
//! real databases run when their variable is set, as in the main project:
//! `TEST_DATABASE_URL` (postgres://postgres@127.0.0.1:5432/postgres),
//! `TEST_REDIS_URL` (redis://127.0.0.1:6379) and
//! `TEST_MYSQL_URL` (mysql://root@127.0.0.1:3306/test, root without a password),
//! and `TEST_PG_PASSWORD_URL` for a PostgreSQL that checks passwords.

use std::net::SocketAddr;

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::secrets::percent_decode;
use super::*;

const PASSWORD: &str = "Sup3r-S3cret-Pw!";

fn target(kind: ServerKind, address: &str) -> ProbeTarget {
    let network = ProbeNetwork::new(Arc::new(EgressPolicy::default()));
    let mut t = ProbeTarget::new(kind, address, network);
    t.timeout = Duration::from_secs(5);
    t
}

fn assert_no_password(outcome: &ProbeOutcome) {
    let json = serde_json::to_string(outcome).unwrap();
    assert!(!json.contains(PASSWORD), "password leaked: {json}");
    assert!(!json.contains("S3cret"), "password leaked: {json}");
}

/// `host:port` of a service from a test URL variable, or `None` (test skipped).
fn service(var: &str) -> Option<(String, Url)> {
    match std::env::var(var) {
        Ok(raw) if !raw.is_empty() => {
            let url = Url::parse(&raw).expect("test URL");
            let host = url.host_str().expect("host").to_owned();
            let port = url.port().expect("port in test URL");
            Some((format!("{host}:{port}"), url))
        }
        _ => {
            eprintln!("{var} is not set; test not run");
            None
        }
    }
}

/// A loopback server that answers every connection with `response` once it has read the request head.
async fn raw_server(response: String) -> SocketAddr {
    serve(response, false).await
}

/// A loopback server answering every connection with `response` after the first bytes
/// (or the whole request head when `eager` is false).
async fn serve(response: String, eager: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    if eager {
                        break;
                    }
                    if seen.len() > 64 * 1024 {
                        break;
                    }
                }
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

/// A loopback server that accepts connections and never says anything.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// A loopback port with nothing listening on it.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

mod addresses;
mod egress;
mod http;
mod live;
mod network;
mod protocol;
mod secrets;
