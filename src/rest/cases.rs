//! `POST /cases/import`: the case import of the question-and-keywords platform.

use std::sync::Arc;

use poem::web::{Data, Json, Multipart, Query};
use poem::{handler, IntoResponse, Request, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::app::App;
use crate::cases::transfer::{self, Commit};
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;

use super::{error_response, viewer};

/// Query parameters of `POST /cases/import`.
#[derive(Debug, Deserialize)]
pub struct ImportParams {
    /// The project the cases go to.
    project_id: String,
    /// Store the cases (default true, as the original platform did); false previews.
    commit: Option<bool>,
    /// Store the accepted rows even if others were rejected (default false).
    skip_rejected: Option<bool>,
    /// Where question rows are sent (default `{{baseUrl}}/query`).
    endpoint_url: Option<String>,
}

/// Imports the multipart field `file` (CSV, Excel or JSON) into a project.
#[handler]
pub async fn import(
    request: &Request,
    Query(params): Query<ImportParams>,
    multipart: Multipart,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match run_import(app, request, params, multipart).await {
        Ok(body) => Json(body).into_response(),
        Err(error) => error_response(error),
    }
}

async fn run_import(
    app: &Arc<App>,
    request: &Request,
    params: ImportParams,
    mut multipart: Multipart,
) -> AppResult<serde_json::Value> {
    let viewer = viewer(app, request).await?;
    let access =
        ProjectAccess::require(app, &viewer, &params.project_id, ProjectRole::Member).await?;
    let limit = app.config.limits.max_upload_bytes;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|error| {
        AppError::bad_input("file", format!("malformed multipart body: {error}"))
    })? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload.csv").to_owned();
        let mut bytes = Vec::new();
        field
            .into_async_read()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| {
                AppError::bad_input("file", format!("could not read the upload: {error}"))
            })?;
        if bytes.len() > limit {
            return Err(AppError::bad_input(
                "file",
                format!("the file exceeds {limit} bytes"),
            ));
        }
        file = Some((name, bytes));
    }
    let (name, bytes) = file.ok_or_else(|| {
        AppError::bad_input("file", "send the file in a multipart field named 'file'")
    })?;
    let commit = match (
        params.commit.unwrap_or(true),
        params.skip_rejected.unwrap_or(false),
    ) {
        (false, _) => Commit::Preview,
        (true, false) => Commit::AllOrNothing,
        (true, true) => Commit::SkipRejected,
    };
    let endpoint = params
        .endpoint_url
        .unwrap_or_else(|| "{{baseUrl}}/query".to_owned());
    let report = transfer::import_cases(app, &access, name, bytes, endpoint, commit).await?;
    let cases: Vec<serde_json::Value> = report
        .drafts
        .iter()
        .map(|draft| json!({ "row": draft.row, "id": draft.case.id, "name": draft.case.name, "kind": draft.case.kind }))
        .collect();
    let rejected: Vec<serde_json::Value> = report
        .rejected
        .iter()
        .map(|r| json!({ "row": r.row, "column": r.column, "reason": r.reason }))
        .collect();
    Ok(json!({
        "format": report.format,
        "committed": report.committed,
        "created": if report.committed { cases.len() } else { 0 },
        "cases": cases,
        "rejected": rejected,
    }))
}
