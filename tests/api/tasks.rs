//! Scheduled tasks: previews and bad input, firing with live events, exactly
//! once across two nodes, misfires after a restart, policies, run-now, roles.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::{http_case, Account};
use crate::support::target::TargetServer;
use crate::support::websocket::Protocol;
use crate::support::{wait, Backend, TestApp};

const CREATE: &str = "mutation($input: CreateTaskInput!) { createTask(input: $input) {
    id name state enabled paused schedule { cron timezone } policy { concurrency misfire maxRunSeconds }
    nextFireAt nextFireTimes(count: 3)
    action { __typename ... on RunCasesAction { caseIds tags } ... on PurgeAction { olderThanDays targets } ... on ProbeServersAction { serverIds } } } }";
const FIRES: &str = "query($id: ID!, $after: String) { task(id: $id) { fires(first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id fireAt trigger outcome reason missedCount runId latenessMs run { id trigger taskId status } } } } }";

fn purge() -> Value {
    json!({ "purge": { "olderThanDays": 3650, "targets": ["RUNS", "LOGS", "AUDIT"] } })
}

async fn create_task(app: &TestApp, user: &Account, input: Value) -> Value {
    app.graphql(Some(&user.access_token), CREATE, json!({ "input": input }))
        .await
        .ok()
        .data("createTask")
        .clone()
}

async fn task_mutation(app: &TestApp, user: &Account, name: &str, id: &str) -> Value {
    let query = format!("mutation($id: ID!) {{ {name}(id: $id) {{ id state enabled paused }} }}");
    app.graphql(Some(&user.access_token), &query, json!({ "id": id }))
        .await
        .ok()
        .data(name)
        .clone()
}

/// Every fire of the task, newest first.
async fn fires(app: &TestApp, user: &Account, task_id: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = Value::Null;
    loop {
        let reply = app
            .graphql(
                Some(&user.access_token),
                FIRES,
                json!({ "id": task_id, "after": after }),
            )
            .await
            .ok();
        let page = reply.data("task.fires").clone();
        all.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            return all;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// Polls the task's fires until `done` holds (under the common deadline).
async fn wait_for_fires(
    app: &TestApp,
    user: &Account,
    task_id: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    wait::until("task fires", || async {
        let seen = fires(app, user, task_id).await;
        if done(&seen) {
            Ok(seen)
        } else {
            Err(seen)
        }
    })
    .await
}

fn with_outcome<'a>(fires: &'a [Value], outcome: &str) -> Vec<&'a Value> {
    fires
        .iter()
        .filter(|fire| fire["outcome"] == outcome)
        .collect()
}

backend_test! {
    async fn schedules_are_previewed_and_bad_input_is_named(backend: Backend) {
        let app = TestApp::start(backend).await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "sched").await;
        let preview = "query($cron: String!, $tz: String, $count: Int) { previewSchedule(cron: $cron, timezone: $tz, count: $count) }";

        let times = app.graphql(Some(&owner.access_token), preview, json!({ "cron": "0 */30 * * * *", "count": 4 })).await.ok();
        let times: Vec<chrono::DateTime<chrono::Utc>> = serde_json::from_value(times.data("previewSchedule").clone()).unwrap();
        assert_eq!(times.len(), 4);
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], chrono::TimeDelta::minutes(30));
        }
        assert!(times.iter().all(|t| chrono::Timelike::second(t) == 0 && chrono::Timelike::minute(t) % 30 == 0));
        let shanghai = app.graphql(Some(&owner.access_token), preview, json!({ "cron": "0 9 * * *", "tz": "Asia/Shanghai", "count": 1 })).await.ok();
        assert!(shanghai.data("previewSchedule.0").as_str().unwrap().contains("T01:00:00"), "{:?}", shanghai.data("previewSchedule"));
        let hourly = app.graphql(Some(&owner.access_token), preview, json!({ "cron": "@hourly" })).await.ok();
        assert_eq!(hourly.data("previewSchedule").as_array().unwrap().len(), 5);

        for (cron, tz, field) in [("61 * * * * *", "UTC", "schedule.cron"), ("* * *", "UTC", "schedule.cron"),
                                  ("0 0 30 2 *", "UTC", "schedule.cron"), ("* * * * *", "Mars/Olympus", "schedule.timezone")] {
            let bad = app.graphql(Some(&owner.access_token), preview, json!({ "cron": cron, "tz": tz })).await;
            assert_eq!(bad.code(), "BAD_USER_INPUT", "{cron}");
            assert_eq!(bad.extension("field"), field, "{cron}");
            let created = app.graphql(Some(&owner.access_token), CREATE, json!({ "input": {
                "projectId": project, "name": "bad", "schedule": { "cron": cron, "timezone": tz }, "action": purge() } })).await;
            assert_eq!(created.code(), "BAD_USER_INPUT", "{cron}");
            assert_eq!(created.extension("field"), field);
        }
        let count = app.graphql(Some(&owner.access_token), preview, json!({ "cron": "@daily", "count": 0 })).await;
        assert_eq!(count.extension("field"), "count");

        let input = |name: &str, action: Value, policy: Value| json!({ "input": { "projectId": project, "name": name,
            "schedule": { "cron": "0 0 3 * * *" }, "action": action, "policy": policy } });
        for (action, policy, field) in [
            (json!({ "runCases": { "caseIds": ["nope"] } }), json!(null), "action.runCases.caseIds"),
            (json!({ "runCases": { "environmentId": "nope" } }), json!(null), "action.runCases.environmentId"),
            (json!({ "runCases": { "maxWorkers": 0 } }), json!(null), "action.runCases.maxWorkers"),
            (json!({ "probeServers": { "serverIds": ["nope"] } }), json!(null), "action.probeServers.serverIds"),
            (json!({ "purge": { "olderThanDays": 0, "targets": ["RUNS"] } }), json!(null), "action.purge.olderThanDays"),
            (json!({ "purge": { "olderThanDays": 3, "targets": [] } }), json!(null), "action.purge.targets"),
            (purge(), json!({ "maxRunSeconds": -5 }), "policy.maxRunSeconds"),
        ] {
            let bad = app.graphql(Some(&owner.access_token), CREATE, input("t", action, policy)).await;
            assert_eq!(bad.code(), "BAD_USER_INPUT", "{field}");
            assert_eq!(bad.extension("field"), field);
        }
        let two_actions = app.graphql(Some(&owner.access_token), CREATE,
            input("t", json!({ "purge": { "olderThanDays": 3, "targets": ["RUNS"] }, "runCases": {} }), json!(null))).await;
        assert_eq!(two_actions.code(), "BAD_USER_INPUT");
        let blank = app.graphql(Some(&owner.access_token), CREATE, input("  ", purge(), json!(null))).await;
        assert_eq!(blank.extension("field"), "name");

        let task = create_task(&app, &owner, input("nightly", purge(), json!({ "concurrency": "QUEUE", "maxRunSeconds": 600 }))["input"].clone()).await;
        assert_eq!(task["state"], "ACTIVE");
        assert_eq!(task["schedule"], json!({ "cron": "0 0 3 * * *", "timezone": "UTC" }));
        assert_eq!(task["policy"], json!({ "concurrency": "QUEUE", "misfire": "RUN_ONCE", "maxRunSeconds": 600 }));
        assert_eq!(task["action"], json!({ "__typename": "PurgeAction", "olderThanDays": 3650, "targets": ["RUNS", "LOGS", "AUDIT"] }));
        assert!(task["nextFireTimes"][0].as_str().unwrap().ends_with("T03:00:00+00:00"), "{task}");
        assert_eq!(task["nextFireAt"], task["nextFireTimes"][0]);
        let again = app.graphql(Some(&owner.access_token), CREATE, input("nightly", purge(), json!(null))).await;
        assert_eq!(again.code(), "CONFLICT");

        let update = "mutation($id: ID!, $input: UpdateTaskInput!) { updateTask(id: $id, input: $input) { schedule { cron timezone } nextFireTimes(count: 1) policy { maxRunSeconds } } }";
        let updated = app.graphql(Some(&owner.access_token), update, json!({ "id": task["id"],
            "input": { "schedule": { "cron": "@weekly", "timezone": "Europe/Berlin" }, "policy": { "maxRunSeconds": 0 } } })).await.ok();
        assert_eq!(updated.data("updateTask.schedule"), &json!({ "cron": "@weekly", "timezone": "Europe/Berlin" }));
        assert_eq!(updated.data("updateTask.policy"), &json!({ "maxRunSeconds": null }));
        let bad_update = app.graphql(Some(&owner.access_token), update, json!({ "id": task["id"], "input": { "schedule": { "cron": "nope" } } })).await;
        assert_eq!(bad_update.extension("field"), "schedule.cron");
        let paused = task_mutation(&app, &owner, "pauseTask", task["id"].as_str().unwrap()).await;
        assert_eq!(paused["state"], "PAUSED");
        let next = app.graphql(Some(&owner.access_token), "query($id: ID!) { task(id: $id) { nextFireAt nextFireTimes(count: 2) } }", json!({ "id": task["id"] })).await.ok();
        assert_eq!(next.data("task")["nextFireAt"], Value::Null);
        assert_eq!(next.data("task.nextFireTimes").as_array().unwrap().len(), 2);
        assert_eq!(task_mutation(&app, &owner, "disableTask", task["id"].as_str().unwrap()).await["state"], "DISABLED");
        assert_eq!(task_mutation(&app, &owner, "enableTask", task["id"].as_str().unwrap()).await["state"], "PAUSED");
        assert_eq!(task_mutation(&app, &owner, "resumeTask", task["id"].as_str().unwrap()).await["state"], "ACTIVE");

        let unknown = app.graphql(Some(&owner.access_token), "query { task(id: \"nope\") { id } }", json!({})).await;
        assert_eq!(unknown.code(), "NOT_FOUND");
        let listed = app.graphql(Some(&owner.access_token), "query($p: ID!) { tasks(projectId: $p) { totalCount nodes { name } } }", json!({ "p": project })).await.ok();
        assert_eq!(listed.data("tasks.totalCount"), 1);
        let deleted = app.graphql(Some(&owner.access_token), "mutation($id: ID!) { deleteTask(id: $id) }", json!({ "id": task["id"] })).await.ok();
        assert_eq!(deleted.data("deleteTask"), &task["id"]);
        let gone = app.graphql(Some(&owner.access_token), "query($id: ID!) { task(id: $id) { id } }", json!({ "id": task["id"] })).await;
        assert_eq!(gone.code(), "NOT_FOUND");
    }
}

backend_test! {
    async fn viewers_read_tasks_members_run_them_purges_need_maintainers(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let member = app.register("member").await;
        let viewer = app.register("viewer").await;
        let stranger = app.register("stranger").await;
        let project = app.create_project(&owner.access_token, "roles").await;
        app.add_member(&owner.access_token, &project, &member.id, "MEMBER").await;
        app.add_member(&owner.access_token, &project, &viewer.id, "VIEWER").await;
        app.create_case(&owner.access_token, http_case(&project, "ok", &target.url("/status/200"))).await.ok();
        let runs_cases = |name: &str| json!({ "projectId": project, "name": name, "schedule": { "cron": "0 0 3 * * *" }, "action": { "runCases": {} } });

        let denied = app.graphql(Some(&viewer.access_token), CREATE, json!({ "input": runs_cases("v") })).await;
        assert_eq!(denied.code(), "FORBIDDEN");
        let hidden = app.graphql(Some(&stranger.access_token), CREATE, json!({ "input": runs_cases("s") })).await;
        assert_eq!(hidden.code(), "NOT_FOUND");
        let purge_task = app.graphql(Some(&member.access_token), CREATE, json!({ "input": {
            "projectId": project, "name": "p", "schedule": { "cron": "@daily" }, "action": purge() } })).await;
        assert_eq!(purge_task.code(), "FORBIDDEN");

        let task = create_task(&app, &member, runs_cases("daily")).await;
        let id = task["id"].as_str().unwrap();
        let read = app.graphql(Some(&viewer.access_token), "query($id: ID!) { task(id: $id) { name } }", json!({ "id": id })).await.ok();
        assert_eq!(read.data("task.name"), "daily");
        let unseen = app.graphql(Some(&stranger.access_token), "query($id: ID!) { task(id: $id) { name } }", json!({ "id": id })).await;
        assert_eq!(unseen.code(), "NOT_FOUND");
        for mutation in ["pauseTask", "runTaskNow", "deleteTask"] {
            let query = format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ __typename }} }}");
            let query = if mutation == "deleteTask" { "mutation($id: ID!) { deleteTask(id: $id) }".to_owned() } else { query };
            let reply = app.graphql(Some(&viewer.access_token), &query, json!({ "id": id })).await;
            assert_eq!(reply.code(), "FORBIDDEN", "{mutation}");
            let reply = app.graphql(Some(&stranger.access_token), &query, json!({ "id": id })).await;
            assert_eq!(reply.code(), "NOT_FOUND", "{mutation}");
        }
        let now = app.graphql(Some(&member.access_token), "mutation($id: ID!) { runTaskNow(id: $id) { trigger outcome run { trigger taskId startedById } } }", json!({ "id": id })).await.ok();
        assert_eq!(now.data("runTaskNow.trigger"), "MANUAL");
        assert_eq!(now.data("runTaskNow.outcome"), "STARTED");
        assert_eq!(now.data("runTaskNow.run"), &json!({ "trigger": "MANUAL", "taskId": id, "startedById": member.id }));
    }
}

backend_test! {
    async fn a_per_second_task_fires_runs_and_streams_its_events(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "live").await;
        app.create_case(&owner.access_token, http_case(&project, "ok", &target.url("/status/200"))).await.ok();
        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": owner.access_token })).await;
        socket.subscribe("1", &format!("subscription {{ taskEvents(projectId: \"{project}\") {{ kind taskName runId fire {{ outcome trigger fireAt }} }} }}")).await;

        let task = create_task(&app, &owner, json!({ "projectId": project, "name": "every second",
            "schedule": { "cron": "* * * * * *" }, "action": { "runCases": {} }, "policy": { "concurrency": "ALLOW" } })).await;
        let id = task["id"].as_str().unwrap().to_owned();
        let mut fired = Vec::new();
        while fired.len() < 3 {
            let event = socket.next_payload().await["data"]["taskEvents"].clone();
            // The subscription may start after createTask published CREATED.
            if event["kind"] == "CREATED" {
                assert_eq!(event["taskName"], "every second");
                continue;
            }
            assert_eq!(event["kind"], "FIRED", "{event}");
            assert_eq!(event["fire"]["trigger"], "SCHEDULE");
            assert!(event["runId"].is_string());
            fired.push(event);
        }
        let times: Vec<&str> = fired.iter().map(|e| e["fire"]["fireAt"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|pair| pair[0] < pair[1]), "{times:?}");

        assert_eq!(task_mutation(&app, &owner, "pauseTask", &id).await["state"], "PAUSED");
        let before = fires(&app, &owner, &id).await.len();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(fires(&app, &owner, &id).await.len(), before, "a paused task does not fire");

        let seen = fires(&app, &owner, &id).await;
        for fire in &seen {
            assert_eq!(fire["outcome"], "STARTED", "{fire}");
            assert_eq!(fire["run"]["trigger"], "SCHEDULE");
            assert_eq!(fire["run"]["taskId"], id.as_str());
            // How late fires start is measured by `benches/scheduler.rs`, not asserted here.
            assert!(fire["latenessMs"].as_i64().unwrap() >= 0, "{fire}");
        }
        let summary = app.graphql(Some(&owner.access_token), "query($id: ID!) { task(id: $id) { runs { totalCount } lastRun { id taskId } } }", json!({ "id": id })).await.ok();
        assert_eq!(summary.data("task.runs.totalCount").as_u64().unwrap() as usize, seen.len());
        assert_eq!(summary.data("task.lastRun.id"), &seen[0]["runId"]);
        let runs = app.graphql(Some(&owner.access_token), "query($p: ID!, $t: ID!) { runs(projectId: $p, filter: { taskId: $t }) { totalCount } }",
            json!({ "p": project, "t": id })).await.ok();
        assert_eq!(runs.data("runs.totalCount").as_u64().unwrap() as usize, seen.len());
    }
}

backend_test! {
    async fn two_nodes_on_one_database_claim_every_fire_once(backend: Backend) {
        let first = TestApp::start(backend).await;
        let owner = first.register("owner").await;
        let project = first.create_project(&owner.access_token, "twins").await;
        let task = create_task(&first, &owner, json!({ "projectId": project, "name": "tick",
            "schedule": { "cron": "* * * * * *" }, "action": purge(), "policy": { "concurrency": "ALLOW" } })).await;
        let id = task["id"].as_str().unwrap().to_owned();
        let second = TestApp::builder(backend).database(first.database.clone()).start().await;

        wait_for_fires(&first, &owner, &id, |fires| fires.len() >= 22).await;
        task_mutation(&first, &owner, "disableTask", &id).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let seen = fires(&second, &owner, &id).await;
        // Disabled through the first node, the task stopped on both at once.
        tokio::time::sleep(Duration::from_millis(2000)).await;
        assert_eq!(fires(&second, &owner, &id).await.len(), seen.len(), "no fire after disabling");
        assert!(seen.len() >= 22, "{}", seen.len());
        let mut times: Vec<chrono::DateTime<chrono::Utc>> = seen.iter()
            .map(|fire| chrono::DateTime::parse_from_rfc3339(fire["fireAt"].as_str().unwrap()).unwrap().into()).collect();
        let unique: HashSet<_> = times.iter().collect();
        assert_eq!(unique.len(), times.len(), "every fire time claimed once");
        times.sort();
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], chrono::TimeDelta::seconds(1), "no second skipped: {times:?}");
        }
        let run_ids: HashSet<&str> = seen.iter().map(|fire| fire["runId"].as_str().expect("every fire started a run")).collect();
        assert_eq!(run_ids.len(), seen.len());
        assert!(seen.iter().all(|fire| fire["outcome"] == "STARTED"));
        let runs = second.graphql(Some(&owner.access_token), "query($id: ID!) { task(id: $id) { runs { totalCount } } }", json!({ "id": id })).await.ok();
        assert_eq!(runs.data("task.runs.totalCount").as_u64().unwrap() as usize, seen.len());
    }
}

backend_test! {
    async fn fires_missed_while_down_follow_the_misfire_policy(backend: Backend) {
        let first = TestApp::start(backend).await;
        let owner = first.register("owner").await;
        let project = first.create_project(&owner.access_token, "downtime").await;
        let make = |name: &str, misfire: &str| json!({ "projectId": project, "name": name,
            "schedule": { "cron": "* * * * * *" }, "action": purge(), "policy": { "misfire": misfire, "concurrency": "ALLOW" } });
        let once = create_task(&first, &owner, make("once", "RUN_ONCE")).await["id"].as_str().unwrap().to_owned();
        let skip = create_task(&first, &owner, make("skip", "SKIP")).await["id"].as_str().unwrap().to_owned();
        wait_for_fires(&first, &owner, &once, |fires| !fires.is_empty()).await;
        wait_for_fires(&first, &owner, &skip, |fires| !fires.is_empty()).await;
        let database = first.database.clone();
        first.stop().await;
        tokio::time::sleep(Duration::from_secs(5)).await;

        let second = TestApp::builder(backend).database(database).start().await;
        let seen = wait_for_fires(&second, &owner, &once,
            |fires| fires.iter().any(|f| f["reason"].as_str().is_some_and(|r| r.starts_with("catch-up")))).await;
        let missed = with_outcome(&seen, "MISSED");
        assert_eq!(missed.len(), 1, "{seen:?}");
        assert!(missed[0]["missedCount"].as_i64().unwrap() >= 2, "{seen:?}");
        let catch_up: Vec<&Value> = seen.iter().filter(|f| f["reason"].as_str().is_some_and(|r| r.starts_with("catch-up"))).collect();
        assert_eq!(catch_up.len(), 1);
        assert_eq!(catch_up[0]["outcome"], "STARTED");

        let seen = wait_for_fires(&second, &owner, &skip, |fires| !with_outcome(fires, "MISSED").is_empty()).await;
        let missed = with_outcome(&seen, "MISSED");
        assert_eq!(missed.len(), 1);
        assert!(missed[0]["missedCount"].as_i64().unwrap() >= 3, "{seen:?}");
        assert!(!seen.iter().any(|f| f["reason"].as_str().is_some_and(|r| r.starts_with("catch-up"))));
        // And the schedule goes on after the restart, each second claimed once.
        let after = wait_for_fires(&second, &owner, &skip, |fires| fires.len() >= seen.len() + 2).await;
        let times: HashSet<&str> = after.iter().map(|f| f["fireAt"].as_str().unwrap()).collect();
        assert_eq!(times.len(), after.len());
    }
}

backend_test! {
    async fn concurrency_policies_time_outs_and_resume_are_applied(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "policies").await;
        let slow = app.create_case(&owner.access_token, http_case(&project, "slow", &target.url("/slow/2500"))).await.ok();
        let slow = slow.data("createCase.case.id").as_str().unwrap().to_owned();
        let make = |name: &str, cron: &str, policy: Value| json!({ "projectId": project, "name": name,
            "schedule": { "cron": cron }, "action": { "runCases": { "caseIds": [slow] } }, "policy": policy });

        let forbid = create_task(&app, &owner, make("forbid", "* * * * * *", json!({ "concurrency": "FORBID" }))).await["id"].as_str().unwrap().to_owned();
        let queue = create_task(&app, &owner, make("queue", "* * * * * *", json!({ "concurrency": "QUEUE" }))).await["id"].as_str().unwrap().to_owned();
        let seen = wait_for_fires(&app, &owner, &forbid, |fires| with_outcome(fires, "SKIPPED").len() >= 2).await;
        assert!(with_outcome(&seen, "SKIPPED").iter().all(|f| f["reason"].as_str().unwrap().contains("still active")));
        let queued = wait_for_fires(&app, &owner, &queue, |fires| {
            fires.iter().any(|f| f["reason"] == "started when the previous run ended" && f["outcome"] == "STARTED")
        }).await;
        assert!(with_outcome(&queued, "SKIPPED").iter().all(|f| f["reason"].as_str().unwrap().contains("already waits")), "{queued:?}");
        task_mutation(&app, &owner, "disableTask", &forbid).await;
        task_mutation(&app, &owner, "disableTask", &queue).await;

        // A run past the maximum run time is cancelled with reason TIMED_OUT.
        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": owner.access_token })).await;
        socket.subscribe("1", &format!("subscription {{ taskEvents(projectId: \"{project}\") {{ kind runId }} }}")).await;
        app.subscribed_to(&tidewatch::tasks::events::project_tasks_topic(&project), 1).await;
        let limited = create_task(&app, &owner, make("limited", "0 0 3 * * *", json!({ "maxRunSeconds": 1 }))).await["id"].as_str().unwrap().to_owned();
        let fire = app.graphql(Some(&owner.access_token), "mutation($id: ID!) { runTaskNow(id: $id) { runId } }", json!({ "id": limited })).await.ok();
        let run_id = fire.data("runTaskNow.runId").as_str().unwrap().to_owned();
        loop {
            let event = socket.next_payload().await["data"]["taskEvents"].clone();
            if event["kind"] == "TIMED_OUT" {
                assert_eq!(event["runId"], run_id.as_str());
                break;
            }
        }
        let run = app.graphql(Some(&owner.access_token), "query($id: ID!) { run(id: $id) { status events { kind data } } }", json!({ "id": run_id })).await.ok();
        assert_eq!(run.data("run.status"), "CANCELLED");
        let events = run.data("run.events").as_array().unwrap();
        assert!(events.iter().any(|e| e["kind"] == "STATUS" && e["data"]["reason"].as_str().is_some_and(|r| r.starts_with("TIMED_OUT"))), "{events:?}");

        // Paused fires are owed on resume: SKIP records them as missed.
        let paused = create_task(&app, &owner, make("paused", "* * * * * *", json!({ "misfire": "SKIP", "concurrency": "ALLOW" }))).await["id"].as_str().unwrap().to_owned();
        task_mutation(&app, &owner, "pauseTask", &paused).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        task_mutation(&app, &owner, "resumeTask", &paused).await;
        let seen = wait_for_fires(&app, &owner, &paused, |fires| !with_outcome(fires, "MISSED").is_empty()).await;
        assert!(with_outcome(&seen, "MISSED")[0]["missedCount"].as_i64().unwrap() >= 1, "{seen:?}");
    }
}

backend_test! {
    async fn probe_and_purge_tasks_run_as_steps(backend: Backend) {
        let app = TestApp::start(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "ops").await;
        let address = target.url("").trim_start_matches("http://").to_owned();
        app.graphql(Some(&owner.access_token), "mutation($input: CreateServerInput!) { createServer(input: $input) { server { id } } }",
            json!({ "input": { "projectId": project, "kind": "TCP", "name": "target", "address": address } })).await.ok();
        let probe = create_task(&app, &owner, json!({ "projectId": project, "name": "probe", "enabled": false,
            "schedule": { "cron": "0 */5 * * * *" }, "action": { "probeServers": {} } })).await;
        assert_eq!(probe["state"], "DISABLED");
        let purge_task = create_task(&app, &owner, json!({ "projectId": project, "name": "purge",
            "schedule": { "cron": "@daily" }, "action": { "purge": { "olderThanDays": 1, "targets": ["AUDIT"] } } })).await;

        let result = "query($id: ID!) { run(id: $id) { status total passed results { nodes { kind name status message } } } }";
        for (task, kind, words) in [(&probe, "PROBE", "is up"), (&purge_task, "PURGE", "deleted 0 audit entries")] {
            let fire = app.graphql(Some(&owner.access_token), "mutation($id: ID!) { runTaskNow(id: $id) { outcome runId } }", json!({ "id": task["id"] })).await.ok();
            assert_eq!(fire.data("runTaskNow.outcome"), "STARTED");
            let run_id = fire.data("runTaskNow.runId").as_str().unwrap().to_owned();
            let run = wait::until("the run ends", || async {
                let run = app.graphql(Some(&owner.access_token), result, json!({ "id": run_id })).await.ok().data("run").clone();
                if run["status"] != "QUEUED" && run["status"] != "RUNNING" { Ok(run) } else { Err(run) }
            }).await;
            assert_eq!(run["status"], "PASSED", "{run}");
            assert_eq!(run["total"], 1);
            let step = &run["results"]["nodes"][0];
            assert_eq!(step["kind"], kind);
            assert!(step["message"].as_str().unwrap().contains(words), "{step}");
        }
        let status = app.graphql(Some(&owner.access_token), "query($p: ID!) { servers(projectId: $p) { nodes { status } } }", json!({ "p": project })).await;
        assert_eq!(status.ok().data("servers.nodes.0.status"), "UP");
    }
}

backend_test! {
    async fn purge_trims_old_fires_but_keeps_each_tasks_latest(backend: Backend) {
        use tidewatch::tasks::model::{FireOutcome, FireRow, TaskTrigger};

        let app = TestApp::start(backend).await;
        let owner = app.register("owner").await;
        let project = app.create_project(&owner.access_token, "retention").await;
        let ticker = create_task(&app, &owner, json!({ "projectId": project, "name": "ticker", "enabled": false,
            "schedule": { "cron": "@daily" }, "action": purge() })).await["id"].as_str().unwrap().to_owned();
        let old = |days: i64| {
            let at = (chrono::Utc::now() - chrono::TimeDelta::days(days)).naive_utc().date().and_hms_opt(0, 0, 0).unwrap();
            FireRow { id: uuid::Uuid::now_v7().to_string(), task_id: ticker.clone(), project_id: project.clone(), fire_at: at,
                trigger_kind: TaskTrigger::Schedule, outcome: FireOutcome::Skipped, reason: Some("old".into()), missed_count: 0,
                run_id: None, node: "test".into(), claimed_at: at, started_at: None }
        };
        let claimed = tidewatch::tasks::fire::claim(&app.app, &[old(10), old(9), old(8)]).await.unwrap();
        assert_eq!(claimed.len(), 3);

        let cleaner = create_task(&app, &owner, json!({ "projectId": project, "name": "cleaner", "enabled": false,
            "schedule": { "cron": "@daily" }, "action": { "purge": { "olderThanDays": 1, "targets": ["RUNS"] } } })).await;
        let fire = app.graphql(Some(&owner.access_token), "mutation($id: ID!) { runTaskNow(id: $id) { runId } }", json!({ "id": cleaner["id"] })).await.ok();
        let run_id = fire.data("runTaskNow.runId").as_str().unwrap().to_owned();
        let run = wait::until("the purge run passes", || async {
            let run = app.graphql(Some(&owner.access_token), "query($id: ID!) { run(id: $id) { status results { nodes { message } } } }",
                json!({ "id": run_id })).await.ok().data("run").clone();
            if run["status"] == "PASSED" { Ok(run) } else { Err(run) }
        }).await;
        let message = run["results"]["nodes"][0]["message"].as_str().unwrap();
        assert!(message.contains("0 runs, 2 task fires"), "{message}");
        let left = fires(&app, &owner, &ticker).await;
        assert_eq!(left.len(), 1, "{left:?}");
        let kept: chrono::DateTime<chrono::Utc> = serde_json::from_value(left[0]["fireAt"].clone()).unwrap();
        assert_eq!((chrono::Utc::now() - kept).num_days(), 8);
    }
}
