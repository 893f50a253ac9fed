//! Environment rules: names, variables, the default, and write-only secrets.

use crate::app::App;
use crate::audit;
use crate::db::stored::Json;
use crate::db::{now, DbError};
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;
use crate::projects::scope::SystemActor;

use super::model::{EnvironmentChanges, EnvironmentRow, StoredVariable};

/// Longest environment or variable name.
const MAX_NAME_LENGTH: usize = 64;
/// Largest variable value, in bytes.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A variable as a client writes it.
pub struct VariableInput {
    /// The name used as `{{name}}`.
    pub name: String,
    /// The value.
    pub value: String,
    /// Whether the value is write-only.
    pub secret: bool,
}

/// Creates an environment in the project (maintainers). The first one becomes the default.
pub async fn create_environment(
    app: &App,
    access: &ProjectAccess,
    name: &str,
    is_default: Option<bool>,
    variables: Vec<VariableInput>,
) -> AppResult<EnvironmentRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let name = environment_name(name)?;
    let stored = apply_variables(app, Vec::new(), variables, &[], "variables")?;
    let summary = format!("created environment '{}' with {}", name, describe(&stored));
    app.db
        .transaction(async |conn| {
            let first = EnvironmentRow::list(conn, access.scope()).await?.is_empty();
            let created_at = now();
            let row = EnvironmentRow {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: access.project_id().to_owned(),
                name,
                is_default: is_default.unwrap_or(first),
                variables: Json(stored),
                created_at,
                updated_at: created_at,
            };
            row.insert(conn).await.map_err(|error| {
                if error.is_unique_violation() {
                    AppError::Conflict(format!("an environment named '{}' exists", row.name))
                } else {
                    error.into()
                }
            })?;
            audit::record_in_project(
                &mut *conn,
                access,
                "environment",
                "environment.create",
                &row.id,
                summary,
            )
            .await?;
            Ok(row)
        })
        .await
}

/// Renames an environment, makes it the default, or sets and removes variables (maintainers).
pub async fn update_environment(
    app: &App,
    access: &ProjectAccess,
    environment: EnvironmentRow,
    name: Option<String>,
    is_default: Option<bool>,
    set: Vec<VariableInput>,
    remove: Vec<String>,
) -> AppResult<EnvironmentRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let name = name.map(|name| environment_name(&name)).transpose()?;
    let touched = !set.is_empty() || !remove.is_empty();
    let variables = if touched {
        let stored = apply_variables(app, environment.stored_variables(), set, &remove, "set")?;
        Some(Json(stored))
    } else {
        None
    };
    let changes = EnvironmentChanges {
        name: name.clone(),
        is_default,
        variables,
        updated_at: Some(now()),
    };
    app.db
        .transaction(async |conn| {
            let updated = EnvironmentRow::update(conn, &environment.id, access.scope(), &changes)
                .await
                .map_err(|error| {
                    if error.is_unique_violation() {
                        AppError::Conflict("an environment with that name exists".into())
                    } else {
                        error.into()
                    }
                })?
                .ok_or(AppError::NotFound("environment"))?;
            let mut parts = Vec::new();
            if let Some(name) = name {
                parts.push(format!("renamed '{}' -> '{name}'", environment.name));
            }
            if is_default == Some(true) {
                parts.push("made default".to_owned());
            }
            if touched {
                parts.push(format!("variables now {}", describe(&updated.variables)));
            }
            let summary = format!("environment '{}': {}", updated.name, parts.join("; "));
            audit::record_in_project(
                &mut *conn,
                access,
                "environment",
                "environment.update",
                &updated.id,
                summary,
            )
            .await?;
            Ok(updated)
        })
        .await
}

/// Deletes an environment (maintainers).
pub async fn delete_environment(
    app: &App,
    access: &ProjectAccess,
    environment: &EnvironmentRow,
) -> AppResult<()> {
    access.ensure(ProjectRole::Maintainer)?;
    let summary = format!("deleted environment '{}'", environment.name);
    app.db
        .transaction(async |conn| {
            EnvironmentRow::delete(conn, access.scope(), &environment.id).await?;
            audit::record_in_project(
                &mut *conn,
                access,
                "environment",
                "environment.delete",
                &environment.id,
                summary,
            )
            .await?;
            Ok(())
        })
        .await
}

/// Seals every secret variable still sealed with the previous key again with the
/// current one (after a key rotation); returns how many values changed.
pub async fn reseal_secrets(app: &App) -> AppResult<usize> {
    let mut conn = app.db.conn().await?;
    let mut resealed = 0;
    for mut environment in EnvironmentRow::all(&mut conn).await? {
        let mut changed = false;
        for variable in environment
            .variables
            .iter_mut()
            .filter(|v| v.secret && app.secrets.needs_reseal(&v.value))
        {
            variable.value = app
                .secrets
                .reseal(&variable.value)
                .map_err(AppError::internal)?;
            changed = true;
            resealed += 1;
        }
        if changed {
            let changes = EnvironmentChanges {
                variables: Some(environment.variables),
                ..EnvironmentChanges::default()
            };
            let scope = SystemActor::KEY_ROTATION.scope(&environment.project_id);
            conn.transaction(async |conn| {
                EnvironmentRow::update(conn, &environment.id, &scope, &changes).await?;
                Ok::<_, DbError>(())
            })
            .await?;
        }
    }
    Ok(resealed)
}

/// Sets (adding or replacing by name) and removes variables; secrets are sealed.
fn apply_variables(
    app: &App,
    mut stored: Vec<StoredVariable>,
    set: Vec<VariableInput>,
    remove: &[String],
    field: &str,
) -> AppResult<Vec<StoredVariable>> {
    stored.retain(|variable| !remove.contains(&variable.name));
    for (index, variable) in set.into_iter().enumerate() {
        variable_name(&format!("{field}[{index}].name"), &variable.name)?;
        if variable.value.len() > MAX_VALUE_BYTES {
            return Err(AppError::bad_input(
                &format!("{field}[{index}].value"),
                "values are limited to 64 KiB",
            ));
        }
        let value = if variable.secret {
            app.secrets.seal(&variable.value)
        } else {
            variable.value
        };
        let entry = StoredVariable {
            name: variable.name,
            value,
            secret: variable.secret,
        };
        match stored
            .iter_mut()
            .find(|existing| existing.name == entry.name)
        {
            Some(existing) => *existing = entry,
            None => stored.push(entry),
        }
    }
    stored.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(stored)
}

/// `3 variables (baseUrl, token [secret], user)`: names only, never values.
fn describe(variables: &[StoredVariable]) -> String {
    let names: Vec<String> = variables
        .iter()
        .map(|v| {
            if v.secret {
                format!("{} [secret]", v.name)
            } else {
                v.name.clone()
            }
        })
        .collect();
    format!("{} variables ({})", names.len(), names.join(", "))
}

fn environment_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LENGTH {
        return Err(AppError::bad_input(
            "name",
            format!("name must be 1 to {MAX_NAME_LENGTH} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn variable_name(field: &str, name: &str) -> AppResult<()> {
    let mut chars = name.chars();
    let valid = name.len() <= MAX_NAME_LENGTH
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(AppError::bad_input(
            field,
            "variable names start with a letter or '_' and hold letters, digits, '_', '.', '-'",
        ))
    }
}
