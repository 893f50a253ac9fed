//! Connection tests: connecting to a stored server or an unsaved target.

use async_graphql::{Context, InputObject, Object, ID};

use crate::error::GqlResult;
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;
use crate::servers::model::ServerRow;
use crate::servers::probe::{ProbeOutcome, ProbeTarget, ServerKind};
use crate::servers::service;

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

/// The connection test mutation.
#[derive(Default)]
pub struct ConnectionTestMutation;

#[Object]
impl ConnectionTestMutation {
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
}
