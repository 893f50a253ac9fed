//! Agent tokens: the bearer tokens agents push samples with.

use async_graphql::{Context, Object, SimpleObject};

use crate::error::GqlResult;
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;
use crate::servers::model::ServerRow;
use crate::servers::service;

use super::objects::{Server, ServerPayload};
use super::servers::ServerIdInput;

/// Result of `createAgentToken`.
#[derive(SimpleObject)]
pub struct AgentTokenPayload {
    /// The token, shown this once; agents send it as `Authorization: Bearer <token>`.
    token: String,
    /// The server it reports for.
    server: Server,
}

/// Agent token mutations.
#[derive(Default)]
pub struct AgentTokenMutations;

#[Object]
impl AgentTokenMutations {
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
}
