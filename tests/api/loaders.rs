//! DataLoaders: a list of many items costs the statements of a list of one,
//! every item gets its own data in its own order, and a batch gathered from
//! several callers gives none of them what another's project holds.

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::{http_case, Account, Reply};
use crate::support::target::TargetServer;
use crate::support::{wait, Backend, TestApp};

/// A node whose loaders gather keys for 100 ms, so a slow debug build under a
/// parallel test load still puts every key of a page into one batch.
async fn batching_node(backend: Backend) -> TestApp {
    TestApp::builder(backend)
        .config(|config| config.limits.batch_window_ms = 100)
        .start()
        .await
}

/// The reply to `query` and the fewest statements it took over three reads:
/// background work (run takeover scans, the task planner) counts statements
/// too and can only add.
async fn fewest_statements(
    app: &TestApp,
    user: &Account,
    query: &str,
    variables: Value,
) -> (u64, Reply) {
    let mut fewest = u64::MAX;
    let mut reply = None;
    for _ in 0..3 {
        let before = app.app.db.statements_run();
        let answer = app
            .graphql(Some(&user.access_token), query, variables.clone())
            .await
            .ok();
        fewest = fewest.min(app.app.db.statements_run() - before);
        reply = Some(answer);
    }
    (fewest, reply.expect("three reads"))
}

/// Fires `task` now; returns the id of the run it started.
async fn run_now(app: &TestApp, user: &Account, task: &str) -> String {
    let fire = app
        .graphql(
            Some(&user.access_token),
            "mutation($id: ID!) { runTaskNow(id: $id) { outcome runId } }",
            json!({ "id": task }),
        )
        .await
        .ok();
    assert_eq!(fire.data("runTaskNow.outcome"), "STARTED");
    fire.data("runTaskNow.runId").as_str().unwrap().to_owned()
}

/// Waits until no run of the project is queued, running or paused, so the
/// executor's writes do not count in a measurement.
async fn wait_for_runs_to_finish(app: &TestApp, user: &Account, project: &str) {
    wait::until("runs finished", || async {
        let reply = app
            .graphql(
                Some(&user.access_token),
                "query($p: ID!) { runs(projectId: $p, first: 100) { nodes { status } } }",
                json!({ "p": project }),
            )
            .await
            .ok();
        let statuses: Vec<String> = reply
            .data("runs.nodes")
            .as_array()
            .unwrap()
            .iter()
            .map(|run| run["status"].as_str().unwrap().to_owned())
            .collect();
        if statuses
            .iter()
            .all(|status| !["QUEUED", "RUNNING", "PAUSED"].contains(&status.as_str()))
        {
            Ok(())
        } else {
            Err(statuses)
        }
    })
    .await;
}

const TASKS: &str = "query($p: ID!) { tasks(projectId: $p, first: 100) {
    nodes { id lastRun { id taskId } } } }";
const FIRES: &str = "query($id: ID!) { task(id: $id) { fires(first: 100) {
    nodes { runId run { id taskId } } } } }";

backend_test! {
    async fn task_last_runs_and_fire_runs_cost_the_same_for_one_or_many(backend: Backend) {
        let app = batching_node(backend).await;
        let target = TargetServer::start().await;
        let owner = app.register("owner").await;
        let create = "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }";
        let new_task = |project: &str, name: String| {
            json!({ "input": { "projectId": project, "name": name, "schedule": { "cron": "0 0 3 1 1 *" },
                "action": { "runCases": {} }, "policy": { "concurrency": "ALLOW" } } })
        };
        let mut projects = Vec::new();
        for name in ["one task", "seven tasks"] {
            let project = app.create_project(&owner.access_token, name).await;
            app.create_case(&owner.access_token, http_case(&project, "ok", &target.url("/status/200"))).await.ok();
            projects.push(project);
        }
        let mut tasks = Vec::new();
        for index in 0..8 {
            let project = if index == 0 { &projects[0] } else { &projects[1] };
            let created = app.graphql(Some(&owner.access_token), create, new_task(project, format!("t{index}"))).await.ok();
            tasks.push(created.data("createTask.id").as_str().unwrap().to_owned());
        }
        let (single, many_tasks) = (tasks[0].clone(), tasks[1..].to_vec());

        // One task with one run; seven tasks whose runs interleave, one never fired.
        let single_run = run_now(&app, &owner, &single).await;
        let mut last_runs = Vec::new();
        for _round in 0..2 {
            last_runs.clear();
            for task in &many_tasks[..6] {
                last_runs.push(run_now(&app, &owner, task).await);
            }
        }
        for project in &projects {
            wait_for_runs_to_finish(&app, &owner, project).await;
        }
        let (one, reply) = fewest_statements(&app, &owner, TASKS, json!({ "p": projects[0] })).await;
        assert_eq!(reply.data("tasks.nodes.0.lastRun"), &json!({ "id": single_run, "taskId": single }));
        let (many, reply) = fewest_statements(&app, &owner, TASKS, json!({ "p": projects[1] })).await;
        eprintln!("Task.lastRun on {backend:?}: 1 task {one} statements, 7 tasks {many}");
        assert_eq!(one, many, "last runs of 1 task and of 7 tasks");
        let nodes = reply.data("tasks.nodes").as_array().unwrap().clone();
        assert_eq!(nodes.len(), 7);
        for node in &nodes {
            let task = node["id"].as_str().unwrap();
            let position = many_tasks.iter().position(|id| id == task).unwrap();
            match last_runs.get(position) {
                Some(run) => assert_eq!(node["lastRun"], json!({ "id": run, "taskId": task }), "{task}"),
                None => assert_eq!(node["lastRun"], Value::Null, "the task never fired"),
            }
        }

        // A task's fires: one fire, then five.
        let (one, reply) = fewest_statements(&app, &owner, FIRES, json!({ "id": single })).await;
        assert_eq!(reply.data("task.fires.nodes.0.run"), &json!({ "id": single_run, "taskId": single }));
        for _ in 0..3 {
            run_now(&app, &owner, &many_tasks[0]).await;
        }
        wait_for_runs_to_finish(&app, &owner, &projects[1]).await;
        let (many, reply) = fewest_statements(&app, &owner, FIRES, json!({ "id": many_tasks[0] })).await;
        eprintln!("TaskFire.run on {backend:?}: 1 fire {one} statements, 5 fires {many}");
        assert_eq!(one, many, "runs of 1 fire and of 5 fires");
        let fires = reply.data("task.fires.nodes").as_array().unwrap().clone();
        assert_eq!(fires.len(), 5);
        for fire in &fires {
            assert_eq!(fire["run"], json!({ "id": fire["runId"], "taskId": many_tasks[0] }), "{fire}");
        }
    }
}

const PROJECTS: &str = "{ projects(first: 100) { nodes { id name
    members { role user { username } } environments { name } } } }";

/// Creates an environment named `name` in the project.
async fn create_environment(app: &TestApp, user: &Account, project: &str, name: &str) {
    app.graphql(
        Some(&user.access_token),
        "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
        json!({ "input": { "projectId": project, "name": name, "variables": [] } }),
    )
    .await
    .ok();
}

/// Each listed project's name → (members as `username:ROLE`, environment names), as listed.
fn listed(reply: &Reply) -> Vec<(String, Vec<String>, Vec<String>)> {
    reply
        .data("projects.nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|project| {
            let members = project["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|member| {
                    format!(
                        "{}:{}",
                        member["user"]["username"].as_str().unwrap(),
                        member["role"].as_str().unwrap()
                    )
                })
                .collect();
            let environments = project["environments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|environment| environment["name"].as_str().unwrap().to_owned())
                .collect();
            (
                project["name"].as_str().unwrap().to_owned(),
                members,
                environments,
            )
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

backend_test! {
    async fn listed_projects_members_and_environments_cost_the_same_for_one_or_many(backend: Backend) {
        let app = batching_node(backend).await;
        app.register("root").await; // the first account is an admin, who sees every project
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let mut others = Vec::new();
        for name in ["carol", "dave", "erin"] {
            others.push((name, app.register(name).await));
        }
        let roles = ["VIEWER", "MEMBER", "MAINTAINER"];

        // Bob's project: ada is not in it, so nothing of it may reach her.
        let hidden = app.create_project(&bob.access_token, "hidden").await;
        app.add_member(&bob.access_token, &hidden, &others[0].1.id, "MEMBER").await;
        create_environment(&app, &bob, &hidden, "bob-only").await;

        let first = app.create_project(&ada.access_token, "p0").await;
        create_environment(&app, &ada, &first, "zeta").await;
        create_environment(&app, &ada, &first, "alpha").await;
        let (one, reply) = fewest_statements(&app, &ada, PROJECTS, json!({})).await;
        assert_eq!(listed(&reply), [("p0".to_owned(), strings(&["ada:OWNER"]), strings(&["alpha", "zeta"]))]);

        // Project i has i more members and i environments, added out of name order.
        let mut expected = vec![("p0".to_owned(), strings(&["ada:OWNER"]), strings(&["alpha", "zeta"]))];
        for index in 1..=3 {
            let name = format!("p{index}");
            let project = app.create_project(&ada.access_token, &name).await;
            let mut members = strings(&["ada:OWNER"]);
            for ((name, other), role) in others.iter().zip(roles).take(index) {
                app.add_member(&ada.access_token, &project, &other.id, role).await;
                members.push(format!("{name}:{role}"));
            }
            let mut environments = Vec::new();
            for env in (0..index).rev() {
                let env_name = format!("env-{index}-{env}");
                create_environment(&app, &ada, &project, &env_name).await;
                environments.insert(0, env_name);
            }
            expected.push((name, members, environments));
        }
        let (many, reply) = fewest_statements(&app, &ada, PROJECTS, json!({})).await;
        eprintln!("Project.members and environments on {backend:?}: 1 project {one} statements, 4 projects {many}");
        assert_eq!(one, many, "members and environments of 1 project and of 4 projects");
        assert_eq!(listed(&reply), expected);

        // Ada's and Bob's lists asked at once share the loaders' batches; each sees only their own.
        for _ in 0..3 {
            let (ada_reply, bob_reply) = tokio::join!(
                app.graphql(Some(&ada.access_token), PROJECTS, json!({})),
                app.graphql(Some(&bob.access_token), PROJECTS, json!({})),
            );
            let ada_reply = ada_reply.ok();
            assert_eq!(listed(&ada_reply), expected);
            assert!(!ada_reply.0.to_string().contains("bob-only"), "{}", ada_reply.0);
            assert_eq!(
                listed(&bob_reply.ok()),
                [("hidden".to_owned(), strings(&["bob:OWNER", "carol:MEMBER"]), strings(&["bob-only"]))]
            );
        }
    }
}
