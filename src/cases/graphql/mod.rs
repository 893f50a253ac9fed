//! GraphQL for cases: find, write, copy, bulk-activate; moving cases in and
//! out (import, OpenAPI generation, export) in `transfer`.

use std::borrow::Cow;

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::cases::model::{CaseFilter, CaseHeadRow, CaseOrderField, CaseRow, SortDirection};
use crate::cases::service::{self, CaseEdit, NewCase};
use crate::cases::spec::{CaseKind, CaseSpec};
use crate::connection_names;
use crate::error::{AppError, GqlResult};
use crate::graphql::loaders::Loaders;
use crate::graphql::pagination::{
    page_complexity, total_count_selected, CursorConnection, PageRequest,
};
use crate::graphql::{utc, ContextExt};
use crate::projects::graphql::Project;
use crate::projects::model::ProjectRole;
use crate::users::graphql::User;

mod transfer;

pub use transfer::{CaseTransferMutation, CaseTransferQuery};

connection_names!(CaseConnection, CaseEdge);

/// A test case; lists that do not select `spec` leave it unread.
pub struct Case {
    row: CaseHeadRow,
    spec: Option<CaseSpec>,
}

impl Case {
    /// A case read in full.
    pub fn new(row: CaseRow) -> Self {
        let (row, spec) = row.split();
        Self {
            row,
            spec: Some(spec),
        }
    }

    /// A case read without its spec (read on demand should `spec` be asked for).
    pub fn head(row: CaseHeadRow) -> Self {
        Self { row, spec: None }
    }
}

/// A test case: an HTTP check, a load test, a pytest script or browser steps.
#[Object]
impl Case {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }

    /// The project it belongs to.
    async fn project(&self, ctx: &Context<'_>) -> GqlResult<Project> {
        let loaders = ctx.data_unchecked::<Loaders>();
        let row = loaders
            .projects
            .load_one(self.row.project_id.clone())
            .await?
            .ok_or(AppError::NotFound("project"))?;
        Ok(Project::listed(row, None))
    }

    /// The kind, decided by which spec field is set.
    async fn kind(&self) -> CaseKind {
        self.row.kind
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// Free text.
    async fn description(&self) -> &str {
        &self.row.description
    }

    /// Labels for finding and running cases together.
    async fn tags(&self) -> &[String] {
        &self.row.tags
    }

    /// 0 (most urgent) to 9.
    async fn priority(&self) -> i32 {
        self.row.priority
    }

    /// Inactive cases are kept but not run.
    async fn active(&self) -> bool {
        self.row.active
    }

    /// The typed spec, exactly as written.
    async fn spec(&self, ctx: &Context<'_>) -> GqlResult<Cow<'_, CaseSpec>> {
        if let Some(spec) = &self.spec {
            return Ok(Cow::Borrowed(spec));
        }
        // Listed without its spec, yet asked for it (a selection the list's
        // look-ahead did not see): read this one case.
        let mut conn = ctx.app().db.conn().await?;
        let row = CaseRow::find(&mut conn, &self.row.id)
            .await?
            .ok_or(AppError::NotFound("case"))?;
        Ok(Cow::Owned(row.split().1))
    }

    /// Who created it (null once that account is deleted).
    async fn created_by(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(loaders
            .users
            .load_one(self.row.created_by.clone())
            .await?
            .map(User::new))
    }

    /// Who changed it last (null once that account is deleted).
    async fn updated_by(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(loaders
            .users
            .load_one(self.row.updated_by.clone())
            .await?
            .map(User::new))
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.row.created_at)
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        utc(self.row.updated_at)
    }
}

/// True when a case list's selection shows the cases' specs (through `nodes`
/// or `edges.node`, fragments included), so the list reads them.
fn spec_selected(ctx: &Context<'_>) -> bool {
    let list = ctx.look_ahead();
    list.field("nodes").field("spec").exists()
        || list.field("edges").field("node").field("spec").exists()
}

/// Narrows a case list.
#[derive(InputObject, Default)]
pub struct CaseFilterInput {
    /// Only this kind.
    kind: Option<CaseKind>,
    /// Only cases carrying all of these tags.
    #[graphql(default)]
    tags: Vec<String>,
    /// Only active (true) or inactive (false) cases.
    active: Option<bool>,
    /// Part of the name, description or URL, case-insensitive.
    search: Option<String>,
}

impl From<CaseFilterInput> for CaseFilter {
    fn from(input: CaseFilterInput) -> Self {
        Self {
            kind: input.kind,
            tags: input.tags,
            active: input.active,
            search: input.search,
        }
    }
}

/// How to sort a case list.
#[derive(InputObject, Default)]
pub struct CaseOrderInput {
    /// The column (default `CREATED_AT`).
    #[graphql(default)]
    field: CaseOrderField,
    /// The direction (default `ASC`).
    #[graphql(default)]
    direction: SortDirection,
}

/// Case queries.
#[derive(Default)]
pub struct CaseQuery;

#[Object]
impl CaseQuery {
    /// One case; `NOT_FOUND` unless the caller belongs to its project.
    async fn case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case's id.")] id: ID,
    ) -> GqlResult<Option<Case>> {
        let (case, _) = ctx
            .object_access::<CaseRow>(&id, ProjectRole::Viewer)
            .await?;
        Ok(Some(Case::new(case)))
    }

    /// A project's cases, filtered and sorted.
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which cases to list.")] filter: Option<CaseFilterInput>,
        #[graphql(desc = "How to sort them (default: oldest first).")] order_by: Option<
            CaseOrderInput,
        >,
    ) -> GqlResult<CursorConnection<Case, CaseConnection, CaseEdge>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let page = PageRequest::new(first, after)?;
        let offset = page.offset()?;
        let filter = CaseFilter::from(filter.unwrap_or_default());
        let order = order_by.unwrap_or_default();
        let order = (order.field, order.direction);
        let limit = Some(page.fetch_limit());
        let mut conn = ctx.app().db.conn().await?;
        let scope = access.scope();
        let nodes: Vec<Case> = if spec_selected(ctx) {
            let rows = CaseRow::page(&mut conn, scope, &filter, order, offset, limit).await?;
            rows.into_iter().map(Case::new).collect()
        } else {
            let rows = CaseRow::page_heads(&mut conn, scope, &filter, order, offset, limit).await?;
            rows.into_iter().map(Case::head).collect()
        };
        let total = if total_count_selected(ctx) {
            CaseRow::count(&mut conn, access.scope(), &filter).await?
        } else {
            0
        };
        Ok(page.offset_connection(nodes, total, offset, |case| case))
    }
}

/// Input of `createCase`.
#[derive(InputObject)]
pub struct CreateCaseInput {
    /// The project.
    project_id: ID,
    /// Name, 1–200 characters.
    name: String,
    /// Free text.
    description: Option<String>,
    /// Labels.
    #[graphql(default)]
    tags: Vec<String>,
    /// 0 (most urgent) to 9, default 2.
    priority: Option<i32>,
    /// Default true.
    active: Option<bool>,
    /// The typed spec: set exactly one of `http`, `perf`, `script`, `ui`.
    spec: CaseSpec,
}

/// Input of `updateCase`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCaseInput {
    /// The case.
    id: ID,
    /// New name.
    name: Option<String>,
    /// New description.
    description: Option<String>,
    /// New tags (replace the list).
    tags: Option<Vec<String>>,
    /// New priority.
    priority: Option<i32>,
    /// Activate or deactivate.
    active: Option<bool>,
    /// New spec.
    spec: Option<CaseSpec>,
}

/// Input of `copyCase`.
#[derive(InputObject)]
pub struct CopyCaseInput {
    /// The case to copy.
    id: ID,
    /// Name of the copy (default: the name with " (copy)").
    name: Option<String>,
}

/// Input of `deleteCase`.
#[derive(InputObject)]
pub struct DeleteCaseInput {
    /// The case.
    id: ID,
}

/// Input of `setCasesActive`.
#[derive(InputObject)]
pub struct SetCasesActiveInput {
    /// The cases (of any projects where the caller may edit them).
    ids: Vec<ID>,
    /// The new flag.
    active: bool,
}

/// Result of a mutation that writes a case.
#[derive(SimpleObject)]
pub struct CasePayload {
    /// The case as it is now.
    case: Case,
}

/// Result of `deleteCase`.
#[derive(SimpleObject)]
pub struct DeleteCasePayload {
    /// Id of the deleted case.
    deleted_case_id: ID,
}

/// Result of `setCasesActive`.
#[derive(SimpleObject)]
pub struct SetCasesActivePayload {
    /// The cases as they are now.
    cases: Vec<Case>,
}

/// Case mutations.
#[derive(Default)]
pub struct CaseMutation;

#[Object]
impl CaseMutation {
    /// Creates a case (members; maintainers for `script` and `ui`).
    async fn create_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project and the case.")] input: CreateCaseInput,
    ) -> GqlResult<CasePayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Member)
            .await?;
        let case = NewCase {
            name: input.name,
            description: input.description,
            tags: input.tags,
            priority: input.priority,
            active: input.active,
            spec: input.spec,
        };
        let row = service::create_case(ctx.app(), &access, case).await?;
        Ok(CasePayload {
            case: Case::new(row),
        })
    }

    /// Changes a case; omitted fields stay. Runs already started keep their snapshot.
    async fn update_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case and the fields to change.")] input: UpdateCaseInput,
    ) -> GqlResult<CasePayload> {
        let (case, access) = ctx
            .object_access::<CaseRow>(&input.id, ProjectRole::Member)
            .await?;
        let edit = CaseEdit {
            name: input.name,
            description: input.description,
            tags: input.tags,
            priority: input.priority,
            active: input.active,
            spec: input.spec,
        };
        let row = service::update_case(ctx.app(), &access, &case, edit).await?;
        Ok(CasePayload {
            case: Case::new(row),
        })
    }

    /// Copies a case within its project.
    async fn copy_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case and the copy's name.")] input: CopyCaseInput,
    ) -> GqlResult<CasePayload> {
        let (case, access) = ctx
            .object_access::<CaseRow>(&input.id, ProjectRole::Member)
            .await?;
        let row = service::copy_case(ctx.app(), &access, &case, input.name).await?;
        Ok(CasePayload {
            case: Case::new(row),
        })
    }

    /// Deletes a case.
    async fn delete_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case to delete.")] input: DeleteCaseInput,
    ) -> GqlResult<DeleteCasePayload> {
        let (case, access) = ctx
            .object_access::<CaseRow>(&input.id, ProjectRole::Member)
            .await?;
        service::delete_case(ctx.app(), &access, &case).await?;
        Ok(DeleteCasePayload {
            deleted_case_id: input.id,
        })
    }

    /// Activates or deactivates many cases at once; all or none.
    async fn set_cases_active(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The cases and the new flag.")] input: SetCasesActiveInput,
    ) -> GqlResult<SetCasesActivePayload> {
        let viewer = ctx.viewer().await?;
        let ids: Vec<String> = input.ids.into_iter().map(|id| id.0).collect();
        let rows = service::set_cases_active(ctx.app(), &viewer, &ids, input.active).await?;
        Ok(SetCasesActivePayload {
            cases: rows.into_iter().map(Case::new).collect(),
        })
    }
}
