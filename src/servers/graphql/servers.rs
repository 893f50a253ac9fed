//! Registering, listing, changing and deleting servers.

use async_graphql::{Context, InputObject, Object, ID};

use crate::error::GqlResult;
use crate::graphql::pagination::{page_complexity, CursorConnection, PageRequest};
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;
use crate::servers::model::{ServerFilter, ServerRow, ServerStatus};
use crate::servers::probe::ServerKind;
use crate::servers::service::{self, NewServer, ServerUpdate};

use super::objects::{DeletePayload, Server, ServerConnection, ServerEdge, ServerPayload};

/// Input of `createServer`.
#[derive(InputObject)]
pub struct CreateServerInput {
    /// The project.
    project_id: ID,
    /// Kind of server.
    kind: ServerKind,
    /// Name, 1–100 characters, unique in the project.
    name: String,
    /// Tags.
    #[graphql(default)]
    tags: Vec<String>,
    /// URL for HTTP, host name for HOST, `host:port` for the others (databases default their port).
    address: String,
    /// Database name (PostgreSQL, MySQL) or number (Redis).
    database_name: Option<String>,
    /// A credential of the same project.
    credential_id: Option<ID>,
    /// Seconds between probes (at least the configured minimum; default 60).
    probe_interval_secs: Option<i32>,
}

/// Input of `updateServer`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateServerInput {
    /// The server.
    id: ID,
    /// New name.
    name: Option<String>,
    /// New tags.
    tags: Option<Vec<String>>,
    /// New address.
    address: Option<String>,
    /// New database name; empty clears it.
    database_name: Option<String>,
    /// New credential; empty clears it.
    credential_id: Option<String>,
    /// New probe interval in seconds.
    probe_interval_secs: Option<i32>,
}

/// Input naming one server.
#[derive(InputObject)]
pub struct ServerIdInput {
    /// The server.
    pub(super) id: ID,
}

/// Server queries: one server, a project's servers.
#[derive(Default)]
pub struct ServerQueries;

#[Object]
impl ServerQueries {
    /// One server; `NOT_FOUND` unless the caller belongs to its project.
    async fn server(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server's id.")] id: ID,
    ) -> GqlResult<Option<Server>> {
        let (server, _) = ctx
            .object_access::<ServerRow>(&id, ProjectRole::Viewer)
            .await?;
        Ok(Some(Server(server)))
    }

    /// The project's servers, by creation.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn servers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only this kind.")] kind: Option<ServerKind>,
        #[graphql(desc = "Only servers with this tag.")] tag: Option<String>,
        #[graphql(desc = "Only servers in this status.")] status: Option<ServerStatus>,
    ) -> GqlResult<CursorConnection<Server, ServerConnection, ServerEdge>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let page = PageRequest::new(first, after)?;
        let filter = ServerFilter { kind, tag, status };
        // Tags are JSON text, so the filter runs here; a project has hundreds of servers, not millions.
        let matching =
            ServerRow::list(&mut ctx.app().db.conn().await?, access.scope(), &filter).await?;
        let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
        let rows: Vec<ServerRow> = matching
            .into_iter()
            .filter(|row| {
                page.after_id
                    .as_deref()
                    .is_none_or(|after| row.id.as_str() > after)
            })
            .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
            .collect();
        Ok(page.connection(rows, total, |row| &row.id, Server))
    }
}

/// Server mutations: register, change, delete.
#[derive(Default)]
pub struct ServerMutations;

#[Object]
impl ServerMutations {
    /// Registers a server.
    async fn create_server(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server.")] input: CreateServerInput,
    ) -> GqlResult<ServerPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Maintainer)
            .await?;
        let new = NewServer {
            kind: input.kind,
            name: input.name,
            tags: input.tags,
            address: input.address,
            database_name: input.database_name,
            credential_id: input.credential_id.map(|id| id.0),
            probe_interval_secs: input.probe_interval_secs,
        };
        let row = service::create_server(ctx.app(), &access, new).await?;
        Ok(ServerPayload {
            server: Server(row),
        })
    }

    /// Changes a server.
    async fn update_server(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server and the changes.")] input: UpdateServerInput,
    ) -> GqlResult<ServerPayload> {
        let (server, access) = ctx
            .object_access::<ServerRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        let update = ServerUpdate {
            name: input.name,
            tags: input.tags,
            address: input.address,
            database_name: input.database_name,
            credential_id: input.credential_id,
            probe_interval_secs: input.probe_interval_secs,
        };
        let row = service::update_server(ctx.app(), &access, &server, update).await?;
        Ok(ServerPayload {
            server: Server(row),
        })
    }

    /// Deletes a server with its metrics, rules and alerts.
    async fn delete_server(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server.")] input: ServerIdInput,
    ) -> GqlResult<DeletePayload> {
        let (server, access) = ctx
            .object_access::<ServerRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        service::delete_server(ctx.app(), &access, &server).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
