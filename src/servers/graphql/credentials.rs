//! Credentials: write-only secrets for logging in to servers.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::error::GqlResult;
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;
use crate::servers::credentials;
use crate::servers::model::CredentialRow;

use super::objects::{Credential, DeletePayload};

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

/// Result of a credential mutation.
#[derive(SimpleObject)]
pub struct CredentialPayload {
    /// The credential (without its secret).
    credential: Credential,
}

/// Credential queries.
#[derive(Default)]
pub struct CredentialQueries;

#[Object]
impl CredentialQueries {
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

/// Credential mutations (maintainers).
#[derive(Default)]
pub struct CredentialMutations;

#[Object]
impl CredentialMutations {
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
