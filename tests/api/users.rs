//! Accounts: roles, admin operations, validation, duplicates, unknown ids, races on the
//! first and the last admin, and who sees whose personal fields.

use futures_util::future::join_all;
use serde_json::json;

use crate::backend_test;
use crate::support::client::{account_from, http_case, Reply};
use crate::support::{Backend, TestApp};

const CREATE_USER: &str =
    "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id username email role active } } }";
const DELETE_USER: &str =
    "mutation($input: DeleteUserInput!) { deleteUser(input: $input) { deletedUserId } }";
const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }";

backend_test! {
    async fn first_account_is_admin_and_later_ones_are_users(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let user = app.register("ada").await;
        assert_eq!(app.me(&admin.access_token).await.ok().data("me.role"), "ADMIN");
        assert_eq!(app.me(&user.access_token).await.ok().data("me.role"), "USER");
    }
}

backend_test! {
    async fn admin_operations_are_forbidden_to_users(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let user = app.register("ada").await;
        let token = Some(user.access_token.as_str());
        let create = app
            .graphql(token, CREATE_USER, json!({ "input": {
                "username": "eve", "email": "eve@example.com", "password": "long-enough" } }))
            .await;
        let update = app.update_user(&user.access_token, &admin.id, json!({ "role": "USER" })).await;
        let promote_self = app.update_user(&user.access_token, &user.id, json!({ "role": "ADMIN" })).await;
        let delete = app
            .graphql(token, DELETE_USER, json!({ "input": { "id": admin.id } }))
            .await;
        for reply in [create, update, promote_self, delete] {
            assert_eq!(reply.code(), "FORBIDDEN", "{}", reply.0);
        }
        // Nothing changed.
        assert_eq!(app.me(&admin.access_token).await.ok().data("me.role"), "ADMIN");
        assert_eq!(app.me(&user.access_token).await.ok().data("me.role"), "USER");
        let users = app
            .graphql(Some(&admin.access_token), "{ users { totalCount } }", json!({}))
            .await
            .ok();
        assert_eq!(users.data("users.totalCount"), 2);
    }
}

backend_test! {
    async fn admins_create_update_and_delete_users(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let token = Some(admin.access_token.as_str());
        let created = app
            .graphql(token, CREATE_USER, json!({ "input": {
                "username": "Eve", "email": "EVE@example.com", "password": "long-enough", "role": "ADMIN" } }))
            .await
            .ok();
        assert_eq!(created.data("createUser.user.email"), "eve@example.com");
        assert_eq!(created.data("createUser.user.role"), "ADMIN");
        let eve = created.data("createUser.user.id").as_str().unwrap().to_owned();
        app.login("eve", "long-enough").await.ok();

        let updated = app
            .update_user(&admin.access_token, &eve, json!({ "username": "eve2", "role": "USER" }))
            .await
            .ok();
        assert_eq!(updated.data("updateUser.user.username"), "eve2");
        assert_eq!(updated.data("updateUser.user.role"), "USER");

        let deleted = app
            .graphql(token, DELETE_USER, json!({ "input": { "id": eve } }))
            .await
            .ok();
        assert_eq!(deleted.data("deleteUser.deletedUserId"), eve.as_str());
        let gone = app
            .graphql(token, "query($id: ID!) { user(id: $id) { id } }", json!({ "id": eve }))
            .await;
        assert_eq!(gone.code(), "NOT_FOUND");
        assert_eq!(app.login("eve2", "long-enough").await.code(), "UNAUTHENTICATED");
    }
}

backend_test! {
    async fn users_list_filters_and_pages(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        for name in ["alice", "albert", "bob", "carol", "alfred"] {
            app.register(name).await;
        }
        let query = "query($first: Int, $after: String, $filter: UserFilterInput) {
            users(first: $first, after: $after, filter: $filter) {
                totalCount nodes { username } edges { cursor node { username } }
                pageInfo { hasNextPage hasPreviousPage endCursor } } }";
        let token = Some(admin.access_token.as_str());
        let search = app
            .graphql(token, query, json!({ "filter": { "search": "AL" } }))
            .await
            .ok();
        assert_eq!(search.data("users.totalCount"), 3);
        assert_eq!(
            search.data("users.nodes"),
            &json!([{ "username": "alice" }, { "username": "albert" }, { "username": "alfred" }])
        );
        let admins = app
            .graphql(token, query, json!({ "filter": { "role": "ADMIN" } }))
            .await
            .ok();
        assert_eq!(admins.data("users.nodes"), &json!([{ "username": "root" }]));

        let mut seen = Vec::new();
        let mut after = serde_json::Value::Null;
        loop {
            let page = app
                .graphql(token, query, json!({ "first": 4, "after": after }))
                .await
                .ok();
            assert_eq!(page.data("users.totalCount"), 6);
            for node in page.data("users.nodes").as_array().unwrap() {
                seen.push(node["username"].as_str().unwrap().to_owned());
            }
            if page.data("users.pageInfo.hasNextPage") == false {
                break;
            }
            after = page.data("users.pageInfo.endCursor").clone();
        }
        assert_eq!(seen, ["root", "alice", "albert", "bob", "carol", "alfred"]);

        for (first, after) in [(json!(0), json!(null)), (json!(101), json!(null)), (json!(5), json!("!!"))] {
            let reply = app.graphql(token, query, json!({ "first": first, "after": after })).await;
            assert_eq!(reply.code(), "BAD_USER_INPUT");
        }
    }
}

backend_test! {
    async fn every_validation_error_names_its_field(backend: Backend) {
        let app = TestApp::start(backend).await;
        let cases = [
            ("ab", "ab@example.com", "long-enough", "username"),
            ("has space", "x@example.com", "long-enough", "username"),
            (&"x".repeat(33), "x@example.com", "long-enough", "username"),
            ("valid", "not-an-email", "long-enough", "email"),
            ("valid", "valid@localhost", "long-enough", "email"),
            ("valid", "valid@example.com", "short", "password"),
        ];
        for (username, email, password, field) in cases {
            let reply = app
                .graphql(None, REGISTER, json!({ "input": {
                    "username": username, "email": email, "password": password } }))
                .await;
            assert_eq!(reply.code(), "BAD_USER_INPUT", "{username} {email}");
            assert_eq!(reply.extension("field"), field, "{username} {email}");
        }
        // Nothing was stored: the first real registration is still the admin.
        let admin = app.register("valid").await;
        assert_eq!(app.me(&admin.access_token).await.ok().data("me.role"), "ADMIN");
        let bad = app
            .graphql(Some(&admin.access_token), CREATE_USER, json!({ "input": {
                "username": "ok-name", "email": "bad", "password": "long-enough" } }))
            .await;
        assert_eq!(bad.extension("field"), "email");
        let bad = app.update_user(&admin.access_token, &admin.id, json!({ "username": "x" })).await;
        assert_eq!(bad.extension("field"), "username");
    }
}

backend_test! {
    async fn duplicate_usernames_and_emails_conflict(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("ada").await;
        let bob = app.register("bob").await;
        for (username, email) in [("ADA", "new@example.com"), ("new", "Ada@Example.com")] {
            let reply = app
                .graphql(None, REGISTER, json!({ "input": {
                    "username": username, "email": email, "password": "long-enough" } }))
                .await;
            assert_eq!(reply.code(), "CONFLICT", "{username} {email}");
        }
        let rename = app.update_user(&admin.access_token, &bob.id, json!({ "username": "Ada" })).await;
        assert_eq!(rename.code(), "CONFLICT");
        let same = app.update_user(&admin.access_token, &bob.id, json!({ "username": "BOB" })).await.ok();
        assert_eq!(same.data("updateUser.user.username"), "BOB");
    }
}

backend_test! {
    async fn unknown_ids_are_not_found(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let token = Some(admin.access_token.as_str());
        let missing = "01900000-0000-7000-8000-000000000000";
        let read = app
            .graphql(token, "query($id: ID!) { user(id: $id) { id } }", json!({ "id": missing }))
            .await;
        let update = app.update_user(&admin.access_token, missing, json!({ "active": false })).await;
        let delete = app
            .graphql(token, DELETE_USER, json!({ "input": { "id": missing } }))
            .await;
        for reply in [read, update, delete] {
            assert_eq!(reply.code(), "NOT_FOUND", "{}", reply.0);
        }
    }
}

backend_test! {
    async fn the_last_active_admin_stays(backend: Backend) {
        let app = TestApp::start(backend).await;
        let root = app.register("root").await;
        let token = root.access_token.as_str();
        for change in [json!({ "role": "USER" }), json!({ "active": false })] {
            assert_eq!(app.update_user(token, &root.id, change).await.code(), "CONFLICT");
        }
        let delete = app
            .graphql(Some(token), DELETE_USER, json!({ "input": { "id": root.id } }))
            .await;
        assert_eq!(delete.code(), "CONFLICT");

        // With a second admin, the first may step down.
        let ada = app.register("ada").await;
        app.update_user(token, &ada.id, json!({ "role": "ADMIN" })).await.ok();
        app.update_user(token, &root.id, json!({ "role": "USER" })).await.ok();
        assert_eq!(app.me(token).await.ok().data("me.role"), "USER");
        // Now ada is the last one.
        assert_eq!(
            app.update_user(&ada.access_token, &ada.id, json!({ "active": false })).await.code(),
            "CONFLICT"
        );
    }
}

backend_test! {
    async fn deactivated_users_lose_access_at_once(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let ada = app.register("ada").await;
        app.update_user(&admin.access_token, &ada.id, json!({ "active": false })).await.ok();
        assert_eq!(app.me(&ada.access_token).await.code(), "UNAUTHENTICATED");
        assert_eq!(app.login("ada", &ada.password).await.code(), "UNAUTHENTICATED");
        assert_eq!(app.refresh(&ada.refresh_token).await.code(), "UNAUTHENTICATED");

        app.update_user(&admin.access_token, &ada.id, json!({ "active": true })).await.ok();
        app.me(&ada.access_token).await.ok();
        app.login("ada", &ada.password).await.ok();
    }
}

backend_test! {
    async fn password_hashes_never_leave_the_server(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let reply = app
            .graphql(Some(&admin.access_token), "{ me { passwordHash } }", json!({}))
            .await;
        assert_eq!(reply.code(), "BAD_USER_INPUT");
        let everything = app
            .graphql(
                Some(&admin.access_token),
                "{ me { id username email role active createdAt lastLoginAt } users { nodes { id username email } } }",
                json!({}),
            )
            .await
            .ok();
        assert!(!everything.0.to_string().contains("argon2"));
        assert!(!everything.0.to_string().contains(&admin.password));
    }
}

backend_test! {
    async fn registrations_racing_on_an_empty_database_make_one_admin(backend: Backend) {
        for round in 0..3 {
            let app = TestApp::start(backend).await;
            let app = &app;
            let registrations = (0..8).map(|i| {
                let name = format!("first{i}");
                async move { (app.register(&name).await, name) }
            });
            let accounts = join_all(registrations).await;
            let mut admins = Vec::new();
            for (account, name) in &accounts {
                if app.me(&account.access_token).await.ok().data("me.role") == "ADMIN" {
                    admins.push(name.clone());
                }
            }
            assert_eq!(admins.len(), 1, "round {round}: admins {admins:?}");
            let admin = &accounts.iter().find(|(_, name)| *name == admins[0]).unwrap().0;
            let listed = app
                .graphql(
                    Some(&admin.access_token),
                    "{ all: users { totalCount } admins: users(filter: { role: ADMIN }) { totalCount } }",
                    json!({}),
                )
                .await
                .ok();
            assert_eq!(listed.data("all.totalCount"), 8, "round {round}");
            assert_eq!(listed.data("admins.totalCount"), 1, "round {round}");
        }
    }
}

/// How one admin takes the admin role away from another.
#[derive(Debug, Clone, Copy)]
enum Removal {
    Demote,
    Deactivate,
    Delete,
}

impl Removal {
    /// Sends the removal of `target_id` as `token`'s admin.
    async fn send(self, app: &TestApp, token: &str, target_id: &str) -> Reply {
        match self {
            Self::Demote => {
                app.update_user(token, target_id, json!({ "role": "USER" }))
                    .await
            }
            Self::Deactivate => {
                app.update_user(token, target_id, json!({ "active": false }))
                    .await
            }
            Self::Delete => {
                app.graphql(
                    Some(token),
                    DELETE_USER,
                    json!({ "input": { "id": target_id } }),
                )
                .await
            }
        }
    }
}

backend_test! {
    async fn admins_removing_each_other_at_once_leave_one_admin(backend: Backend) {
        let app = TestApp::start(backend).await;
        let mut first = app.register("root").await;
        let mut second = app.register("ada").await;
        app.update_user(&first.access_token, &second.id, json!({ "role": "ADMIN" })).await.ok();
        let removals = [Removal::Demote, Removal::Deactivate, Removal::Delete];
        for round in 0..21 {
            let removal = removals[round % removals.len()];
            let (one, other) = tokio::join!(
                removal.send(&app, &first.access_token, &second.id),
                removal.send(&app, &second.access_token, &first.id),
            );
            let succeeded = [&one, &other].map(|reply| reply.0.get("errors").is_none());
            assert_eq!(
                succeeded.iter().filter(|ok| **ok).count(),
                1,
                "round {round} ({removal:?}): {} / {}",
                one.0,
                other.0
            );
            let (winner, loser, loser_reply) = if succeeded[0] {
                (first.clone(), second.clone(), &other)
            } else {
                (second.clone(), first.clone(), &one)
            };
            // The loser was either told the winner is the last admin, or had already lost
            // the admin role when its request was checked.
            assert!(
                ["CONFLICT", "FORBIDDEN", "UNAUTHENTICATED"].contains(&loser_reply.code()),
                "round {round}: {}",
                loser_reply.0
            );
            let admins = app
                .graphql(
                    Some(&winner.access_token),
                    "{ users(filter: { role: ADMIN, active: true }) { totalCount nodes { id } } }",
                    json!({}),
                )
                .await
                .ok();
            assert_eq!(admins.data("users.totalCount"), 1, "round {round}");
            assert_eq!(admins.data("users.nodes.0.id"), winner.id.as_str(), "round {round}");

            // Make the loser (or a newcomer in place of a deleted one) an admin again.
            let restored = match removal {
                Removal::Demote => {
                    app.update_user(&winner.access_token, &loser.id, json!({ "role": "ADMIN" })).await.ok();
                    loser
                }
                Removal::Deactivate => {
                    app.update_user(&winner.access_token, &loser.id, json!({ "active": true })).await.ok();
                    loser
                }
                Removal::Delete => {
                    let name = format!("admin{round}");
                    app.graphql(Some(&winner.access_token), CREATE_USER, json!({ "input": {
                        "username": name, "email": format!("{name}@example.com"),
                        "password": "long-enough", "role": "ADMIN" } }))
                        .await
                        .ok();
                    let login = app.login(&name, "long-enough").await.ok();
                    account_from(login.data("login"), "long-enough")
                }
            };
            first = winner;
            second = restored;
        }
    }
}

backend_test! {
    async fn personal_fields_are_for_admins_and_the_user_themself(backend: Backend) {
        let app = TestApp::start(backend).await;
        let root = app.register("root").await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Shared").await;
        app.add_member(&ada.access_token, &project, &bob.id, "MEMBER").await;
        let case = app
            .create_case(&ada.access_token, http_case(&project, "ping", "http://127.0.0.1:9/"))
            .await
            .ok();
        let case_id = case.data("createCase.case.id").as_str().unwrap().to_owned();

        let fields = "id username email role active createdAt lastLoginAt";
        let query = format!(
            "query($ada: ID!, $project: ID!, $case: ID!) {{
                users {{ nodes {{ {fields} }} }}
                user(id: $ada) {{ {fields} }}
                project(id: $project) {{ createdBy {{ {fields} }} members {{ user {{ {fields} }} }} }}
                case(id: $case) {{ createdBy {{ {fields} }} updatedBy {{ {fields} }} }}
            }}"
        );
        let variables = json!({ "ada": ada.id, "project": project, "case": case_id });
        let personal = ["email", "role", "active", "createdAt", "lastLoginAt"];

        // Bob, an ordinary member, sees ids and usernames of others, and all of himself.
        let seen_by_bob = app.graphql(Some(&bob.access_token), &query, variables.clone()).await.ok();
        let users = every_user_object(&seen_by_bob.0["data"]);
        assert!(users.len() >= 8, "{}", seen_by_bob.0);
        for user in &users {
            assert!(user["id"].is_string() && user["username"].is_string(), "{user}");
            let himself = user["id"] == bob.id.as_str();
            for field in personal {
                assert_eq!(user[field].is_null(), !himself, "{field} of {user}");
            }
        }
        // Nor can he find or sort people by what he cannot see.
        let by_email = app
            .graphql(Some(&bob.access_token), "{ users(filter: { search: \"ada@\" }) { totalCount } }", json!({}))
            .await
            .ok();
        assert_eq!(by_email.data("users.totalCount"), 0);
        for filter in ["{ role: ADMIN }", "{ active: false }"] {
            let reply = app
                .graphql(Some(&bob.access_token), &format!("{{ users(filter: {filter}) {{ totalCount }} }}"), json!({}))
                .await;
            assert_eq!(reply.code(), "FORBIDDEN", "{filter}");
        }
        // An owner adds members by username, not by email.
        let add_by_email = app
            .graphql(
                Some(&ada.access_token),
                "mutation($input: AddProjectMemberInput!) { addProjectMember(input: $input) { member { role } } }",
                json!({ "input": { "projectId": project, "username": "root@example.com", "role": "VIEWER" } }),
            )
            .await;
        assert_eq!(add_by_email.code(), "NOT_FOUND");

        // An admin sees everything of everyone.
        let seen_by_root = app.graphql(Some(&root.access_token), &query, variables).await.ok();
        for user in every_user_object(&seen_by_root.0["data"]) {
            for field in personal {
                assert!(!user[field].is_null(), "{field} of {user}");
            }
        }
        assert_eq!(seen_by_root.data("user.email"), "ada@example.com");
        assert_eq!(seen_by_root.data("user.role"), "USER");
    }
}

/// Every object with a `username` anywhere in `value`.
fn every_user_object(value: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    match value {
        serde_json::Value::Object(map) => {
            if map.contains_key("username") {
                found.push(value.clone());
            }
            for child in map.values() {
                found.extend(every_user_object(child));
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                found.extend(every_user_object(item));
            }
        }
        _ => {}
    }
    found
}
