//! GraphQL over HTTP, as a client sends it.

use serde_json::{json, Value};

use super::TestApp;

/// A logged-in user as the tests see it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A GraphQL response body.
#[derive(Debug, Clone)]
pub struct Reply(pub Value);

impl Reply {
    /// `data.<path>` (dot-separated), panicking with the whole reply if absent.
    pub fn data(&self, path: &str) -> &Value {
        let mut value = &self.0["data"];
        for key in path.split('.') {
            value = match key.parse::<usize>() {
                Ok(index) => &value[index],
                Err(_) => &value[key],
            };
        }
        assert!(!value.is_null(), "no data.{path} in {}", self.0);
        value
    }

    /// `extensions.code` of the first error, panicking if the reply has none.
    pub fn code(&self) -> &str {
        self.0["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error code in {}", self.0))
    }

    /// `extensions.<key>` of the first error.
    pub fn extension(&self, key: &str) -> &Value {
        &self.0["errors"][0]["extensions"][key]
    }

    /// Panics unless the reply has no errors.
    pub fn ok(self) -> Self {
        assert!(
            self.0.get("errors").is_none(),
            "unexpected errors: {}",
            self.0
        );
        self
    }
}

/// The fields of `AuthPayload` the tests read.
pub const AUTH_FIELDS: &str =
    "accessToken refreshToken tokenType expiresIn user { id username role }";

impl TestApp {
    /// POSTs a query with variables; returns the JSON reply (any HTTP status).
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let mut request = self
            .http()
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST /graphql");
        Reply(response.json().await.expect("JSON reply"))
    }

    /// Registers `username` (email `username@example.com`) and returns the session.
    pub async fn register(&self, username: &str) -> Account {
        let password = format!("{username}-password");
        let reply = self
            .graphql(
                None,
                &format!(
                    "mutation($input: RegisterInput!) {{ register(input: $input) {{ {AUTH_FIELDS} }} }}"
                ),
                json!({ "input": {
                    "username": username,
                    "email": format!("{username}@example.com"),
                    "password": password,
                }}),
            )
            .await
            .ok();
        account_from(reply.data("register"), &password)
    }

    /// Logs in; returns the raw reply.
    pub async fn login(&self, login: &str, password: &str) -> Reply {
        self.graphql(
            None,
            &format!(
                "mutation($input: LoginInput!) {{ login(input: $input) {{ {AUTH_FIELDS} }} }}"
            ),
            json!({ "input": { "login": login, "password": password } }),
        )
        .await
    }

    /// Trades a refresh token; returns the raw reply.
    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.graphql(
            None,
            &format!(
                "mutation($input: RefreshTokenInput!) {{ refreshToken(input: $input) {{ {AUTH_FIELDS} }} }}"
            ),
            json!({ "input": { "refreshToken": refresh_token } }),
        )
        .await
    }

    /// `me { id username }` with `token`.
    pub async fn me(&self, token: &str) -> Reply {
        self.graphql(Some(token), "{ me { id username role active } }", json!({}))
            .await
    }

    /// An admin changes `user_id` with the given `updateUser` input fields.
    pub async fn update_user(&self, admin_token: &str, user_id: &str, changes: Value) -> Reply {
        let mut input = changes;
        input["id"] = json!(user_id);
        self.graphql(
            Some(admin_token),
            "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id username email role active } } }",
            json!({ "input": input }),
        )
        .await
    }
}

/// Reads an `AuthPayload` into an [`Account`].
pub fn account_from(payload: &Value, password: &str) -> Account {
    Account {
        id: payload["user"]["id"].as_str().expect("user id").to_owned(),
        password: password.to_owned(),
        access_token: payload["accessToken"].as_str().expect("token").to_owned(),
        refresh_token: payload["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    }
}

impl TestApp {
    /// Creates a project as `token`'s user; returns its id.
    pub async fn create_project(&self, token: &str, name: &str) -> String {
        let reply = self
            .graphql(
                Some(token),
                "mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }",
                json!({ "input": { "name": name } }),
            )
            .await
            .ok();
        reply
            .data("createProject.project.id")
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Adds `user_id` to the project with `role` (as its owner `token`).
    pub async fn add_member(&self, token: &str, project_id: &str, user_id: &str, role: &str) {
        self.graphql(
            Some(token),
            "mutation($input: AddProjectMemberInput!) { addProjectMember(input: $input) { member { role } } }",
            json!({ "input": { "projectId": project_id, "userId": user_id, "role": role } }),
        )
        .await
        .ok();
    }

    /// Creates a case from a `CreateCaseInput` object; returns the raw reply.
    pub async fn create_case(&self, token: &str, input: Value) -> Reply {
        self.graphql(
            Some(token),
            "mutation($input: CreateCaseInput!) { createCase(input: $input) { case { id kind name tags priority active spec { http { request { method url } } } } } }",
            json!({ "input": input }),
        )
        .await
    }
}

/// A minimal valid HTTP case input for `project_id`.
pub fn http_case(project_id: &str, name: &str, url: &str) -> Value {
    json!({
        "projectId": project_id,
        "name": name,
        "spec": { "http": {
            "request": { "method": "GET", "url": url },
            "assertions": [{ "status": { "equals": 200 } }]
        } }
    })
}

/// A minimal valid pytest case input for `project_id`.
pub fn script_case(project_id: &str, name: &str) -> Value {
    json!({
        "projectId": project_id,
        "name": name,
        "spec": { "script": { "files": [{ "path": "test_smoke.py", "content": "def test_ok():\n    assert True\n" }] } }
    })
}
