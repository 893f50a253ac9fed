//! The server and credential objects and the payloads the mutations share.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::connection_names;
use crate::error::GqlResult;
use crate::graphql::{utc, ContextExt};
use crate::monitoring::graphql::history::{metric_buckets, MetricBucket, MetricRange};
use crate::servers::model::{CredentialRow, ServerRow, ServerStatus};
use crate::servers::probe::ServerKind;

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

impl From<CredentialRow> for Credential {
    fn from(row: CredentialRow) -> Self {
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

/// Result of a server mutation.
#[derive(SimpleObject)]
pub struct ServerPayload {
    /// The server as it is now.
    pub(super) server: Server,
}

/// Result of a deletion.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// Id of the deleted object.
    pub(super) deleted_id: ID,
}
