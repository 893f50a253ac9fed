//! Run subscriptions: one run's events replayed from storage then live, and
//! the status changes of a project's runs.

use std::sync::Arc;

use async_graphql::{Context, Subscription, ID};
use futures_util::{Stream, StreamExt};

use crate::app::App;
use crate::error::GraphqlError;
use crate::graphql::ContextExt;
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;

use crate::runs::events::project_topic;
use crate::runs::feed::RunEventFeed;
use crate::runs::model::RunRow;

use super::events::RunEvent;
use super::run::Run;

/// Run subscriptions.
#[derive(Default)]
pub struct RunSubscription;

#[Subscription]
impl RunSubscription {
    /// A run's events with `seq` above `afterSeq`, in `seq` order: the stored ones,
    /// then live ones, without gap or duplicate; the stream completes right after
    /// DONE, and at once when `afterSeq` is at or past DONE (project viewers).
    async fn run_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] run_id: ID,
        #[graphql(desc = "Last sequence number the client has (default 0: everything).")]
        after_seq: Option<i64>,
    ) -> Result<impl Stream<Item = RunEvent>, GraphqlError> {
        let viewer = ctx.viewer().await?;
        let app: Arc<App> = ctx.app().clone();
        let (run, _) =
            ProjectAccess::for_object::<RunRow>(&app, &viewer, &run_id, ProjectRole::Viewer)
                .await?;
        let feed = RunEventFeed::open(app, &run.id, after_seq.unwrap_or(0));
        Ok(feed.into_stream().map(RunEvent))
    }

    /// Status changes of every run of a project, for dashboards (project viewers).
    async fn project_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> Result<impl Stream<Item = Run>, GraphqlError> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let stream = ctx
            .app()
            .bus
            .subscribe_json::<RunRow>(&project_topic(access.project_id()));
        Ok(stream.map(Run))
    }
}
