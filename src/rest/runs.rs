//! `GET /runs/{id}/report.{xml,json,csv,html}`: a run's report as a download.

use std::sync::Arc;

use poem::web::{Data, Path};
use poem::{handler, IntoResponse, Request, Response};

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;
use crate::runs::model::{RunCaseRow, RunRow};
use crate::runs::report::{render, ReportFormat};

use super::{error_response, viewer};

/// Renders the report of run `id` in the format its file extension names (project viewers).
#[handler]
pub async fn report(
    request: &Request,
    Path((id, file)): Path<(String, String)>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match render_report(app, request, &id, &file).await {
        Ok(response) => response,
        Err(error) => error_response(error),
    }
}

async fn render_report(
    app: &Arc<App>,
    request: &Request,
    id: &str,
    file: &str,
) -> AppResult<Response> {
    let format = file
        .strip_prefix("report.")
        .and_then(ReportFormat::from_extension)
        .ok_or(AppError::NotFound("report format"))?;
    let viewer = viewer(app, request).await?;
    let (run, _) =
        ProjectAccess::for_object::<RunRow>(app, &viewer, id, ProjectRole::Viewer).await?;
    let cases = RunCaseRow::list_for_run(&mut app.db.conn().await?, &run.id).await?;
    let body = render(format, &run, &cases);
    Ok(body
        .with_content_type(format.content_type())
        .with_header(
            poem::http::header::CONTENT_DISPOSITION,
            format!("inline; filename=\"run-{}-{file}\"", run.id),
        )
        .into_response())
}
