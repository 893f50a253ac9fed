//! Case rules: fields, specs, who may write which kind, bulk changes.

use std::collections::BTreeMap;

use crate::app::App;
use crate::audit;
use crate::auth::Viewer;
use crate::db::now;
use crate::db::stored::Json;
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;

use super::model::{CaseChanges, CaseRow};
use super::spec::{CaseKind, CaseSpec};
use super::validate::validate_spec;

/// Longest case name, in characters.
const MAX_NAME_LENGTH: usize = 200;
/// Longest description, in characters.
const MAX_DESCRIPTION_LENGTH: usize = 5000;
/// Most tags on one case.
const MAX_TAGS: usize = 20;
/// Priority bounds (0 is the most urgent).
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = 0..=9;
/// Priority of a case that names none.
pub const DEFAULT_PRIORITY: i32 = 2;

/// What a new case holds.
pub struct NewCase {
    /// Name, 1–200 characters.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Labels for finding and running cases together.
    pub tags: Vec<String>,
    /// 0 (most urgent) to 9.
    pub priority: Option<i32>,
    /// Inactive cases are kept but not run.
    pub active: Option<bool>,
    /// The typed spec.
    pub spec: CaseSpec,
}

/// Changes to a case; `None` leaves a field as it is.
#[derive(Default)]
pub struct CaseEdit {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New tags (replace the list).
    pub tags: Option<Vec<String>>,
    /// New priority.
    pub priority: Option<i32>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New spec (may change the kind).
    pub spec: Option<CaseSpec>,
}

/// The role needed to write cases of `kind`: scripts and browser steps run code.
pub fn role_to_write(kind: CaseKind) -> ProjectRole {
    match kind {
        CaseKind::Script | CaseKind::Ui => ProjectRole::Maintainer,
        CaseKind::Http | CaseKind::Perf => ProjectRole::Member,
    }
}

/// Validates `case` and turns it into a row of the project (nothing is stored).
pub fn prepare_case(
    access: &ProjectAccess,
    case: NewCase,
    field_prefix: &str,
) -> AppResult<CaseRow> {
    let kind = validate_spec(&format!("{field_prefix}spec"), &case.spec)?;
    access.ensure(role_to_write(kind))?;
    let created_at = now();
    Ok(CaseRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: access.project_id().to_owned(),
        kind,
        name: case_name(&format!("{field_prefix}name"), &case.name)?,
        description: case_description(case.description.unwrap_or_default())?,
        tags: Json(checked_tags(&format!("{field_prefix}tags"), case.tags)?),
        priority: priority(case.priority.unwrap_or(DEFAULT_PRIORITY))?,
        active: case.active.unwrap_or(true),
        spec: Json(case.spec),
        created_by: access.viewer().id().to_owned(),
        updated_by: access.viewer().id().to_owned(),
        created_at,
        updated_at: created_at,
    })
}

/// Creates a case (members; maintainers for script and UI cases).
pub async fn create_case(app: &App, access: &ProjectAccess, case: NewCase) -> AppResult<CaseRow> {
    let row = prepare_case(access, case, "")?;
    let summary = format!("created {} case '{}'", row.kind, row.name);
    store_new_case(app, access, row, "case.create", summary).await
}

/// Stores many prepared cases of one project, all or none, with one audit entry.
pub async fn create_cases(
    app: &App,
    access: &ProjectAccess,
    rows: &[CaseRow],
    action: &str,
) -> AppResult<()> {
    let summary = format!("{action}: {} cases", rows.len());
    app.db
        .transaction(async |conn| {
            CaseRow::insert_all(conn, rows).await?;
            audit::record_in_project(conn, access, "case", action, access.project_id(), summary)
                .await?;
            Ok(())
        })
        .await
}

/// Changes a case. Writing a script or UI case (before or after) needs a maintainer.
pub async fn update_case(
    app: &App,
    access: &ProjectAccess,
    case: &CaseRow,
    edit: CaseEdit,
) -> AppResult<CaseRow> {
    access.ensure(role_to_write(case.kind))?;
    let mut changed = Vec::new();
    let kind = match &edit.spec {
        Some(spec) => {
            let kind = validate_spec("spec", spec)?;
            access.ensure(role_to_write(kind))?;
            changed.push("spec");
            Some(kind)
        }
        None => None,
    };
    let changes = CaseChanges {
        kind,
        name: edit
            .name
            .map(|name| case_name("name", &name))
            .transpose()?
            .inspect(|_| changed.push("name")),
        description: edit
            .description
            .map(case_description)
            .transpose()?
            .inspect(|_| changed.push("description")),
        tags: edit
            .tags
            .map(|tags| checked_tags("tags", tags).map(Json))
            .transpose()?
            .inspect(|_| changed.push("tags")),
        priority: edit
            .priority
            .map(priority)
            .transpose()?
            .inspect(|_| changed.push("priority")),
        active: edit.active.inspect(|_| changed.push("active")),
        spec: edit.spec.map(Json),
        updated_by: Some(access.viewer().id().to_owned()),
        updated_at: Some(now()),
    };
    app.db
        .transaction(async |conn| {
            let updated = CaseRow::update(conn, access.scope(), &case.id, &changes)
                .await?
                .ok_or(AppError::NotFound("case"))?;
            let summary = format!("case '{}': changed {}", updated.name, changed.join(", "));
            audit::record_in_project(
                &mut *conn,
                access,
                "case",
                "case.update",
                &updated.id,
                summary,
            )
            .await?;
            Ok(updated)
        })
        .await
}

/// Copies a case into the same project under a new name.
pub async fn copy_case(
    app: &App,
    access: &ProjectAccess,
    case: &CaseRow,
    name: Option<String>,
) -> AppResult<CaseRow> {
    let copy = NewCase {
        name: name.unwrap_or_else(|| copy_name(&case.name)),
        description: Some(case.description.clone()),
        tags: case.tags.0.clone(),
        priority: Some(case.priority),
        active: Some(case.active),
        spec: case.spec.0.clone(),
    };
    let row = prepare_case(access, copy, "")?;
    let summary = format!("copied case '{}' as '{}'", case.name, row.name);
    store_new_case(app, access, row, "case.copy", summary).await
}

/// Stores one prepared case with its audit entry.
async fn store_new_case(
    app: &App,
    access: &ProjectAccess,
    row: CaseRow,
    action: &str,
    summary: String,
) -> AppResult<CaseRow> {
    app.db
        .transaction(async |conn| {
            CaseRow::insert_all(conn, std::slice::from_ref(&row)).await?;
            audit::record_in_project(conn, access, "case", action, &row.id, summary).await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(row)
}

/// Deletes a case (same roles as writing it).
pub async fn delete_case(app: &App, access: &ProjectAccess, case: &CaseRow) -> AppResult<()> {
    access.ensure(role_to_write(case.kind))?;
    let summary = format!("deleted case '{}'", case.name);
    app.db
        .transaction(async |conn| {
            CaseRow::delete(conn, access.scope(), &case.id).await?;
            audit::record_in_project(conn, access, "case", "case.delete", &case.id, summary)
                .await?;
            Ok(())
        })
        .await
}

/// Activates or deactivates many cases, possibly of several projects, all or none.
pub async fn set_cases_active(
    app: &App,
    viewer: &Viewer,
    ids: &[String],
    active: bool,
) -> AppResult<Vec<CaseRow>> {
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    let mut conn = app.db.conn().await?;
    let cases = CaseRow::find_by_ids(&mut conn, &unique).await?;
    if cases.len() != unique.len() {
        return Err(AppError::NotFound("case"));
    }
    let mut by_project: BTreeMap<&str, Vec<&CaseRow>> = BTreeMap::new();
    for case in &cases {
        by_project.entry(&case.project_id).or_default().push(case);
    }
    let mut accesses = Vec::new();
    for (project_id, project_cases) in &by_project {
        let access = ProjectAccess::check(&mut conn, viewer, project_id, ProjectRole::Member)
            .await
            .map_err(|error| match error {
                AppError::NotFound(_) => AppError::NotFound("case"),
                other => other,
            })?;
        for case in project_cases {
            access.ensure(role_to_write(case.kind))?;
        }
        accesses.push((access, project_cases.len()));
    }
    let state = if active { "active" } else { "inactive" };
    conn.transaction(async |conn| {
        CaseRow::set_active(conn, &unique, active, viewer.id(), now()).await?;
        for (access, count) in &accesses {
            audit::record_in_project(
                &mut *conn,
                access,
                "case",
                "case.set_active",
                access.project_id(),
                format!("set {count} cases {state}"),
            )
            .await?;
        }
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(CaseRow::find_by_ids(&mut conn, &unique).await?)
}

fn copy_name(name: &str) -> String {
    let suffix = " (copy)";
    let keep = MAX_NAME_LENGTH - suffix.len();
    let base: String = name.chars().take(keep).collect();
    format!("{base}{suffix}")
}

fn case_name(field: &str, name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("name must be 1 to {MAX_NAME_LENGTH} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn case_description(description: String) -> AppResult<String> {
    if description.chars().count() > MAX_DESCRIPTION_LENGTH {
        return Err(AppError::bad_input(
            "description",
            format!("description must be at most {MAX_DESCRIPTION_LENGTH} characters"),
        ));
    }
    Ok(description)
}

fn checked_tags(field: &str, tags: Vec<String>) -> AppResult<Vec<String>> {
    let mut cleaned: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_owned();
        let valid = (1..=50).contains(&tag.chars().count())
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'));
        if !valid {
            return Err(AppError::bad_input(
                field,
                format!("tag '{tag}' must be 1–50 letters, digits or _ - . : /"),
            ));
        }
        if !cleaned.contains(&tag) {
            cleaned.push(tag);
        }
    }
    if cleaned.len() > MAX_TAGS {
        return Err(AppError::bad_input(
            field,
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    Ok(cleaned)
}

fn priority(value: i32) -> AppResult<i32> {
    if PRIORITY_RANGE.contains(&value) {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            "priority",
            "priority must be between 0 and 9",
        ))
    }
}
