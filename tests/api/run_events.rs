//! `runEvents` is exact: every subscriber gets 1…DONE in order, once each, then `complete`,
//! whatever the order of live publishes, lags, lost publishes and dead nodes.

use std::time::Duration;

use serde_json::{json, Value};
use tidewatch::runs::model::{NewEvent, RunId, RunRow};
use tidewatch::runs::state::{RunStatus, ACTIVE_STATUSES};

use crate::backend_test;
use crate::runs::{
    act, assert_contiguous, events, finished, is_final, run_state, slow_project, start, wait_for,
};
use crate::support::target::TargetServer;
use crate::support::websocket::{Protocol, Socket};
use crate::support::{Backend, TestApp};

fn run_events(run_id: &str, after: i64) -> String {
    format!(
        "subscription {{ runEvents(runId: \"{run_id}\", afterSeq: {after}) {{ seq kind data }} }}"
    )
}

/// The events of subscription `id` until its `complete`.
pub(crate) async fn until_complete(socket: &mut Socket, id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let message = socket.next_json().await.expect("socket open");
        match message["type"].as_str() {
            Some("next" | "data") => {
                assert_eq!(message["id"], id, "{message}");
                assert!(message["payload"]["errors"].is_null(), "{message}");
                seen.push(message["payload"]["data"]["runEvents"].clone());
            }
            Some("complete") => {
                assert_eq!(message["id"], id, "{message}");
                return seen;
            }
            Some("ka" | "ping" | "pong") => continue,
            _ => panic!("unexpected message {message}"),
        }
    }
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

/// A LOG event stored on `run_id` (as another node or a control request would).
async fn stored_log(
    app: &TestApp,
    run_id: &str,
    message: &str,
) -> tidewatch::runs::model::RunEventRow {
    let log = NewEvent {
        kind: "LOG",
        payload: json!({ "level": "INFO", "message": message }),
    };
    let at = tidewatch::db::now();
    let run_id = RunId::from(run_id.to_owned());
    app.app
        .db
        .transaction(async |conn| RunRow::append(conn, &run_id, &log, at).await)
        .await
        .unwrap()
}

async fn completes_after_done(protocol: Protocol, backend: Backend) {
    let app = TestApp::start(backend).await;
    let target = TargetServer::start().await;
    let (owner, project) = slow_project(&app, &target, 3, 200).await;
    let token = owner.access_token.clone();
    let run_id = start(
        &app,
        &token,
        json!({ "projectId": project, "maxWorkers": 1 }),
    )
    .await;

    // Live: the stream ends right after DONE.
    let mut socket = app
        .subscribed_socket(protocol, json!({ "token": token }))
        .await;
    socket.subscribe("live", &run_events(&run_id, 0)).await;
    let live = until_complete(&mut socket, "live").await;
    assert_contiguous(&seqs(&live));
    assert_eq!(live.last().unwrap()["kind"], "DONE");
    let done = live.last().unwrap()["seq"].as_i64().unwrap();

    // Replayed: everything after afterSeq, then complete; nothing at or past DONE.
    for (id, after, expected) in [
        ("all", 0, done),
        ("last", done - 1, 1),
        ("at-done", done, 0),
        ("past-done", done + 5, 0),
    ] {
        socket.subscribe(id, &run_events(&run_id, after)).await;
        let replayed = until_complete(&mut socket, id).await;
        assert_eq!(
            i64::try_from(replayed.len()).unwrap(),
            expected,
            "{id}: {replayed:?}"
        );
        if let Some(last) = replayed.last() {
            assert_eq!(last["kind"], "DONE", "{id}");
        }
    }
}

backend_test! {
    async fn run_events_complete_after_done_over_graphql_transport_ws(backend: Backend) {
        completes_after_done(Protocol::TransportWs, backend).await;
    }
}

backend_test! {
    async fn run_events_complete_after_done_over_legacy_graphql_ws(backend: Backend) {
        completes_after_done(Protocol::LegacyWs, backend).await;
    }
}

backend_test! {
    async fn live_events_out_of_order_or_never_published_arrive_in_seq_order(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let (owner, project) = slow_project(&app, &target, 4, 200).await;
        let token = owner.access_token.clone();
        let run_id = start(&app, &token, json!({ "projectId": project, "maxWorkers": 1 })).await;
        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": token })).await;
        socket.subscribe("1", &run_events(&run_id, 0)).await;
        wait_for(&app, &token, &run_id, Duration::from_secs(20), |run| run["status"] == "RUNNING").await;
        act(&app, &token, "pauseRun", &run_id).await.ok();

        // Two publishers race: the later event is published first. A third is
        // stored by a node whose publish never happens.
        let first = stored_log(&app, &run_id, "first").await;
        let second = stored_log(&app, &run_id, "second").await;
        stored_log(&app, &run_id, "never published").await;
        let run = RunRow::find(&mut app.app.db.conn().await.unwrap(), &run_id).await.unwrap().unwrap();
        tidewatch::runs::service::publish(&app.app, &run, &second).await;
        tidewatch::runs::service::publish(&app.app, &run, &first).await;
        act(&app, &token, "resumeRun", &run_id).await.ok();

        let seen = until_complete(&mut socket, "1").await;
        assert_contiguous(&seqs(&seen));
        assert_eq!(seen.last().unwrap()["kind"], "DONE");
        let logs: Vec<&str> = seen
            .iter()
            .filter(|e| e["kind"] == "LOG")
            .map(|e| e["data"]["message"].as_str().unwrap())
            .collect();
        assert_eq!(logs, ["first", "second", "never published"]);
        assert_eq!(seen, events(&app, &token, &run_id, 0).await);
    }
}

backend_test! {
    async fn a_subscriber_that_falls_behind_catches_up_from_storage(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let (owner, project) = slow_project(&app, &target, 2, 100).await;
        let token = owner.access_token.clone();
        let run_id = start(&app, &token, json!({ "projectId": project, "maxWorkers": 1 })).await;
        wait_for(&app, &token, &run_id, Duration::from_secs(20), |run| run["status"] == "RUNNING").await;
        act(&app, &token, "pauseRun", &run_id).await.ok();

        // The slow subscriber reads one event, then nothing while far more
        // events than the live buffer holds (and than its socket buffers) go by.
        let mut slow = app.subscribed_socket(Protocol::TransportWs, json!({ "token": token })).await;
        slow.subscribe("1", &run_events(&run_id, 0)).await;
        let mut seen = vec![slow.next_payload().await["data"]["runEvents"].clone()];
        let run = RunRow::find(&mut app.app.db.conn().await.unwrap(), &run_id).await.unwrap().unwrap();
        let filler = "x".repeat(4096);
        for index in 0..3000 {
            let event = stored_log(&app, &run_id, &format!("{index} {filler}")).await;
            tidewatch::runs::service::publish(&app.app, &run, &event).await;
        }
        act(&app, &token, "resumeRun", &run_id).await.ok();
        finished(&app, &token, &run_id).await;

        seen.extend(until_complete(&mut slow, "1").await);
        assert_contiguous(&seqs(&seen));
        assert!(seen.len() > 3000);
        assert_eq!(seen.last().unwrap()["kind"], "DONE");
    }
}

backend_test! {
    async fn a_run_cancelled_while_its_node_is_down_is_finished_by_the_next(backend: Backend) {
        let first = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let (owner, project) = slow_project(&first, &target, 8, 500).await;
        let token = owner.access_token.clone();
        let run_id = start(&first, &token, json!({ "projectId": project, "maxWorkers": 2 })).await;
        wait_for(&first, &token, &run_id, Duration::from_secs(20), |run| run["passed"].as_i64().unwrap() >= 2).await;
        let database = first.database.clone();
        let db = first.app.db.clone();
        first.stop().await;

        // The run's node is gone; cancelRun lands on another node while the
        // run has no driver (as the mutation stores it: status and STATUS event).
        let run = RunRow::find(&mut db.conn().await.unwrap(), &run_id).await.unwrap().unwrap();
        let cancel = tidewatch::runs::events::status_event(&run, RunStatus::Cancelled, Some("cancelled by owner"));
        let at = tidewatch::db::now();
        db.transaction(async |conn| RunRow::transition(conn, &run.id, &ACTIVE_STATUSES, RunStatus::Cancelled, &cancel, at).await)
            .await
            .unwrap()
            .expect("the run was active");

        let second = TestApp::builder(backend).database(database).start().await;
        let mut socket = second.subscribed_socket(Protocol::TransportWs, json!({ "token": token })).await;
        socket.subscribe("1", &run_events(&run_id, 0)).await;
        let seen = until_complete(&mut socket, "1").await;
        assert_contiguous(&seqs(&seen));
        assert_eq!(seen.last().unwrap()["kind"], "DONE");
        assert_eq!(seen.last().unwrap()["data"]["status"], "CANCELLED");
        assert_eq!(seen.iter().filter(|e| e["kind"] == "DONE").count(), 1);

        let run = run_state(&second, &token, &run_id).await;
        assert_eq!(run["status"], "CANCELLED");
        assert!(run["passed"].as_i64().unwrap() >= 2, "{run}");
        assert_eq!(run["passed"].as_i64().unwrap() + run["skipped"].as_i64().unwrap(), 8, "{run}");
        let open = second.graphql(Some(&token), "query($id: ID!) { run(id: $id) { pending: results(status: PENDING) { totalCount } running: results(status: RUNNING) { totalCount } } }",
            json!({ "id": run_id })).await.ok();
        assert_eq!(open.data("run.pending.totalCount"), 0);
        assert_eq!(open.data("run.running.totalCount"), 0);
    }
}

backend_test! {
    async fn project_runs_tells_each_status_once(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let (owner, project) = slow_project(&app, &target, 2, 50).await;
        let token = owner.access_token.clone();
        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": token })).await;
        socket.subscribe("dashboard", &format!("subscription {{ projectRuns(projectId: \"{project}\") {{ id status passed }} }}")).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let first = start(&app, &token, json!({ "projectId": project })).await;
        let mut done_socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": token })).await;
        done_socket.subscribe("1", &run_events(&first, 0)).await;
        until_complete(&mut done_socket, "1").await;
        // A second run: its first message comes after everything of the first.
        let second = start(&app, &token, json!({ "projectId": project })).await;

        let mut heard = Vec::new();
        loop {
            let run = socket.next_payload().await["data"]["projectRuns"].clone();
            if run["id"] == second.as_str() {
                break;
            }
            heard.push(run);
        }
        let statuses: Vec<&str> = heard.iter().map(|run| run["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["RUNNING", "PASSED"], "{heard:?}");
        assert_eq!(heard[1]["passed"], 2);
        assert!(is_final(&finished(&app, &token, &second).await));
    }
}

/// Cuts every connection to the test's PostgreSQL database, as a server restart does.
async fn terminate_backends(app: &TestApp) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let admin_url = crate::support::postgres_url().expect("TEST_DATABASE_URL");
    let name = app.database.url.rsplit('/').next().unwrap();
    let name = name.split('?').next().unwrap().to_owned();
    let mut conn = AsyncPgConnection::establish(&admin_url).await.unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_run_is_survived_exactly() {
    if crate::support::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL is not set; PostgreSQL restart test not run");
        return;
    }
    let app = TestApp::start(Backend::Postgres).await;
    let target = TargetServer::start().await;
    let (owner, project) = slow_project(&app, &target, 20, 150).await;
    let token = owner.access_token.clone();
    let run_id = start(
        &app,
        &token,
        json!({ "projectId": project, "maxWorkers": 2 }),
    )
    .await;
    let mut socket = app
        .subscribed_socket(Protocol::TransportWs, json!({ "token": token }))
        .await;
    socket.subscribe("1", &run_events(&run_id, 0)).await;
    wait_for(&app, &token, &run_id, Duration::from_secs(30), |run| {
        run["passed"].as_i64().unwrap() >= 4
    })
    .await;

    terminate_backends(&app).await;

    // Requests on connections cut mid-way may fail once; the run must not.
    let started = std::time::Instant::now();
    let run = loop {
        let reply = app
            .graphql(
                Some(&token),
                "query($id: ID!) { run(id: $id) { status passed } }",
                json!({ "id": run_id }),
            )
            .await;
        if reply.0["errors"].is_null() && is_final(reply.data("run")) {
            break reply.data("run").clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the run did not end: {}",
            reply.0
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(run["status"], "PASSED", "{run}");
    assert_eq!(run["passed"], 20);
    let seen = until_complete(&mut socket, "1").await;
    assert_contiguous(&seqs(&seen));
    assert_eq!(seen.iter().filter(|e| e["kind"] == "DONE").count(), 1);
    assert_eq!(seen, events(&app, &token, &run_id, 0).await);
}

backend_test! {
    async fn subscribers_of_one_run_share_one_bus_subscription_per_node(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let token = owner.access_token.clone();
        let project = app.create_project(&token, "shared").await;
        let gated = crate::runs::get(&target.url("/gate"), json!([{ "status": { "equals": 200 } }]));
        crate::runs::case(&app, &token, &project, "gate", gated).await;
        let run_id = start(&app, &token, json!({ "projectId": project })).await;
        let topic = tidewatch::runs::events::run_topic(&run_id);

        let mut sockets = Vec::new();
        for _ in 0..2 {
            let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": token })).await;
            for id in ["a", "b", "c"] {
                socket.subscribe(id, &run_events(&run_id, 0)).await;
            }
            sockets.push(socket);
        }
        // Each of the six subscribers has had an event: all six feeds are open.
        for socket in &mut sockets {
            let mut seen = std::collections::HashSet::new();
            while seen.len() < 3 {
                let message = socket.next_json().await.expect("socket open");
                assert_eq!(message["type"], "next", "{message}");
                seen.insert(message["id"].as_str().unwrap_or_default().to_owned());
            }
        }
        assert_eq!(app.app.run_hub.runs(), 1);
        assert_eq!(app.app.bus.subscribers(&topic), 1, "one bus subscription for six subscribers");

        target.open_gate();
        let mut kinds = Vec::new();
        for socket in &mut sockets {
            kinds.extend(last_kinds(socket, &["a", "b", "c"]).await);
        }
        assert!(kinds.iter().all(|kind| kind == "DONE"), "{kinds:?}");
        drop(sockets);
        crate::support::wait::until("the shared subscription ends with its subscribers", || async {
            let (runs, live) = (app.app.run_hub.runs(), app.app.bus.subscribers(&topic));
            if runs == 0 && live == 0 { Ok(()) } else { Err((runs, live)) }
        }).await;
        finished(&app, &token, &run_id).await;
    }
}

/// The kind of the last event of each subscription on `socket`, once all have completed.
async fn last_kinds(socket: &mut Socket, ids: &[&str]) -> Vec<String> {
    let mut last: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut completed = 0;
    while completed < ids.len() {
        let message = socket.next_json().await.expect("socket open");
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("next") => {
                let kind = message["payload"]["data"]["runEvents"]["kind"]
                    .as_str()
                    .unwrap_or_default();
                last.insert(id, kind.to_owned());
            }
            Some("complete") => completed += 1,
            _ => {}
        }
    }
    ids.iter()
        .map(|id| last.get(*id).cloned().unwrap_or_default())
        .collect()
}
