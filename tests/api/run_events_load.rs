//! Many subscribers on one run, one of them slow, while the run is paused and
//! resumed 100 times: every one gets 1…DONE in order, then `complete`.
//!
//! 2,000 subscribers (40 sockets of 50, one more socket that reads nothing
//! until the run is over) take about 35 s on a quiet two-core machine with a
//! debug build; every wait below is a deadline on a condition, generous for a
//! loaded machine.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::runs::{act, case, get, is_final, run_state, start, wait_for};
use crate::support::target::TargetServer;
use crate::support::websocket::{Protocol, Socket};
use crate::support::{Backend, TestApp};

const PER_SOCKET: usize = 50;
const TOGGLES: usize = 100;
/// The longest request time a case may have (10 minutes).
const MAX_TIMEOUT_MS: i64 = 600_000;
/// How long a socket may go without a message: 2,000 subscribers keep a
/// debug build on a loaded machine busy.
const MESSAGE_WAIT: Duration = Duration::from_secs(300);
/// How long the run may take to start and to finish.
const RUN_WAIT: Duration = Duration::from_secs(300);

/// Reads every subscription of `socket` until each has completed; checks that
/// each got 1, 2, … up to DONE, then `complete`. Returns the DONE seq of each.
async fn follow(mut socket: Socket, subscriptions: usize) -> Vec<i64> {
    let mut next: HashMap<String, i64> = HashMap::new();
    let mut done: HashMap<String, i64> = HashMap::new();
    let mut completed = Vec::new();
    while completed.len() < subscriptions {
        let message = socket
            .next_json_within(MESSAGE_WAIT)
            .await
            .expect("socket open");
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("next") => {
                let event = &message["payload"]["data"]["runEvents"];
                let seq = event["seq"].as_i64().unwrap_or_else(|| panic!("{message}"));
                let expected = next.entry(id.clone()).or_insert(1);
                assert_eq!(seq, *expected, "subscription {id}: {message}");
                assert!(!done.contains_key(&id), "an event after DONE: {message}");
                *expected += 1;
                if event["kind"] == "DONE" {
                    done.insert(id, seq);
                }
            }
            Some("complete") => {
                let last = done
                    .get(&id)
                    .unwrap_or_else(|| panic!("complete before DONE on {id}"));
                completed.push(*last);
            }
            Some("ka" | "ping" | "pong") => {}
            _ => panic!("unexpected message {message}"),
        }
    }
    completed
}

// On SQLite only: the PostgreSQL variant would double a load test's cost (the
// run_events tests cover ordering across Redis and nodes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_subscribers_get_every_event_in_order_through_pause_and_resume() {
    subscribers_through_pause_and_resume(2000).await;
}

async fn subscribers_through_pause_and_resume(subscribers: usize) {
    let app = TestApp::start(Backend::Sqlite).await;
    let target = TargetServer::start().await;
    let owner = app.register("owner").await;
    let token = owner.access_token.clone();
    let project = app.create_project(&token, "busy").await;
    // The gate case holds one worker until the toggling is over, so the run
    // cannot end before it.
    let mut gated = get(
        &target.url("/gate"),
        json!([{ "status": { "equals": 200 } }]),
    );
    gated["request"]["timeoutMs"] = json!(MAX_TIMEOUT_MS);
    case(&app, &token, &project, "gate", gated).await;
    for index in 0..20 {
        let slow = get(
            &target.url("/slow/50"),
            json!([{ "status": { "equals": 200 } }]),
        );
        case(&app, &token, &project, &format!("case {index}"), slow).await;
    }
    let run_id = start(
        &app,
        &token,
        json!({ "projectId": project, "maxWorkers": 2 }),
    )
    .await;
    let query = format!("subscription {{ runEvents(runId: \"{run_id}\") {{ seq kind }} }}");

    let mut slow = app
        .subscribed_socket(Protocol::TransportWs, json!({ "token": token }))
        .await;
    slow.subscribe("slow", &query).await;
    let mut followers = Vec::new();
    let mut remaining = subscribers - 1;
    while remaining > 0 {
        let count = remaining.min(PER_SOCKET);
        remaining -= count;
        let mut socket = app
            .subscribed_socket(Protocol::TransportWs, json!({ "token": token }))
            .await;
        for index in 0..count {
            socket.subscribe(&index.to_string(), &query).await;
        }
        followers.push((count, tokio::spawn(follow(socket, count))));
    }

    wait_for(&app, &token, &run_id, RUN_WAIT, |run| {
        run["status"] == "RUNNING"
    })
    .await;
    for _ in 0..TOGGLES {
        act(&app, &token, "pauseRun", &run_id).await.ok();
        act(&app, &token, "resumeRun", &run_id).await.ok();
    }
    target.open_gate();
    let run = wait_for(&app, &token, &run_id, RUN_WAIT, is_final).await;
    assert_eq!(run["status"], "PASSED", "{run}");
    assert_eq!(run_state(&app, &token, &run_id).await["passed"], 21);

    let mut done_seqs = Vec::new();
    for (count, follower) in followers {
        let seqs = follower.await.expect("a follower checked its events");
        assert_eq!(seqs.len(), count);
        done_seqs.extend(seqs);
    }
    // The slow subscriber reads only now.
    done_seqs.extend(follow(slow, 1).await);
    assert_eq!(done_seqs.len(), subscribers);
    let stored = app
        .graphql(
            Some(&token),
            "query($id: ID!) { run(id: $id) { events(afterSeq: 0) { seq kind } } }",
            json!({ "id": run_id }),
        )
        .await
        .ok();
    let stored = stored.data("run.events").as_array().unwrap().clone();
    let last = stored.last().unwrap();
    assert_eq!(last["kind"], "DONE");
    let statuses = stored
        .iter()
        .filter(|event| event["kind"] == "STATUS")
        .count();
    assert!(statuses > 2 * TOGGLES, "{statuses} STATUS events");
    assert!(done_seqs
        .iter()
        .all(|seq| *seq == last["seq"].as_i64().unwrap()));
}
