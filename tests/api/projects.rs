//! Projects: visibility, the role matrix, members, archive, cascade delete.

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::{http_case, script_case, Account};
use crate::support::{Backend, TestApp};
use tidewatch::config::ProjectCreation;

const PROJECT: &str = "query($id: ID!) { project(id: $id) { id name myRole archived
    settings { maxWorkers defaultHeaders { name value } }
    members { role user { username } } } }";

backend_test! {
    async fn projects_are_invisible_to_non_members(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Checkout").await;

        let own = app.graphql(Some(&ada.access_token), PROJECT, json!({ "id": project })).await.ok();
        assert_eq!(own.data("project.myRole"), "OWNER");
        assert_eq!(own.data("project.settings.maxWorkers"), 4);
        assert_eq!(own.data("project.members.0.user.username"), "ada");

        let hidden = app.graphql(Some(&bob.access_token), PROJECT, json!({ "id": project })).await;
        assert_eq!(hidden.code(), "NOT_FOUND");
        let unknown = app
            .graphql(Some(&bob.access_token), PROJECT, json!({ "id": "no-such-project" }))
            .await;
        assert_eq!(unknown.0["errors"][0]["message"], hidden.0["errors"][0]["message"]);
        let list = app
            .graphql(Some(&bob.access_token), "{ projects { totalCount } }", json!({}))
            .await
            .ok();
        assert_eq!(list.data("projects.totalCount"), 0);

        let admin_view = app.graphql(Some(&admin.access_token), PROJECT, json!({ "id": project })).await.ok();
        assert_eq!(admin_view.data("project.myRole"), "OWNER");
        let admin_list = app
            .graphql(Some(&admin.access_token), "{ projects { totalCount nodes { name myRole } } }", json!({}))
            .await
            .ok();
        assert_eq!(admin_list.data("projects.nodes.0.name"), "Checkout");
    }
}

/// The users of a project with every role, and one outsider.
struct Team {
    owner: Account,
    maintainer: Account,
    member: Account,
    viewer: Account,
    outsider: Account,
    project: String,
}

async fn team(app: &TestApp) -> Team {
    app.register("root").await;
    let owner = app.register("owner").await;
    let maintainer = app.register("maint").await;
    let member = app.register("member").await;
    let viewer = app.register("viewer").await;
    let outsider = app.register("outsider").await;
    let project = app.create_project(&owner.access_token, "Matrix").await;
    for (account, role) in [
        (&maintainer, "MAINTAINER"),
        (&member, "MEMBER"),
        (&viewer, "VIEWER"),
    ] {
        app.add_member(&owner.access_token, &project, &account.id, role)
            .await;
    }
    Team {
        owner,
        maintainer,
        member,
        viewer,
        outsider,
        project,
    }
}

/// `None` when the reply has no error, else its code.
fn outcome(reply: &crate::support::client::Reply) -> Option<String> {
    reply.0.get("errors").map(|_| reply.code().to_owned())
}

backend_test! {
    async fn every_mutation_checks_the_role_it_needs(backend: Backend) {
        let app = TestApp::start(backend).await;
        let team = team(&app).await;
        let p = team.project.clone();
        let environment = app
            .graphql(
                Some(&team.owner.access_token),
                "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
                json!({ "input": { "projectId": p, "name": "staging" } }),
            )
            .await
            .ok()
            .data("createEnvironment.environment.id")
            .clone();
        // (mutation, variables builder, weakest role allowed: 0 owner .. 3 viewer)
        type Build = Box<dyn Fn(&TestApp, &str) -> Value>;
        let cases: Vec<(&str, &str, Build, usize)> = vec![
            ("updateProject", "mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id } } }",
                Box::new({ let p = p.clone(); move |_, _| json!({ "input": { "id": p, "description": "x" } }) }), 1),
            ("archiveProject", "mutation($input: ArchiveProjectInput!) { archiveProject(input: $input) { project { id } } }",
                Box::new({ let p = p.clone(); move |_, _| json!({ "input": { "id": p, "archived": false } }) }), 0),
            ("createEnvironment", "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
                Box::new({ let p = p.clone(); move |_, who| json!({ "input": { "projectId": p, "name": format!("env-{who}") } }) }), 1),
            ("updateEnvironment", "mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { environment { id } } }",
                Box::new({ let e = environment.clone(); move |_, who| json!({ "input": { "id": e, "set": [{ "name": "by", "value": who }] } }) }), 1),
            ("createCase(HTTP)", "mutation($input: CreateCaseInput!) { createCase(input: $input) { case { id } } }",
                Box::new({ let p = p.clone(); move |_, who| json!({ "input": http_case(&p, who, "http://127.0.0.1:9/x") }) }), 2),
            ("createCase(SCRIPT)", "mutation($input: CreateCaseInput!) { createCase(input: $input) { case { id } } }",
                Box::new({ let p = p.clone(); move |_, who| json!({ "input": script_case(&p, who) }) }), 1),
            ("generateCases", "mutation($input: GenerateCasesInput!) { generateCases(input: $input) { format } }",
                Box::new({ let p = p.clone(); move |_, _| json!({ "input": { "projectId": p,
                    "document": "{\"openapi\": \"3.0.0\", \"info\": {\"title\": \"t\", \"version\": \"1\"}, \"paths\": {}}" } }) }), 2),
            ("updateProjectMember", "mutation($input: UpdateProjectMemberInput!) { updateProjectMember(input: $input) { member { role } } }",
                Box::new({ let p = p.clone(); let v = team.viewer.id.clone(); move |_, _| json!({ "input": { "projectId": p, "userId": v, "role": "VIEWER" } }) }), 0),
        ];
        let users = [
            ("owner", &team.owner),
            ("maintainer", &team.maintainer),
            ("member", &team.member),
            ("viewer", &team.viewer),
        ];
        for (name, query, build, weakest) in &cases {
            for (rank, (who, account)) in users.iter().enumerate() {
                let reply = app.graphql(Some(&account.access_token), query, build(&app, who)).await;
                let expected = if rank <= *weakest { None } else { Some("FORBIDDEN".to_owned()) };
                assert_eq!(outcome(&reply), expected, "{name} as {who}: {}", reply.0);
            }
            let reply = app.graphql(Some(&team.outsider.access_token), query, build(&app, "outsider")).await;
            assert_eq!(outcome(&reply).as_deref(), Some("NOT_FOUND"), "{name} as outsider");
        }

        // Case-level mutations on a fresh case per attempt.
        let case_mutations: [(&str, &str, usize); 3] = [
            ("updateCase", "mutation($input: UpdateCaseInput!) { updateCase(input: $input) { case { id } } }", 2),
            ("copyCase", "mutation($input: CopyCaseInput!) { copyCase(input: $input) { case { id } } }", 2),
            ("deleteCase", "mutation($input: DeleteCaseInput!) { deleteCase(input: $input) { deletedCaseId } }", 2),
        ];
        for (name, query, weakest) in case_mutations {
            let attempts = users.iter().map(|(who, a)| (*who, *a)).chain([("outsider", &team.outsider)]);
            for (rank, (who, account)) in attempts.enumerate() {
                let created = app.create_case(&team.owner.access_token, http_case(&p, &format!("{name}-{who}"), "http://127.0.0.1:9/")).await.ok();
                let id = created.data("createCase.case.id").clone();
                let reply = app.graphql(Some(&account.access_token), query, json!({ "input": { "id": id } })).await;
                let expected = match rank {
                    4 => Some("NOT_FOUND".to_owned()),
                    r if r <= weakest => None,
                    _ => Some("FORBIDDEN".to_owned()),
                };
                assert_eq!(outcome(&reply), expected, "{name} as {who}: {}", reply.0);
            }
        }

        // Bulk activation and environment deletion, on fresh objects per attempt.
        let bulk = "mutation($input: SetCasesActiveInput!) { setCasesActive(input: $input) { cases { id } } }";
        let delete_environment = "mutation($input: DeleteEnvironmentInput!) { deleteEnvironment(input: $input) { deletedEnvironmentId } }";
        let attempts = users.iter().map(|(who, a)| (*who, *a)).chain([("outsider", &team.outsider)]);
        for (rank, (who, account)) in attempts.enumerate() {
            let created = app.create_case(&team.owner.access_token, http_case(&p, &format!("bulk-{who}"), "http://127.0.0.1:9/")).await.ok();
            let case_id = created.data("createCase.case.id").clone();
            let reply = app.graphql(Some(&account.access_token), bulk, json!({ "input": { "ids": [case_id], "active": false } })).await;
            let expected = match rank { 4 => Some("NOT_FOUND"), r if r <= 2 => None, _ => Some("FORBIDDEN") };
            assert_eq!(outcome(&reply).as_deref(), expected, "setCasesActive as {who}");
            let environment = app
                .graphql(Some(&team.owner.access_token), "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
                    json!({ "input": { "projectId": p, "name": format!("doomed-{who}") } }))
                .await
                .ok()
                .data("createEnvironment.environment.id")
                .clone();
            let reply = app.graphql(Some(&account.access_token), delete_environment, json!({ "input": { "id": environment } })).await;
            let expected = match rank { 4 => Some("NOT_FOUND"), r if r <= 1 => None, _ => Some("FORBIDDEN") };
            assert_eq!(outcome(&reply).as_deref(), expected, "deleteEnvironment as {who}");
        }

        // Members are managed by owners only.
        let add = "mutation($input: AddProjectMemberInput!) { addProjectMember(input: $input) { member { role } } }";
        for account in [&team.maintainer, &team.member, &team.viewer] {
            let reply = app
                .graphql(Some(&account.access_token), add, json!({ "input": { "projectId": p, "userId": team.outsider.id, "role": "VIEWER" } }))
                .await;
            assert_eq!(reply.code(), "FORBIDDEN");
        }
        // Deleting the project: owners only.
        let delete = "mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { deletedProjectId } }";
        for account in [&team.maintainer, &team.member, &team.viewer] {
            let reply = app.graphql(Some(&account.access_token), delete, json!({ "input": { "id": p } })).await;
            assert_eq!(reply.code(), "FORBIDDEN");
        }
        let reply = app.graphql(Some(&team.outsider.access_token), delete, json!({ "input": { "id": p } })).await;
        assert_eq!(reply.code(), "NOT_FOUND");
        app.graphql(Some(&team.owner.access_token), delete, json!({ "input": { "id": p } })).await.ok();
    }
}

backend_test! {
    async fn viewers_read_everything_in_the_project(backend: Backend) {
        let app = TestApp::start(backend).await;
        let team = team(&app).await;
        app.create_case(&team.owner.access_token, http_case(&team.project, "a", "http://127.0.0.1:9/")).await.ok();
        let reply = app
            .graphql(
                Some(&team.viewer.access_token),
                "query($p: ID!) { project(id: $p) { myRole environments { name } } cases(projectId: $p) { totalCount } auditLog(projectId: $p) { totalCount } }",
                json!({ "p": team.project }),
            )
            .await
            .ok();
        assert_eq!(reply.data("project.myRole"), "VIEWER");
        assert_eq!(reply.data("cases.totalCount"), 1);
        assert!(reply.data("auditLog.totalCount").as_i64().unwrap() >= 4);
    }
}

backend_test! {
    async fn members_are_managed_and_the_last_owner_stays(backend: Backend) {
        let app = TestApp::start(backend).await;
        app.register("root").await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Team").await;
        let add = "mutation($input: AddProjectMemberInput!) { addProjectMember(input: $input) { member { role user { username } } } }";
        let added = app
            .graphql(Some(&ada.access_token), add, json!({ "input": { "projectId": project, "username": "bob", "role": "MEMBER" } }))
            .await
            .ok();
        assert_eq!(added.data("addProjectMember.member.user.username"), "bob");
        let again = app
            .graphql(Some(&ada.access_token), add, json!({ "input": { "projectId": project, "userId": bob.id, "role": "VIEWER" } }))
            .await;
        assert_eq!(again.code(), "CONFLICT");
        let nobody = app
            .graphql(Some(&ada.access_token), add, json!({ "input": { "projectId": project, "username": "nobody", "role": "VIEWER" } }))
            .await;
        assert_eq!(nobody.code(), "NOT_FOUND");

        let update = "mutation($input: UpdateProjectMemberInput!) { updateProjectMember(input: $input) { member { role } } }";
        let remove = "mutation($input: RemoveProjectMemberInput!) { removeProjectMember(input: $input) { removedUserId } }";
        let demote = app
            .graphql(Some(&ada.access_token), update, json!({ "input": { "projectId": project, "userId": ada.id, "role": "MEMBER" } }))
            .await;
        assert_eq!(demote.code(), "CONFLICT");
        let leave = app
            .graphql(Some(&ada.access_token), remove, json!({ "input": { "projectId": project, "userId": ada.id } }))
            .await;
        assert_eq!(leave.code(), "CONFLICT");

        app.graphql(Some(&ada.access_token), update, json!({ "input": { "projectId": project, "userId": bob.id, "role": "OWNER" } }))
            .await
            .ok();
        app.graphql(Some(&bob.access_token), remove, json!({ "input": { "projectId": project, "userId": ada.id } }))
            .await
            .ok();
        let gone = app.graphql(Some(&ada.access_token), PROJECT, json!({ "id": project })).await;
        assert_eq!(gone.code(), "NOT_FOUND");
    }
}

backend_test! {
    async fn settings_validation_and_archiving(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Settings").await;
        let update = "mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { name settings { maxWorkers defaultHeaders { name value } } } } }";
        let ok = app
            .graphql(Some(&ada.access_token), update, json!({ "input": { "id": project, "name": "Renamed",
                "settings": { "maxWorkers": 16, "defaultHeaders": [{ "name": "X-Team", "value": "qa" }] } } }))
            .await
            .ok();
        assert_eq!(ok.data("updateProject.project.settings.maxWorkers"), 16);
        assert_eq!(ok.data("updateProject.project.settings.defaultHeaders.0.name"), "X-Team");
        for (input, field) in [
            (json!({ "id": project, "settings": { "maxWorkers": 0 } }), "settings.maxWorkers"),
            (json!({ "id": project, "settings": { "maxWorkers": 1000 } }), "settings.maxWorkers"),
            (json!({ "id": project, "name": "  " }), "name"),
        ] {
            let reply = app.graphql(Some(&ada.access_token), update, json!({ "input": input })).await;
            assert_eq!(reply.code(), "BAD_USER_INPUT");
            assert_eq!(reply.extension("field"), field);
        }
        let archive = "mutation($input: ArchiveProjectInput!) { archiveProject(input: $input) { project { archived } } }";
        app.graphql(Some(&ada.access_token), archive, json!({ "input": { "id": project } })).await.ok();
        let live = app
            .graphql(Some(&ada.access_token), "{ projects(filter: {archived: false}) { totalCount } }", json!({}))
            .await
            .ok();
        assert_eq!(live.data("projects.totalCount"), 0);
        let archived = app
            .graphql(Some(&ada.access_token), "{ projects(filter: {archived: true}) { nodes { name archived } } }", json!({}))
            .await
            .ok();
        assert_eq!(archived.data("projects.nodes.0.name"), "Renamed");
    }
}

backend_test! {
    async fn deleting_a_project_removes_its_cases_and_environments(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Doomed").await;
        let other = app.create_project(&ada.access_token, "Kept").await;
        let case = app.create_case(&ada.access_token, http_case(&project, "a", "http://127.0.0.1:9/")).await.ok();
        let case_id = case.data("createCase.case.id").clone();
        app.create_case(&ada.access_token, http_case(&other, "b", "http://127.0.0.1:9/")).await.ok();
        let environment = app
            .graphql(
                Some(&ada.access_token),
                "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
                json!({ "input": { "projectId": project, "name": "prod" } }),
            )
            .await
            .ok()
            .data("createEnvironment.environment.id")
            .clone();
        app.graphql(
            Some(&ada.access_token),
            "mutation($input: DeleteProjectInput!) { deleteProject(input: $input) { deletedProjectId } }",
            json!({ "input": { "id": project } }),
        )
        .await
        .ok();
        let case_gone = app.graphql(Some(&ada.access_token), "query($id: ID!) { case(id: $id) { id } }", json!({ "id": case_id })).await;
        assert_eq!(case_gone.code(), "NOT_FOUND");
        let environment_gone = app
            .graphql(Some(&ada.access_token), "query($id: ID!) { environment(id: $id) { id } }", json!({ "id": environment }))
            .await;
        assert_eq!(environment_gone.code(), "NOT_FOUND");
        let kept = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { cases(projectId: $p) { totalCount } }", json!({ "p": other }))
            .await
            .ok();
        assert_eq!(kept.data("cases.totalCount"), 1);
    }
}

backend_test! {
    async fn project_creation_can_be_kept_for_admins(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.auth.project_creation = ProjectCreation::Admins)
            .start()
            .await;
        let root = app.register("root").await;
        let ada = app.register("ada").await;
        let refused = app
            .graphql(
                Some(&ada.access_token),
                "mutation { createProject(input: { name: \"Mine\" }) { project { id } } }",
                json!({}),
            )
            .await;
        assert_eq!(refused.code(), "FORBIDDEN");
        assert!(refused.0["data"].is_null(), "{}", refused.0);
        let project = app.create_project(&root.access_token, "Team").await;
        // Members an admin adds work in the project as usual.
        app.add_member(&root.access_token, &project, &ada.id, "OWNER").await;
        let seen = app
            .graphql(Some(&ada.access_token), "{ projects { totalCount } }", json!({}))
            .await
            .ok();
        assert_eq!(seen.data("projects.totalCount"), 1);
    }
}
