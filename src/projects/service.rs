//! Project rules: creation, settings, archiving, deletion, membership.

use crate::app::App;
use crate::audit::{self, AuditEvent};
use crate::auth::Viewer;
use crate::config::ProjectCreation;
use crate::db::stored::Json;
use crate::db::{now, Conn};
use crate::error::{AppError, AppResult};
use crate::users::model::UserRow;

use super::access::ProjectAccess;
use super::model::{
    MemberRow, ProjectChanges, ProjectRole, ProjectRow, ProjectSettings, ProjectSettingsInput,
};

/// Longest project name, in characters.
const MAX_NAME_LENGTH: usize = 100;
/// Longest description, in characters.
const MAX_DESCRIPTION_LENGTH: usize = 2000;
/// Highest `maxWorkers` a project may set.
pub const MAX_WORKERS_LIMIT: i32 = 256;

/// Creates a project; the caller becomes its owner. With `TIDEWATCH_PROJECT_CREATION=admins`
/// only admins may.
pub async fn create_project(
    app: &App,
    viewer: &Viewer,
    name: &str,
    description: Option<String>,
    settings: Option<ProjectSettingsInput>,
) -> AppResult<ProjectRow> {
    if app.config.auth.project_creation == ProjectCreation::Admins && !viewer.is_admin() {
        return Err(AppError::Forbidden(
            "only admins may create projects on this node".into(),
        ));
    }
    let name = project_name(name)?;
    let description = project_description(description.unwrap_or_default())?;
    let settings = merged_settings(ProjectSettings::default(), settings.unwrap_or_default())?;
    let created_at = now();
    let project = ProjectRow {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        description,
        archived: false,
        settings: Json(settings),
        created_by: viewer.id().to_owned(),
        created_at,
        updated_at: created_at,
    };
    let owner = MemberRow {
        project_id: project.id.clone(),
        user_id: viewer.id().to_owned(),
        role: ProjectRole::Owner,
        added_at: created_at,
    };
    let summary = format!("created project '{}'", project.name);
    app.db
        .transaction(async |conn| {
            project.insert_with_owner(conn, &owner).await?;
            let event = AuditEvent {
                project_id: Some(&project.id),
                action: "project.create",
                object_type: "project",
                object_id: &project.id,
                summary,
            };
            audit::record(conn, viewer, event).await
        })
        .await?;
    Ok(project)
}

/// Renames, re-describes or re-configures a project (maintainers).
pub async fn update_project(
    app: &App,
    access: &ProjectAccess,
    name: Option<String>,
    description: Option<String>,
    settings: Option<ProjectSettingsInput>,
) -> AppResult<ProjectRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let mut changed = Vec::new();
    let name = name.map(|name| project_name(&name)).transpose()?;
    if let Some(name) = &name {
        changed.push(format!("name '{}' -> '{name}'", access.project().name));
    }
    let description = description.map(project_description).transpose()?;
    if description.is_some() {
        changed.push("description".to_owned());
    }
    let settings = match settings {
        Some(input) => {
            let merged = merged_settings(access.project().settings(), input)?;
            changed.push(format!(
                "settings (maxWorkers {}, {} default headers)",
                merged.max_workers,
                merged.default_headers.len()
            ));
            Some(Json(merged))
        }
        None => None,
    };
    let changes = ProjectChanges {
        name,
        description,
        settings,
        updated_at: Some(now()),
        ..ProjectChanges::default()
    };
    let summary = format!("changed {}", changed.join(", "));
    app.db
        .transaction(async |conn| {
            let project = ProjectRow::update(conn, access.scope(), &changes)
                .await?
                .ok_or(AppError::NotFound("project"))?;
            audit::record_in_project(
                conn,
                access,
                "project",
                "project.update",
                &project.id,
                summary,
            )
            .await?;
            Ok(project)
        })
        .await
}

/// Archives or restores a project (owners).
pub async fn set_archived(
    app: &App,
    access: &ProjectAccess,
    archived: bool,
) -> AppResult<ProjectRow> {
    access.ensure(ProjectRole::Owner)?;
    let changes = ProjectChanges {
        archived: Some(archived),
        updated_at: Some(now()),
        ..ProjectChanges::default()
    };
    let action = if archived {
        "project.archive"
    } else {
        "project.unarchive"
    };
    app.db
        .transaction(async |conn| {
            let project = ProjectRow::update(conn, access.scope(), &changes)
                .await?
                .ok_or(AppError::NotFound("project"))?;
            audit::record_in_project(conn, access, "project", action, &project.id, action.into())
                .await?;
            Ok(project)
        })
        .await
}

/// Deletes a project with its members, environments, cases and runs, in one statement
/// (owners); `CONFLICT` while a run of it is active.
pub async fn delete_project(app: &App, access: &ProjectAccess) -> AppResult<()> {
    access.ensure(ProjectRole::Owner)?;
    let summary = format!("deleted project '{}'", access.project().name);
    app.db
        .transaction(async |conn| {
            crate::runs::service::ensure_no_active_run(conn, access.scope()).await?;
            if !ProjectRow::delete(conn, access.scope()).await? {
                return Err(AppError::NotFound("project"));
            }
            audit::record_in_project(
                conn,
                access,
                "project",
                "project.delete",
                access.project_id(),
                summary,
            )
            .await?;
            Ok(())
        })
        .await
}

/// Adds a user to the project with `role` (owners).
pub async fn add_member(
    app: &App,
    access: &ProjectAccess,
    user_id: &str,
    role: ProjectRole,
) -> AppResult<MemberRow> {
    access.ensure(ProjectRole::Owner)?;
    let member = MemberRow {
        project_id: access.project_id().to_owned(),
        user_id: user_id.to_owned(),
        role,
        added_at: now(),
    };
    app.db
        .transaction(async |conn| {
            let user = UserRow::find_by_id(conn, user_id)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            let summary = format!("added {} as {}", user.username, role.as_str());
            member.insert(conn).await.map_err(|error| {
                if error.is_unique_violation() {
                    AppError::Conflict(format!("{} is already a member", user.username))
                } else {
                    error.into()
                }
            })?;
            audit::record_in_project(conn, access, "member", "member.add", &user.id, summary)
                .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(member)
}

/// Changes a member's role (owners). The last owner keeps the role.
pub async fn change_member_role(
    app: &App,
    access: &ProjectAccess,
    user_id: &str,
    role: ProjectRole,
) -> AppResult<MemberRow> {
    access.ensure(ProjectRole::Owner)?;
    app.db
        .transaction(async |conn| {
            let current = MemberRow::find(conn, access.project_id(), user_id)
                .await?
                .ok_or(AppError::NotFound("member"))?;
            if role != ProjectRole::Owner {
                ensure_not_last_owner(conn, access, &current).await?;
            }
            let member = MemberRow::set_role(conn, access.scope(), user_id, role)
                .await?
                .ok_or(AppError::NotFound("member"))?;
            let summary = format!("role {} -> {}", current.role, role);
            audit::record_in_project(conn, access, "member", "member.update", user_id, summary)
                .await?;
            Ok(member)
        })
        .await
}

/// Removes a member (owners). The last owner stays.
pub async fn remove_member(app: &App, access: &ProjectAccess, user_id: &str) -> AppResult<()> {
    access.ensure(ProjectRole::Owner)?;
    app.db
        .transaction(async |conn| {
            let current = MemberRow::find(conn, access.project_id(), user_id)
                .await?
                .ok_or(AppError::NotFound("member"))?;
            ensure_not_last_owner(conn, access, &current).await?;
            MemberRow::delete(conn, access.scope(), user_id).await?;
            let summary = format!("removed member ({})", current.role);
            audit::record_in_project(conn, access, "member", "member.remove", user_id, summary)
                .await?;
            Ok(())
        })
        .await
}

/// `CONFLICT` when `member` is the project's only owner. Run inside the
/// transaction that demotes or removes them, so two owners leaving at once
/// cannot both pass.
async fn ensure_not_last_owner(
    conn: &mut Conn,
    access: &ProjectAccess,
    member: &MemberRow,
) -> AppResult<()> {
    if member.role == ProjectRole::Owner
        && MemberRow::count_owners(conn, access.scope()).await? <= 1
    {
        return Err(AppError::Conflict(
            "a project keeps at least one owner".into(),
        ));
    }
    Ok(())
}

fn project_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LENGTH {
        return Err(AppError::bad_input(
            "name",
            format!("name must be 1 to {MAX_NAME_LENGTH} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn project_description(description: String) -> AppResult<String> {
    if description.chars().count() > MAX_DESCRIPTION_LENGTH {
        return Err(AppError::bad_input(
            "description",
            format!("description must be at most {MAX_DESCRIPTION_LENGTH} characters"),
        ));
    }
    Ok(description)
}

fn merged_settings(
    mut settings: ProjectSettings,
    input: ProjectSettingsInput,
) -> AppResult<ProjectSettings> {
    if let Some(max_workers) = input.max_workers {
        if !(1..=MAX_WORKERS_LIMIT).contains(&max_workers) {
            return Err(AppError::bad_input(
                "settings.maxWorkers",
                format!("maxWorkers must be between 1 and {MAX_WORKERS_LIMIT}"),
            ));
        }
        settings.max_workers = max_workers;
    }
    if let Some(headers) = input.default_headers {
        if let Some(index) = headers.iter().position(|h| h.name.trim().is_empty()) {
            return Err(AppError::bad_input(
                &format!("settings.defaultHeaders[{index}].name"),
                "header names must not be empty",
            ));
        }
        settings.default_headers = headers;
    }
    Ok(settings)
}
