//! GraphQL for moving cases in and out: import, OpenAPI generation, export.

use std::io::Read;

use async_graphql::{Context, InputObject, Object, SimpleObject, Upload, ID};

use crate::cases::model::CaseFilter;
use crate::cases::spec::{CaseKind, CaseSpec};
use crate::cases::transfer::{self, CaseExportFormat, Commit, Draft, Rejection, TransferReport};
use crate::error::{AppError, GqlResult};
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;

use super::CaseFilterInput;

/// Where legacy question rows are sent unless the import names another endpoint.
const DEFAULT_QUESTION_ENDPOINT: &str = "{{baseUrl}}/query";

/// A case an import or generation would create (or created).
pub struct CaseDraft(Draft);

/// A case found in a file or document, checked like `createCase`.
#[Object]
impl CaseDraft {
    /// Row in the imported file (header = row 1).
    async fn row(&self) -> Option<i64> {
        self.0.row.map(|row| row as i64)
    }

    /// The OpenAPI operation, as `METHOD /path`.
    async fn operation(&self) -> Option<&str> {
        self.0.operation.as_deref()
    }

    /// The case's name.
    async fn name(&self) -> &str {
        &self.0.case.name
    }

    /// The case's kind.
    async fn kind(&self) -> CaseKind {
        self.0.case.kind
    }

    /// Tags.
    async fn tags(&self) -> &[String] {
        &self.0.case.tags
    }

    /// Whether the case will be active.
    async fn active(&self) -> bool {
        self.0.case.active
    }

    /// The spec that will be stored.
    async fn spec(&self) -> &CaseSpec {
        &self.0.case.spec
    }
}

/// Something in a file or document that will not become a case.
#[derive(SimpleObject)]
pub struct RejectedCase {
    /// Row in the imported file (header = row 1).
    row: Option<i64>,
    /// The OpenAPI operation, as `METHOD /path`.
    operation: Option<String>,
    /// The column or spec field at fault.
    column: Option<String>,
    /// What is wrong.
    reason: String,
}

impl From<Rejection> for RejectedCase {
    fn from(rejection: Rejection) -> Self {
        Self {
            row: rejection.row.map(|row| row as i64),
            operation: rejection.operation,
            column: rejection.column,
            reason: rejection.reason,
        }
    }
}

/// Result of `importCases` and `generateCases`.
#[derive(SimpleObject)]
pub struct CaseTransferPayload {
    /// What the input was read as: `QUESTION`, `GENERIC`, `JSON` or `OPENAPI`.
    format: String,
    /// Whether the cases were stored (false for a preview).
    committed: bool,
    /// How many cases were stored.
    created_count: i64,
    /// The cases accepted, in input order.
    drafts: Vec<CaseDraft>,
    /// What was rejected, with row or operation and reason.
    rejected: Vec<RejectedCase>,
    /// For OpenAPI: the document's server URL (set it as the `baseUrl` variable).
    base_url: Option<String>,
}

impl From<TransferReport> for CaseTransferPayload {
    fn from(report: TransferReport) -> Self {
        let created_count = if report.committed {
            report.drafts.len() as i64
        } else {
            0
        };
        Self {
            format: report.format.to_owned(),
            committed: report.committed,
            created_count,
            drafts: report.drafts.into_iter().map(CaseDraft).collect(),
            rejected: report.rejected.into_iter().map(Into::into).collect(),
            base_url: report.base_url,
        }
    }
}

/// Input of `importCases`.
#[derive(InputObject)]
pub struct ImportCasesInput {
    /// The project.
    project_id: ID,
    /// A `.csv`, `.xlsx` or `.json` file (multipart upload). CSV and Excel take either the
    /// question columns (`question`, `expected_keywords`, `is_active`) or the generic ones
    /// (`name`, `method`, `url`, `headers`, `body`, `expected_status`, `keywords`, `tags`).
    file: Upload,
    /// False (default): preview only. True: store the cases.
    #[graphql(default = false)]
    commit: bool,
    /// With `commit`: store the accepted rows even if others were rejected.
    #[graphql(default = false)]
    skip_rejected: bool,
    /// Where question rows are sent (default `{{baseUrl}}/query`).
    endpoint_url: Option<String>,
}

/// Input of `generateCases`: give exactly one of `document`, `file`, `url`.
#[derive(InputObject)]
pub struct GenerateCasesInput {
    /// The project.
    project_id: ID,
    /// An OpenAPI 3 document, JSON or YAML.
    document: Option<String>,
    /// The same, uploaded.
    file: Option<Upload>,
    /// The same, fetched from this http(s) URL.
    url: Option<String>,
    /// False (default): preview only. True: store the cases.
    #[graphql(default = false)]
    commit: bool,
    /// With `commit`: store the accepted operations even if others were skipped.
    #[graphql(default = false)]
    skip_rejected: bool,
}

fn commit_mode(commit: bool, skip_rejected: bool) -> Commit {
    match (commit, skip_rejected) {
        (false, _) => Commit::Preview,
        (true, false) => Commit::AllOrNothing,
        (true, true) => Commit::SkipRejected,
    }
}

fn read_upload(
    ctx: &Context<'_>,
    upload: &Upload,
    field: &str,
) -> Result<(String, Vec<u8>), AppError> {
    let value = upload
        .value(ctx)
        .map_err(|error| AppError::bad_input(field, error.to_string()))?;
    let name = value.filename.clone();
    let mut bytes = Vec::new();
    value.into_read().read_to_end(&mut bytes).map_err(|error| {
        AppError::bad_input(field, format!("could not read the upload: {error}"))
    })?;
    Ok((name, bytes))
}

/// Case import and export queries.
#[derive(Default)]
pub struct CaseTransferQuery;

#[Object]
impl CaseTransferQuery {
    /// A project's cases as a file: JSON (re-importable, every field) or CSV.
    async fn export_cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "JSON or CSV.")] format: CaseExportFormat,
        #[graphql(desc = "Which cases to export (default: all).")] filter: Option<CaseFilterInput>,
    ) -> GqlResult<String> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let filter: CaseFilter = filter.unwrap_or_default().into();
        Ok(transfer::export_cases(ctx.app(), &access, &filter, format).await?)
    }
}

/// Case import and generation mutations (members).
#[derive(Default)]
pub struct CaseTransferMutation;

#[Object]
impl CaseTransferMutation {
    /// Imports cases from a CSV, Excel or JSON upload: a preview by default, all-or-nothing on commit.
    async fn import_cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project, the file and the mode.")] input: ImportCasesInput,
    ) -> GqlResult<CaseTransferPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Member)
            .await?;
        let (name, bytes) = read_upload(ctx, &input.file, "file")?;
        let endpoint = input
            .endpoint_url
            .unwrap_or_else(|| DEFAULT_QUESTION_ENDPOINT.to_owned());
        let report = transfer::import_cases(
            ctx.app(),
            &access,
            name,
            bytes,
            endpoint,
            commit_mode(input.commit, input.skip_rejected),
        )
        .await?;
        Ok(report.into())
    }

    /// Generates one HTTP case per operation of an OpenAPI 3 document: a preview by default.
    async fn generate_cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project, the document and the mode.")] input: GenerateCasesInput,
    ) -> GqlResult<CaseTransferPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Member)
            .await?;
        let document = match (input.document, input.file, input.url) {
            (Some(document), None, None) => document,
            (None, Some(file), None) => {
                let (_, bytes) = read_upload(ctx, &file, "file")?;
                String::from_utf8(bytes)
                    .map_err(|_| AppError::bad_input("file", "the document is not UTF-8 text"))?
            }
            (None, None, Some(url)) => {
                let limit = ctx.app().config.limits.max_upload_bytes;
                transfer::fetch_document(&ctx.app().egress, &url, limit).await?
            }
            _ => {
                return Err(AppError::bad_input(
                    "document",
                    "give exactly one of document, file, url",
                )
                .into())
            }
        };
        let report = transfer::generate_cases(
            ctx.app(),
            &access,
            document,
            commit_mode(input.commit, input.skip_rejected),
        )
        .await?;
        Ok(report.into())
    }
}
