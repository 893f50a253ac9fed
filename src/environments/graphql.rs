//! GraphQL for environments.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::error::GqlResult;
use crate::graphql::{utc, ContextExt};
use crate::projects::model::ProjectRole;

use super::model::EnvironmentRow;
use super::service::{self, VariableInput};

/// A named set of variables of a project.
pub struct Environment(pub EnvironmentRow);

/// A named set of variables (`baseUrl`, tokens …) that runs fill `{{name}}` placeholders from.
#[Object]
impl Environment {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Name, unique in the project regardless of case.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Runs use the default environment unless told otherwise.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// The variables, by name; secret values are never shown.
    async fn variables(&self) -> Vec<EnvironmentVariable> {
        self.0
            .stored_variables()
            .into_iter()
            .map(|variable| EnvironmentVariable {
                value: (!variable.secret).then_some(variable.value),
                name: variable.name,
                secret: variable.secret,
                is_set: true,
            })
            .collect()
    }

    /// When the environment was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        utc(self.0.updated_at)
    }
}

/// A variable as the API shows it.
#[derive(SimpleObject)]
pub struct EnvironmentVariable {
    /// The name used as `{{name}}`.
    name: String,
    /// The value; null for secrets, which are write-only.
    value: Option<String>,
    /// Whether the value is write-only.
    secret: bool,
    /// Whether a value is stored (always true; tells clients a secret is set).
    is_set: bool,
}

/// A variable to set.
#[derive(InputObject)]
pub struct VariableSetInput {
    /// The name used as `{{name}}`.
    name: String,
    /// The value.
    #[graphql(secret)]
    value: String,
    /// Write-only: the API will never show the value again.
    #[graphql(default = false)]
    secret: bool,
}

impl From<VariableSetInput> for VariableInput {
    fn from(input: VariableSetInput) -> Self {
        Self {
            name: input.name,
            value: input.value,
            secret: input.secret,
        }
    }
}

/// Input of `createEnvironment`.
#[derive(InputObject)]
pub struct CreateEnvironmentInput {
    /// The project.
    project_id: ID,
    /// Name, 1–64 characters.
    name: String,
    /// Make it the default (the first environment of a project is by default).
    is_default: Option<bool>,
    /// Initial variables.
    #[graphql(default)]
    variables: Vec<VariableSetInput>,
}

/// Input of `updateEnvironment`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateEnvironmentInput {
    /// The environment.
    id: ID,
    /// New name.
    name: Option<String>,
    /// True makes it the project's default.
    is_default: Option<bool>,
    /// Variables to add or replace, by name.
    #[graphql(default)]
    set: Vec<VariableSetInput>,
    /// Names of variables to remove.
    #[graphql(default)]
    remove: Vec<String>,
}

/// Input of `deleteEnvironment`.
#[derive(InputObject)]
pub struct DeleteEnvironmentInput {
    /// The environment.
    id: ID,
}

/// Result of a mutation that changes an environment.
#[derive(SimpleObject)]
pub struct EnvironmentPayload {
    /// The environment as it is now.
    environment: Environment,
}

/// Result of `deleteEnvironment`.
#[derive(SimpleObject)]
pub struct DeleteEnvironmentPayload {
    /// Id of the deleted environment.
    deleted_environment_id: ID,
}

/// Environment queries.
#[derive(Default)]
pub struct EnvironmentQuery;

#[Object]
impl EnvironmentQuery {
    /// One environment; `NOT_FOUND` unless the caller belongs to its project.
    async fn environment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The environment's id.")] id: ID,
    ) -> GqlResult<Option<Environment>> {
        let (environment, _) = ctx
            .object_access::<EnvironmentRow>(&id, ProjectRole::Viewer)
            .await?;
        Ok(Some(Environment(environment)))
    }
}

/// Environment mutations (maintainers).
#[derive(Default)]
pub struct EnvironmentMutation;

#[Object]
impl EnvironmentMutation {
    /// Creates an environment.
    async fn create_environment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project, name and variables.")] input: CreateEnvironmentInput,
    ) -> GqlResult<EnvironmentPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Maintainer)
            .await?;
        let variables = input.variables.into_iter().map(Into::into).collect();
        let row = service::create_environment(
            ctx.app(),
            &access,
            &input.name,
            input.is_default,
            variables,
        )
        .await?;
        Ok(EnvironmentPayload {
            environment: Environment(row),
        })
    }

    /// Renames an environment, makes it the default, or sets and removes variables.
    async fn update_environment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The environment and the changes.")] input: UpdateEnvironmentInput,
    ) -> GqlResult<EnvironmentPayload> {
        let (environment, access) = ctx
            .object_access::<EnvironmentRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        let row = service::update_environment(
            ctx.app(),
            &access,
            environment,
            input.name,
            input.is_default,
            input.set.into_iter().map(Into::into).collect(),
            input.remove,
        )
        .await?;
        Ok(EnvironmentPayload {
            environment: Environment(row),
        })
    }

    /// Deletes an environment.
    async fn delete_environment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The environment to delete.")] input: DeleteEnvironmentInput,
    ) -> GqlResult<DeleteEnvironmentPayload> {
        let (environment, access) = ctx
            .object_access::<EnvironmentRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        service::delete_environment(ctx.app(), &access, &environment).await?;
        Ok(DeleteEnvironmentPayload {
            deleted_environment_id: input.id,
        })
    }
}
