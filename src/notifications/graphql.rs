//! GraphQL for notifications: list, mark read, and the live stream.

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::connection_names;
use crate::error::{GqlResult, GraphqlError};
use crate::graphql::pagination::{page_complexity, CursorConnection, PageRequest};
use crate::graphql::{utc, ContextExt};

use super::model::{NotificationKind, NotificationRow};
use super::service;

connection_names!(NotificationConnection, NotificationEdge);

/// A message for the caller.
pub struct Notification(pub NotificationRow);

/// A message for the caller: a role change, a finished run, a firing alert …
#[Object]
impl Notification {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// What it is about.
    async fn kind(&self) -> NotificationKind {
        self.0.kind
    }

    /// Human-readable text.
    async fn message(&self) -> &str {
        &self.0.message
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// Whether the user has marked it read.
    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }
}

/// Notification queries.
#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The caller's notifications, newest first.
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only notifications not marked read (default false).")]
        unread_only: Option<bool>,
    ) -> GqlResult<CursorConnection<Notification, NotificationConnection, NotificationEdge>> {
        let viewer = ctx.viewer().await?;
        let page = PageRequest::new(first, after)?;
        let unread_only = unread_only.unwrap_or(false);
        let mut conn = ctx.app().db.conn().await?;
        let rows = NotificationRow::page_for_user(
            &mut conn,
            viewer.id(),
            unread_only,
            page.after_id.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let total = NotificationRow::count_for_user(&mut conn, viewer.id(), unread_only).await?;
        Ok(page.connection(rows, total, |row| &row.id, Notification))
    }
}

/// Input of `markNotificationsRead`.
#[derive(InputObject)]
pub struct MarkNotificationsReadInput {
    /// Notifications of the caller to mark read.
    ids: Vec<ID>,
}

/// Result of `markNotificationsRead`.
#[derive(SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// How many were unread and are now read.
    marked_count: i64,
    /// How many unread notifications the caller has left.
    unread_count: i64,
}

/// Notification mutations.
#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks some of the caller's notifications read. Any id that is not the caller's: `NOT_FOUND`.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The notifications to mark.")] input: MarkNotificationsReadInput,
    ) -> GqlResult<MarkNotificationsReadPayload> {
        let viewer = ctx.viewer().await?;
        let ids: Vec<String> = input.ids.into_iter().map(|id| id.0).collect();
        let (marked, unread) = service::mark_read(ctx.app(), viewer.id(), &ids).await?;
        Ok(MarkNotificationsReadPayload {
            marked_count: i64::try_from(marked).unwrap_or(i64::MAX),
            unread_count: unread,
        })
    }
}

/// Notification subscriptions.
#[derive(Default)]
pub struct NotificationSubscription;

#[Subscription]
impl NotificationSubscription {
    /// The caller's new notifications, as they are created.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Notification>, GraphqlError> {
        let viewer = ctx.viewer().await?;
        let stream = ctx
            .app()
            .bus
            .subscribe_json::<NotificationRow>(&service::topic(viewer.id()));
        Ok(stream.map(Notification))
    }
}
