//! Environments: variables, write-only secrets, the default, names.

use diesel::QueryDsl;
use serde_json::json;
use tidewatch::db::schema::environments;
use tidewatch::db::{Database, DbError};

use crate::backend_test;
use crate::support::{Backend, TestApp};

const CREATE: &str =
    "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) {
    environment { id name isDefault variables { name value secret isSet } } } }";
const UPDATE: &str =
    "mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) {
    environment { id name isDefault variables { name value secret isSet } } } }";

backend_test! {
    async fn secrets_are_write_only_and_sealed_at_rest(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Env").await;
        let created = app
            .graphql(Some(&ada.access_token), CREATE, json!({ "input": { "projectId": project, "name": "staging", "variables": [
                { "name": "baseUrl", "value": "http://staging.local" },
                { "name": "token", "value": "s3cr3t-value-123", "secret": true }
            ] } }))
            .await
            .ok();
        assert_eq!(created.data("createEnvironment.environment.isDefault"), true, "first is default");
        assert_eq!(
            created.data("createEnvironment.environment.variables"),
            &json!([
                { "name": "baseUrl", "value": "http://staging.local", "secret": false, "isSet": true },
                { "name": "token", "value": null, "secret": true, "isSet": true }
            ])
        );
        let id = created.data("createEnvironment.environment.id").as_str().unwrap().to_owned();

        // Nowhere in the API: not in the project view, not in the audit trail or its export.
        let everything = app
            .graphql(
                Some(&ada.access_token),
                "query($p: ID!) { project(id: $p) { environments { variables { name value } } } auditLog(projectId: $p) { nodes { summary } } exportAuditLog(projectId: $p) }",
                json!({ "p": project }),
            )
            .await
            .ok();
        assert!(!everything.0.to_string().contains("s3cr3t-value-123"));

        // At rest the value is sealed.
        let stored = stored_variables(&app.app.db, id).await.unwrap();
        assert!(!stored.contains("s3cr3t-value-123"), "{stored}");
        assert!(stored.contains("v1:"), "{stored}");
    }
}

backend_test! {
    async fn variables_are_set_and_removed_and_the_default_moves(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Env").await;
        let staging = app
            .graphql(Some(&ada.access_token), CREATE, json!({ "input": { "projectId": project, "name": "staging",
                "variables": [{ "name": "a", "value": "1" }, { "name": "b", "value": "2" }] } }))
            .await
            .ok()
            .data("createEnvironment.environment.id")
            .clone();
        let prod = app
            .graphql(Some(&ada.access_token), CREATE, json!({ "input": { "projectId": project, "name": "prod" } }))
            .await
            .ok();
        assert_eq!(prod.data("createEnvironment.environment.isDefault"), false);
        let prod = prod.data("createEnvironment.environment.id").clone();

        let updated = app
            .graphql(Some(&ada.access_token), UPDATE, json!({ "input": { "id": staging,
                "set": [{ "name": "b", "value": "20" }, { "name": "c", "value": "3", "secret": true }], "remove": ["a"] } }))
            .await
            .ok();
        assert_eq!(
            updated.data("updateEnvironment.environment.variables"),
            &json!([
                { "name": "b", "value": "20", "secret": false, "isSet": true },
                { "name": "c", "value": null, "secret": true, "isSet": true }
            ])
        );
        app.graphql(Some(&ada.access_token), UPDATE, json!({ "input": { "id": prod, "isDefault": true } })).await.ok();
        let listed = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { project(id: $p) { environments { name isDefault } } }", json!({ "p": project }))
            .await
            .ok();
        assert_eq!(
            listed.data("project.environments"),
            &json!([{ "name": "prod", "isDefault": true }, { "name": "staging", "isDefault": false }])
        );

        let duplicate = app
            .graphql(Some(&ada.access_token), CREATE, json!({ "input": { "projectId": project, "name": "PROD" } }))
            .await;
        assert_eq!(duplicate.code(), "CONFLICT");
        let bad_name = app
            .graphql(Some(&ada.access_token), UPDATE, json!({ "input": { "id": staging, "set": [{ "name": "9lives", "value": "x" }] } }))
            .await;
        assert_eq!(bad_name.code(), "BAD_USER_INPUT");
        assert_eq!(bad_name.extension("field"), "set[0].name");
        let deleted = app
            .graphql(
                Some(&ada.access_token),
                "mutation($input: DeleteEnvironmentInput!) { deleteEnvironment(input: $input) { deletedEnvironmentId } }",
                json!({ "input": { "id": staging } }),
            )
            .await
            .ok();
        assert_eq!(deleted.data("deleteEnvironment.deletedEnvironmentId"), &staging);
    }
}

backend_test! {
    async fn secrets_survive_a_key_rotation(backend: Backend) {
        use tidewatch::secrets::SecretBox;
        let old_key = SecretBox::generate_base64_key().unwrap();
        let new_key = SecretBox::generate_base64_key().unwrap();
        let first = {
            let key = old_key.clone();
            TestApp::builder(backend)
                .config(move |config| config.secrets.credential_key = Some(key))
                .start()
                .await
        };
        let ada = first.register("ada").await;
        let project = first.create_project(&ada.access_token, "Rotate").await;
        let id = first
            .graphql(Some(&ada.access_token), CREATE, json!({ "input": { "projectId": project, "name": "prod",
                "variables": [{ "name": "token", "value": "keep-me-secret", "secret": true }] } }))
            .await
            .ok()
            .data("createEnvironment.environment.id")
            .as_str()
            .unwrap()
            .to_owned();
        let database = first.database.clone();
        first.stop().await;

        let (old, new) = (old_key.clone(), new_key.clone());
        let rotating = TestApp::builder(backend)
            .database(database.clone())
            .config(move |config| {
                config.secrets.credential_key = Some(new);
                config.secrets.previous_credential_key = Some(old);
            })
            .start()
            .await;
        let resealed = tidewatch::environments::service::reseal_secrets(&rotating.app).await.unwrap();
        assert_eq!(resealed, 1);
        rotating.stop().await;

        let rotated = TestApp::builder(backend)
            .database(database)
            .config(move |config| config.secrets.credential_key = Some(new_key))
            .start()
            .await;
        let stored = stored_variables(&rotated.app.db, id).await.unwrap();
        let variables: serde_json::Value = serde_json::from_str(&stored).unwrap();
        let sealed = variables[0]["value"].as_str().unwrap();
        assert_eq!(rotated.app.secrets.open(sealed).unwrap(), "keep-me-secret");
        assert!(SecretBox::from_base64_key(&old_key).unwrap().open(sealed).is_err());
    }
}

/// The `variables` column exactly as stored.
async fn stored_variables(db: &Database, id: String) -> Result<String, DbError> {
    tidewatch::db_run!(&mut db.conn().await?, |conn| {
        Ok(environments::table
            .find(id.clone())
            .select(environments::variables)
            .first::<String>(conn)
            .await?)
    })
}
