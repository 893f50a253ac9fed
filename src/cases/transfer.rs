//! Cases in and out of files: import (CSV, Excel, JSON), OpenAPI generation, export.
//!
//! Every incoming case goes through the same checks as `createCase`. A
//! preview writes nothing; a commit writes all accepted cases in one
//! transaction, and refuses (writing nothing) while any row is rejected unless
//! the caller asks to skip rejected rows.

use std::sync::Arc;

use crate::app::App;
use crate::egress::{denial_in, EgressClient, EgressDenied, EgressPolicy};
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;

use super::export::{export_csv, export_json, ExportedCase};
use super::import::{import_file, ImportDefaults, ImportFormat, ImportedCase};
use super::model::{CaseFilter, CaseOrderField, CaseRow, SortDirection};
use super::openapi;
use super::service::{create_cases, prepare_case, NewCase};

/// Most redirects followed when fetching an OpenAPI document.
const FETCH_MAX_REDIRECTS: usize = 10;

/// A case that would be (or was) created.
pub struct Draft {
    /// Row in the file, for imports.
    pub row: Option<usize>,
    /// `METHOD /path`, for OpenAPI generation.
    pub operation: Option<String>,
    /// The validated case.
    pub case: CaseRow,
}

/// Something that will not become a case, and why.
pub struct Rejection {
    /// Row in the file, for imports.
    pub row: Option<usize>,
    /// `METHOD /path`, for OpenAPI generation.
    pub operation: Option<String>,
    /// The column or input field at fault.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// What an import or generation found, and whether it was written.
pub struct TransferReport {
    /// `QUESTION`, `GENERIC`, `JSON` or `OPENAPI`.
    pub format: &'static str,
    /// The cases accepted.
    pub drafts: Vec<Draft>,
    /// What was rejected.
    pub rejected: Vec<Rejection>,
    /// Whether the drafts were stored.
    pub committed: bool,
    /// The document's server URL, for OpenAPI generation (set it as `baseUrl`).
    pub base_url: Option<String>,
}

/// How a commit treats rejected rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Write nothing; report what would be written.
    Preview,
    /// Write everything, or nothing if anything was rejected.
    AllOrNothing,
    /// Write the accepted cases, leaving out the rejected ones.
    SkipRejected,
}

/// Imports a CSV, Excel or JSON file of cases into the project.
pub async fn import_cases(
    app: &App,
    access: &ProjectAccess,
    file_name: String,
    bytes: Vec<u8>,
    endpoint_url: String,
    commit: Commit,
) -> AppResult<TransferReport> {
    let defaults = ImportDefaults { endpoint_url };
    let outcome = tokio::task::spawn_blocking(move || import_file(&file_name, &bytes, &defaults))
        .await
        .map_err(AppError::internal)?
        .map_err(|error| AppError::bad_input("file", error.to_string()))?;
    let format = match outcome.format {
        ImportFormat::Question => "QUESTION",
        ImportFormat::Generic => "GENERIC",
        ImportFormat::Json => "JSON",
    };
    let mut rejected: Vec<Rejection> = outcome
        .rejected
        .into_iter()
        .map(|row| Rejection {
            row: Some(row.row),
            operation: None,
            column: row.column,
            reason: row.reason,
        })
        .collect();
    let mut drafts = Vec::new();
    for imported in outcome.cases {
        let row = imported.row;
        match prepare_case(access, new_case(imported), "") {
            Ok(case) => drafts.push(Draft {
                row: Some(row),
                operation: None,
                case,
            }),
            Err(error) => rejected.push(rejection(Some(row), None, error)?),
        }
    }
    rejected.sort_by_key(|rejection| rejection.row);
    finish(
        app,
        access,
        format,
        drafts,
        rejected,
        None,
        commit,
        "case.import",
    )
    .await
}

/// Generates one HTTP case per operation of an OpenAPI 3 document (JSON or YAML).
pub async fn generate_cases(
    app: &App,
    access: &ProjectAccess,
    document: String,
    commit: Commit,
) -> AppResult<TransferReport> {
    let generation = tokio::task::spawn_blocking(move || openapi::generate(&document))
        .await
        .map_err(AppError::internal)?
        .map_err(|error| AppError::bad_input("document", error.to_string()))?;
    let mut rejected: Vec<Rejection> = generation
        .skipped
        .into_iter()
        .map(|skipped| Rejection {
            row: None,
            operation: Some(skipped.operation),
            column: None,
            reason: skipped.reason,
        })
        .collect();
    let mut drafts = Vec::new();
    for generated in generation.cases {
        let case = NewCase {
            name: generated.name,
            description: generated.description,
            tags: generated.tags,
            priority: None,
            active: Some(true),
            spec: generated.spec,
        };
        match prepare_case(access, case, "") {
            Ok(case) => drafts.push(Draft {
                row: None,
                operation: Some(generated.operation),
                case,
            }),
            Err(error) => rejected.push(rejection(None, Some(generated.operation), error)?),
        }
    }
    let base_url = generation.base_url;
    finish(
        app,
        access,
        "OPENAPI",
        drafts,
        rejected,
        base_url,
        commit,
        "case.generate",
    )
    .await
}

/// Downloads an OpenAPI document (http or https, at most `max_bytes`) under the
/// egress policy, redirects included.
pub async fn fetch_document(
    egress: &Arc<EgressPolicy>,
    url: &str,
    max_bytes: usize,
) -> AppResult<String> {
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|parsed| matches!(parsed.scheme(), "http" | "https"))
        .ok_or_else(|| AppError::bad_input("url", "must be an http(s) URL"))?;
    let refused = |denied: EgressDenied| {
        AppError::bad_input("url", format!("could not fetch the document: {denied}"))
    };
    let unreachable = |error: reqwest::Error| match denial_in(&error) {
        Some(denied) => refused(denied.clone()),
        None => AppError::bad_input("url", format!("could not fetch the document: {error}")),
    };
    let builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(15));
    let client = EgressClient::new(egress.clone(), builder, Some(FETCH_MAX_REDIRECTS))
        .map_err(AppError::internal)?;
    let mut response = client
        .request(reqwest::Method::GET, parsed)
        .map_err(refused)?
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(AppError::bad_input(
            "url",
            format!("the document URL answered {}", response.status()),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        body.extend_from_slice(&chunk);
        if body.len() > max_bytes {
            return Err(AppError::bad_input("url", "the document is too large"));
        }
    }
    String::from_utf8(body)
        .map_err(|_| AppError::bad_input("url", "the document is not UTF-8 text"))
}

/// Which file format `exportCases` writes.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseExportFormat {
    /// Every field of every case; `importCases` reads it back exactly.
    Json,
    /// One row per case in the generic import columns.
    Csv,
}

/// The project's cases matching `filter`, as a file.
pub async fn export_cases(
    app: &App,
    access: &ProjectAccess,
    filter: &CaseFilter,
    format: CaseExportFormat,
) -> AppResult<String> {
    let rows = CaseRow::page(
        &mut app.db.conn().await?,
        access.scope(),
        filter,
        (CaseOrderField::CreatedAt, SortDirection::Asc),
        0,
        None,
    )
    .await?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in rows {
        cases.push(ExportedCase {
            spec: row.spec.into_inner(),
            tags: row.tags.into_inner(),
            name: row.name,
            description: Some(row.description).filter(|d| !d.is_empty()),
            active: row.active,
            priority: Some(row.priority),
        });
    }
    Ok(match format {
        CaseExportFormat::Json => export_json(&cases),
        CaseExportFormat::Csv => export_csv(&cases),
    })
}

fn new_case(imported: ImportedCase) -> NewCase {
    NewCase {
        name: imported.name,
        description: imported.description,
        tags: imported.tags,
        priority: imported.priority,
        active: Some(imported.active),
        spec: imported.spec,
    }
}

/// A row-level rejection for input errors; anything else stops the whole transfer.
fn rejection(
    row: Option<usize>,
    operation: Option<String>,
    error: AppError,
) -> AppResult<Rejection> {
    match error {
        AppError::BadInput { field, message } => Ok(Rejection {
            row,
            operation,
            column: Some(field),
            reason: message,
        }),
        AppError::Forbidden(message) => Ok(Rejection {
            row,
            operation,
            column: Some("spec".to_owned()),
            reason: message,
        }),
        other => Err(other),
    }
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    app: &App,
    access: &ProjectAccess,
    format: &'static str,
    drafts: Vec<Draft>,
    rejected: Vec<Rejection>,
    base_url: Option<String>,
    commit: Commit,
    action: &str,
) -> AppResult<TransferReport> {
    let committed = match commit {
        Commit::Preview => false,
        Commit::AllOrNothing if !rejected.is_empty() => {
            return Err(AppError::bad_input(
                "commit",
                format!(
                    "{} rows were rejected, so nothing was written; fix them, or commit with skipRejected",
                    rejected.len()
                ),
            ))
        }
        Commit::AllOrNothing | Commit::SkipRejected => {
            let rows: Vec<CaseRow> = drafts.iter().map(|draft| draft.case.clone()).collect();
            if !rows.is_empty() {
                create_cases(app, access, &rows, action).await?;
            }
            true
        }
    };
    Ok(TransferReport {
        format,
        drafts,
        rejected,
        committed,
        base_url,
    })
}
