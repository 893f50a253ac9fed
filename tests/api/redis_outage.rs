//! A Redis outage holds no request and no run; subscribers catch up once Redis is back.
//!
//! The test starts its own `redis-server` on a free port, so that it can stop it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::run_events::until_complete;
use crate::runs::{assert_contiguous, finished, slow_project, start};
use crate::support::target::TargetServer;
use crate::support::websocket::Protocol;
use crate::support::{Backend, TestApp};

/// A `redis-server` this test owns.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    /// Starts one on a free port; `None` when `redis-server` is not installed.
    async fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        Self::start_on(port).await
    }

    async fn start_on(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Self { port, child };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL, as in a crash) and waits for the process to end.
    fn kill(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ready_status(app: &TestApp) -> u16 {
    app.http()
        .get(app.url("/ready"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn unpublished(app: &TestApp) -> f64 {
    let text = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("tidewatch_events_unpublished_total "))
        .expect("the counter is exposed")
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_holds_no_request_and_no_run() {
    let Some(redis) = PrivateRedis::start().await else {
        eprintln!("redis-server is not installed; Redis outage test not run");
        return;
    };
    let url = redis.url();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |config| config.redis_url = Some(url))
        .start()
        .await;
    let target = TargetServer::start().await;
    let admin = app.register("root").await;
    let ada = app.register("ada").await;
    let (owner, project) = slow_project(&app, &target, 4, 200).await;
    let token = owner.access_token.clone();
    assert_eq!(ready_status(&app).await, 200);
    assert_eq!(unpublished(&app).await, 0.0);

    let mut socket = app
        .subscribed_socket(Protocol::TransportWs, json!({ "token": token }))
        .await;
    let run_id = start(
        &app,
        &token,
        json!({ "projectId": project, "maxWorkers": 1 }),
    )
    .await;
    socket
        .subscribe(
            "1",
            &format!("subscription {{ runEvents(runId: \"{run_id}\") {{ seq kind }} }}"),
        )
        .await;
    let first = socket.next_payload().await["data"]["runEvents"].clone();
    assert_eq!(first["seq"], 1);

    let port = redis.kill();
    // A mutation answers, its row stored; the run goes on to its end.
    let changed = tokio::time::timeout(
        Duration::from_secs(60),
        app.update_user(&admin.access_token, &ada.id, json!({ "role": "ADMIN" })),
    )
    .await
    .expect("updateUser answers during the outage")
    .ok();
    assert_eq!(changed.data("updateUser.user.role"), "ADMIN");
    let me = app.me(&ada.access_token).await.ok();
    assert_eq!(me.data("me.role"), "ADMIN");
    let run = finished(&app, &token, &run_id).await;
    assert_eq!(run["status"], "PASSED");
    assert_eq!(ready_status(&app).await, 503);
    assert!(unpublished(&app).await > 0.0);

    // Redis returns: the subscriber gets everything it missed, then complete.
    let _redis = PrivateRedis::start_on(port)
        .await
        .expect("redis-server restarts");
    let mut seen = vec![first];
    seen.extend(until_complete(&mut socket, "1").await);
    let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_contiguous(&seqs);
    assert_eq!(seen.last().unwrap()["kind"], "DONE");
    let started = Instant::now();
    while ready_status(&app).await != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "/ready stays unavailable"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
