//! Memory per idle subscription: the node's resident memory grows by how much
//! for each open `graphql-transport-ws` socket with one `notifications`
//! subscription on it?
//!
//! ```sh
//! cargo bench --bench subscriptions                      # 1,000 sockets
//! SUBSCRIPTION_BENCH_SOCKETS=4000 cargo bench --bench subscriptions
//! ```
//!
//! The node runs as its own process (the release `tidewatch` binary, on a
//! scratch SQLite database), so the client's sockets do not count: the bench
//! reads the node's `VmRSS` from `/proc` once one socket is open and again
//! once all are subscribed (the node's `tidewatch_websocket_connections` gauge
//! and the bus's subscriber count say so), and prints the difference per
//! socket. Each socket needs a file descriptor on both sides: raise
//! `ulimit -n` for more than about 1,000.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

mod support;

use support::{graphql_at, graphql_socket, subscribe, GraphqlSocket};

/// The node process; killed when dropped.
struct Node {
    child: Child,
    base: String,
    _data_dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn start() -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
            .arg("serve")
            .env("TIDEWATCH_BIND", format!("127.0.0.1:{port}"))
            .env("TIDEWATCH_DATA_DIR", data_dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("TIDEWATCH_MONITOR_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?;
        Ok(Self {
            child,
            base: format!("127.0.0.1:{port}"),
            _data_dir: data_dir,
        })
    }

    /// Resident memory of the node, in KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc status"))
    }

    async fn graphql(&self, http: &reqwest::Client, token: Option<&str>, query: &str) -> Value {
        graphql_at(
            http,
            &format!("http://{}", self.base),
            token,
            query,
            json!({}),
        )
        .await
    }

    async fn open_connections(&self, http: &reqwest::Client) -> f64 {
        let text = http
            .get(format!("http://{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| line.strip_prefix("tidewatch_websocket_connections "))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }

    async fn subscribe(&self, token: &str) -> GraphqlSocket {
        let mut socket = graphql_socket(&format!("http://{}", self.base), token).await;
        subscribe(
            &mut socket,
            "1",
            "subscription { notifications { id message } }",
        )
        .await;
        socket
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sockets: usize = std::env::var("SUBSCRIPTION_BENCH_SOCKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let node = Node::start()?;
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("http://{}/health", node.base))
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the node did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registered = node
        .graphql(&http, None, "mutation { register(input: { username: \"bench\", email: \"bench@example.com\", password: \"bench-password\" }) { accessToken } }")
        .await;
    let token = registered["register"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();

    let mut open = vec![node.subscribe(&token).await];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = node.rss_kib()?;
    for _ in 1..sockets {
        open.push(node.subscribe(&token).await);
    }
    while node.open_connections(&http).await < sockets as f64 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the last subscriptions settle on the node.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = node.rss_kib()?;
    let per_socket = after.saturating_sub(before) as f64 / (sockets - 1) as f64;
    println!("sockets: {sockets}, each with one `notifications` subscription");
    println!("node RSS: {before} KiB with one socket, {after} KiB with all");
    println!("memory per idle subscription: {per_socket:.1} KiB");
    drop(open);
    Ok(())
}
