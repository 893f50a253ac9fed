//! Run mutations: start a run, pause, resume, cancel and retry one.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::error::GqlResult;
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;

use crate::runs::model::RunRow;
use crate::runs::service::{self, StartRun};
use crate::runs::state::{RunAction, RunTrigger};

use super::run::Run;

/// Input of `startRun`.
#[derive(InputObject)]
pub struct StartRunInput {
    /// The project.
    project_id: ID,
    /// Cases to run (any kind; inactive ones too). Default: every active case, narrowed by `tags`.
    case_ids: Option<Vec<ID>>,
    /// Only active cases carrying every one of these tags (when `caseIds` is not given).
    tags: Option<Vec<String>>,
    /// The environment; the project's default when omitted.
    environment_id: Option<ID>,
    /// Cases in flight at once (1–256); the project setting when omitted.
    max_workers: Option<i32>,
}

/// Input of the run control mutations.
#[derive(InputObject)]
pub struct RunActionInput {
    /// The run.
    run_id: ID,
}

/// Result of a run mutation.
#[derive(SimpleObject)]
pub struct RunPayload {
    /// The run as it is now (for `retryRun`: the new run).
    run: Run,
}

/// Run mutations.
#[derive(Default)]
pub struct RunMutation;

#[Object]
impl RunMutation {
    /// Starts a run (members); it is returned at once, QUEUED, and executes in the background.
    async fn start_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to run.")] input: StartRunInput,
    ) -> GqlResult<RunPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Member)
            .await?;
        let request = StartRun {
            case_ids: input
                .case_ids
                .map(|ids| ids.into_iter().map(|id| id.0).collect()),
            tags: input.tags.unwrap_or_default(),
            environment_id: input.environment_id.map(|id| id.0),
            max_workers: input.max_workers,
        };
        let run = service::start_run(ctx.app(), &access, request, RunTrigger::Manual).await?;
        Ok(RunPayload { run: Run(run) })
    }

    /// Pauses a running run: cases in flight finish, no new ones start (members).
    async fn pause_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        control(ctx, &input.run_id, RunAction::Pause).await
    }

    /// Resumes a paused run (members).
    async fn resume_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        control(ctx, &input.run_id, RunAction::Resume).await
    }

    /// Cancels a run, aborting cases in flight; idempotent (members; admins for any run).
    async fn cancel_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        control(ctx, &input.run_id, RunAction::Cancel).await
    }

    /// Starts a new run of a finished run's failed and errored cases, trigger RETRY (members).
    async fn retry_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run to retry.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        let (run, access) = ctx
            .object_access::<RunRow>(&input.run_id, ProjectRole::Member)
            .await?;
        let retry = service::retry_run(ctx.app(), &access, &run).await?;
        Ok(RunPayload { run: Run(retry) })
    }
}

async fn control(ctx: &Context<'_>, run_id: &str, action: RunAction) -> GqlResult<RunPayload> {
    let (run, access) = ctx
        .object_access::<RunRow>(run_id, ProjectRole::Member)
        .await?;
    let run = service::control_run(ctx.app(), &access, &run, action).await?;
    Ok(RunPayload { run: Run(run) })
}
