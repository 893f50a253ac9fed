//! Credentials: a user name and a sealed secret, write-only over the API.

use crate::app::App;
use crate::audit;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;
use crate::projects::scope::SystemActor;

use super::model::{CredentialChanges, CredentialRow};

/// Longest credential name.
const MAX_NAME_LENGTH: usize = 64;
/// Largest secret, in bytes.
const MAX_SECRET_BYTES: usize = 4096;

/// Creates a credential (maintainers); the secret is sealed before it is stored.
pub async fn create_credential(
    app: &App,
    access: &ProjectAccess,
    name: &str,
    username: Option<String>,
    secret: &str,
) -> AppResult<CredentialRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let name = credential_name(name)?;
    check_secret(secret)?;
    let at = now();
    let row = CredentialRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: access.project_id().to_owned(),
        name,
        username: username.filter(|u| !u.is_empty()),
        sealed_secret: app.secrets.seal(secret),
        created_at: at,
        updated_at: at,
    };
    let summary = format!("created credential '{}'", row.name);
    app.db
        .transaction(async |conn| {
            row.insert(conn).await.map_err(|error| {
                if error.is_unique_violation() {
                    AppError::Conflict(format!("a credential named '{}' exists", row.name))
                } else {
                    error.into()
                }
            })?;
            audit::record_in_project(
                conn,
                access,
                "credential",
                "credential.create",
                &row.id,
                summary,
            )
            .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(row)
}

/// Renames a credential or replaces its user name or secret (maintainers).
pub async fn update_credential(
    app: &App,
    access: &ProjectAccess,
    credential: &CredentialRow,
    name: Option<String>,
    username: Option<String>,
    secret: Option<String>,
) -> AppResult<CredentialRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let name = name.map(|name| credential_name(&name)).transpose()?;
    if let Some(secret) = &secret {
        check_secret(secret)?;
    }
    let changes = CredentialChanges {
        name,
        username: username.map(|u| Some(u).filter(|u| !u.is_empty())),
        sealed_secret: secret.as_deref().map(|secret| app.secrets.seal(secret)),
        updated_at: Some(now()),
    };
    app.db
        .transaction(async |conn| {
            let updated = CredentialRow::update(conn, access.scope(), &credential.id, &changes)
                .await
                .map_err(|error| {
                    if error.is_unique_violation() {
                        AppError::Conflict("a credential with that name exists".into())
                    } else {
                        error.into()
                    }
                })?
                .ok_or(AppError::NotFound("credential"))?;
            let summary = format!(
                "updated credential '{}'{}",
                updated.name,
                if secret.is_some() {
                    " (secret replaced)"
                } else {
                    ""
                }
            );
            audit::record_in_project(
                &mut *conn,
                access,
                "credential",
                "credential.update",
                &updated.id,
                summary,
            )
            .await?;
            Ok(updated)
        })
        .await
}

/// Deletes a credential (maintainers).
pub async fn delete_credential(
    app: &App,
    access: &ProjectAccess,
    credential: &CredentialRow,
) -> AppResult<()> {
    access.ensure(ProjectRole::Maintainer)?;
    let summary = format!("deleted credential '{}'", credential.name);
    app.db
        .transaction(async |conn| {
            CredentialRow::delete(conn, access.scope(), &credential.id).await?;
            audit::record_in_project(
                conn,
                access,
                "credential",
                "credential.delete",
                &credential.id,
                summary,
            )
            .await?;
            Ok(())
        })
        .await
}

fn credential_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LENGTH {
        return Err(AppError::bad_input(
            "name",
            format!("name must be 1 to {MAX_NAME_LENGTH} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn check_secret(secret: &str) -> AppResult<()> {
    if secret.len() > MAX_SECRET_BYTES {
        return Err(AppError::bad_input(
            "secret",
            "secrets are limited to 4 KiB",
        ));
    }
    Ok(())
}

/// Reseals credentials still sealed with the previous key (after a key rotation);
/// returns how many changed.
pub async fn reseal_all(app: &App) -> anyhow::Result<usize> {
    let mut conn = app.db.conn().await?;
    let mut resealed = 0;
    for credential in CredentialRow::list_all(&mut conn).await? {
        if !app.secrets.needs_reseal(&credential.sealed_secret) {
            continue;
        }
        let changes = CredentialChanges {
            sealed_secret: Some(app.secrets.reseal(&credential.sealed_secret)?),
            ..CredentialChanges::default()
        };
        let scope = SystemActor::KEY_ROTATION.scope(&credential.project_id);
        CredentialRow::update(&mut conn, &scope, &credential.id, &changes).await?;
        resealed += 1;
    }
    Ok(resealed)
}
