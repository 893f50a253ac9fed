//! GraphQL for servers, credentials, agent tokens and connection tests.

use async_graphql::MergedObject;

mod agent_tokens;
mod connection_test;
mod credentials;
mod objects;
mod servers;

pub use objects::{Credential, Server, ServerConnection, ServerEdge};

/// Server queries.
#[derive(MergedObject, Default)]
pub struct ServerQuery(servers::ServerQueries, credentials::CredentialQueries);

/// Server mutations (maintainers).
#[derive(MergedObject, Default)]
pub struct ServerMutation(
    servers::ServerMutations,
    agent_tokens::AgentTokenMutations,
    connection_test::ConnectionTestMutation,
    credentials::CredentialMutations,
);
