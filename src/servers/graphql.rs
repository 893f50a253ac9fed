//! GraphQL for servers, credentials and connection tests.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::connection_names;
use crate::error::GqlResult;
use crate::graphql::pagination::{page_complexity, CursorConnection, PageRequest};
use crate::graphql::{utc, ContextExt};
use crate::monitoring::graphql::{metric_buckets, MetricBucket, MetricRange};
use crate::projects::model::ProjectRole;

use super::credentials;
use super::model::{CredentialRow, ServerFilter, ServerRow, ServerStatus};
use super::probe::{ProbeOutcome, ProbeTarget, ServerKind};
use super::service::{self, NewServer, ServerUpdate};

connection_names!(ServerConnection, ServerEdge);

/// A monitored server of a project.
pub struct Server(pub ServerRow);

/// A monitored server: a host, an HTTP endpoint, a TCP port or a database.
#[Object]
impl Server {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The project it belongs to.
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.clone())
    }

    /// Kind of server.
    async fn kind(&self) -> ServerKind {
        self.0.kind
    }

    /// Name, unique in the project.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Tags (alert rules may target a tag).
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }

    /// URL (HTTP), host name (HOST) or `host:port`.
    async fn address(&self) -> &str {
        &self.0.address
    }

    /// Database name (PostgreSQL, MySQL) or number (Redis).
    async fn database_name(&self) -> Option<&str> {
        self.0.database_name.as_deref()
    }

    /// Id of the credential used to log in; the secret itself is never shown.
    async fn credential_id(&self) -> Option<ID> {
        self.0.credential_id.clone().map(ID)
    }

    /// Seconds between probes.
    async fn probe_interval_secs(&self) -> i32 {
        self.0.probe_interval_secs
    }

    /// Health as the last probe saw it.
    async fn status(&self) -> ServerStatus {
        self.0.status
    }

    /// When the status last changed.
    async fn status_changed_at(&self) -> Option<DateTime<Utc>> {
        self.0.status_changed_at.map(utc)
    }

    /// When it was last probed (or sampled).
    async fn last_checked_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_checked_at.map(utc)
    }

    /// True for a node's own built-in HOST server (sampled by the node, not probed).
    async fn built_in(&self) -> bool {
        self.0.node_name.is_some()
    }

    /// Whether an agent token is set (the token itself is shown once, at creation).
    async fn has_agent_token(&self) -> bool {
        self.0.agent_token_hash.is_some()
    }

    /// History of one metric in buckets with avg/min/max, read from the tier that fits the step.
    async fn metrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Metric name, e.g. `cpu_percent`, `up`, `latency_ms`.")] metric: String,
        #[graphql(desc = "The time range: a preset or `{from, to}`.")] range: MetricRange,
        #[graphql(
            desc = "Bucket width in seconds; default fits about 60 to 400 buckets. Buckets start on multiples of the step since the epoch."
        )]
        step: Option<i32>,
    ) -> GqlResult<Vec<MetricBucket>> {
        Ok(metric_buckets(ctx.app(), &self.0.id, &metric, range, step).await?)
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        utc(self.0.updated_at)
    }
}

/// A stored secret for logging in to servers; the secret is write-only.
#[derive(SimpleObject)]
pub struct Credential {
    /// Unique id.
    id: ID,
    /// Name, unique in the project.
    name: String,
    /// User name sent with the secret.
    username: Option<String>,
    /// Always true: a secret is stored (it is never shown).
    has_secret: bool,
    /// When it was created.
    created_at: DateTime<Utc>,
    /// When it last changed.
    updated_at: DateTime<Utc>,
}

impl From<super::model::CredentialRow> for Credential {
    fn from(row: super::model::CredentialRow) -> Self {
        Self {
            id: ID(row.id),
            name: row.name,
            username: row.username,
            has_secret: true,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        }
    }
}

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
    id: ID,
}

/// Input of `createCredential`.
#[derive(InputObject)]
pub struct CreateCredentialInput {
    /// The project.
    project_id: ID,
    /// Name, unique in the project.
    name: String,
    /// User name.
    username: Option<String>,
    /// The password or token; stored sealed and never shown again.
    #[graphql(secret)]
    secret: String,
}

/// Input of `updateCredential`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCredentialInput {
    /// The credential.
    id: ID,
    /// New name.
    name: Option<String>,
    /// New user name; empty clears it.
    username: Option<String>,
    /// New secret.
    #[graphql(secret)]
    secret: Option<String>,
}

/// Input naming one credential.
#[derive(InputObject)]
pub struct CredentialIdInput {
    /// The credential.
    id: ID,
}

/// An unsaved target for `testConnection`.
#[derive(InputObject)]
pub struct ConnectionTargetInput {
    /// Kind of server.
    kind: ServerKind,
    /// Address as for `createServer`.
    address: String,
    /// User name.
    username: Option<String>,
    /// Password; never echoed in the result.
    #[graphql(secret)]
    password: Option<String>,
    /// Database name or number.
    database: Option<String>,
}

/// Result of a server mutation.
#[derive(SimpleObject)]
pub struct ServerPayload {
    /// The server as it is now.
    server: Server,
}

/// Result of a deletion.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// Id of the deleted object.
    deleted_id: ID,
}

/// Result of `createAgentToken`.
#[derive(SimpleObject)]
pub struct AgentTokenPayload {
    /// The token, shown this once; agents send it as `Authorization: Bearer <token>`.
    token: String,
    /// The server it reports for.
    server: Server,
}

/// Result of a credential mutation.
#[derive(SimpleObject)]
pub struct CredentialPayload {
    /// The credential (without its secret).
    credential: Credential,
}

/// Server queries.
#[derive(Default)]
pub struct ServerQuery;

#[Object]
impl ServerQuery {
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

    /// The project's credentials (never their secrets).
    async fn credentials(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> GqlResult<Vec<Credential>> {
        let access = ctx
            .project_access(&project_id, ProjectRole::Maintainer)
            .await?;
        let rows = CredentialRow::list(&mut ctx.app().db.conn().await?, access.scope()).await?;
        Ok(rows.into_iter().map(Credential::from).collect())
    }
}

/// Server mutations (maintainers).
#[derive(Default)]
pub struct ServerMutation;

#[Object]
impl ServerMutation {
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

    /// Creates (or replaces) the server's agent token; it is shown only in this answer.
    async fn create_agent_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server.")] input: ServerIdInput,
    ) -> GqlResult<AgentTokenPayload> {
        let (server, access) = ctx
            .object_access::<ServerRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        let (token, server) = service::create_agent_token(ctx.app(), &access, &server).await?;
        Ok(AgentTokenPayload {
            token,
            server: Server(server),
        })
    }

    /// Revokes the server's agent token.
    async fn revoke_agent_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server.")] input: ServerIdInput,
    ) -> GqlResult<ServerPayload> {
        let (server, access) = ctx
            .object_access::<ServerRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        let server = service::revoke_agent_token(ctx.app(), &access, &server).await?;
        Ok(ServerPayload {
            server: Server(server),
        })
    }

    /// Connects to a stored server (with its credential) or to an unsaved target, for real.
    async fn test_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A stored server (members of its project).")] server_id: Option<ID>,
        #[graphql(desc = "An unsaved target (admins, and owners or maintainers of some project).")]
        input: Option<ConnectionTargetInput>,
    ) -> GqlResult<ProbeOutcome> {
        let viewer = ctx.viewer().await?;
        match (server_id, input) {
            (Some(id), None) => {
                let (server, _) = ctx
                    .object_access::<ServerRow>(&id, ProjectRole::Member)
                    .await?;
                Ok(service::test_server(ctx.app(), &server).await?)
            }
            (None, Some(input)) => {
                let network = ctx.app().probe_network.clone();
                let mut target = ProbeTarget::new(input.kind, input.address, network);
                target.username = input.username;
                target.password = input.password;
                target.database = input.database;
                Ok(service::test_target(ctx.app(), &viewer, target).await?)
            }
            _ => Err(crate::error::AppError::bad_input(
                "serverId",
                "give either serverId or input",
            )
            .into()),
        }
    }

    /// Stores a credential; its secret is sealed and never shown again.
    async fn create_credential(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The credential.")] input: CreateCredentialInput,
    ) -> GqlResult<CredentialPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Maintainer)
            .await?;
        let row = credentials::create_credential(
            ctx.app(),
            &access,
            &input.name,
            input.username,
            &input.secret,
        )
        .await?;
        Ok(CredentialPayload {
            credential: row.into(),
        })
    }

    /// Renames a credential or replaces its user name or secret.
    async fn update_credential(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The credential and the changes.")] input: UpdateCredentialInput,
    ) -> GqlResult<CredentialPayload> {
        let (credential, access) = ctx
            .object_access::<CredentialRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        let row = credentials::update_credential(
            ctx.app(),
            &access,
            &credential,
            input.name,
            input.username,
            input.secret,
        )
        .await?;
        Ok(CredentialPayload {
            credential: row.into(),
        })
    }

    /// Deletes a credential; servers using it keep running without one.
    async fn delete_credential(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The credential.")] input: CredentialIdInput,
    ) -> GqlResult<DeletePayload> {
        let (credential, access) = ctx
            .object_access::<CredentialRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        credentials::delete_credential(ctx.app(), &access, &credential).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
