//! Events: publish on a topic, subscribe to a topic.
//!
//! Two buses implement [`EventBus`]: [`LocalBus`] (tokio broadcast, one
//! process) and [`RedisBus`] (Redis pub/sub, shared by every node). Both hand
//! subscribers a local [`Subscription`]; the Redis bus feeds its local fan-out
//! from one pattern subscription per node. Payloads are JSON text, so each
//! domain owns its topic names and payload types.
//!
//! The bus is best effort: every event that matters is stored before it is
//! published. [`BoundedBus`] keeps a publish from holding its caller for more
//! than [`PUBLISH_TIMEOUT`] (a Redis outage) and counts what it could not
//! publish. A subscriber that must not miss anything (`runEvents`) asks for
//! [`Live::Missed`] marks, given when it fell behind the broadcast buffer or
//! when the Redis subscription was re-established, and reads the rest from
//! storage.

mod bounded;
mod local;
mod redis_bus;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

pub use bounded::{BoundedBus, PUBLISH_TIMEOUT};
pub use local::LocalBus;
pub use redis_bus::RedisBus;

/// A way to deliver events to subscribers, on this node or on all nodes.
pub trait EventBus: Send + Sync {
    /// Sends `payload` to every subscriber of `topic`.
    fn publish<'a>(&'a self, topic: &'a str, payload: String) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Starts receiving what is published on `topic` from now on.
    fn subscribe(&self, topic: &str) -> Subscription;
    /// How many subscriptions to `topic` are open on this node (so a caller can
    /// tell when a subscription made elsewhere, such as over a WebSocket, is live).
    fn subscribers(&self, topic: &str) -> usize;
    /// Answers whether the bus can deliver now (for `/ready`).
    fn ping(&self) -> BoxFuture<'_, anyhow::Result<()>>;
}

impl dyn EventBus {
    /// Publishes `event` as JSON.
    pub async fn publish_json<T: Serialize>(&self, topic: &str, event: &T) -> anyhow::Result<()> {
        self.publish(topic, serde_json::to_string(event)?).await
    }

    /// Subscribes to `topic`, decoding each payload as `T` (undecodable ones are dropped).
    pub fn subscribe_json<T: DeserializeOwned>(&self, topic: &str) -> impl Stream<Item = T> {
        self.subscribe(topic).filter_map(|payload| async move {
            serde_json::from_str(&payload)
                .inspect_err(|error| tracing::warn!(%error, "dropping undecodable event"))
                .ok()
        })
    }

    /// Subscribes to `topic`, decoding each payload as `T`, and marks every
    /// place where events may have been missed (see [`Live`]).
    pub fn subscribe_json_marking_gaps<T: DeserializeOwned>(
        &self,
        topic: &str,
    ) -> impl Stream<Item = Live<T>> {
        self.subscribe(topic)
            .marking_gaps()
            .map(|received| match received {
                Live::Event(payload) => serde_json::from_str(&payload)
                    .inspect_err(|error| tracing::warn!(%error, "undecodable event; marked missed"))
                    .map_or(Live::Missed, Live::Event),
                Live::Missed => Live::Missed,
            })
    }
}

/// What a subscriber that keeps count receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live<T> {
    /// One event.
    Event(T),
    /// Events may have been lost here: the subscriber fell behind, or the
    /// subscription was re-established after an outage.
    Missed,
}

/// What travels through a local topic.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    /// A published payload.
    Payload(Arc<str>),
    /// The feed was interrupted (see [`Live::Missed`]).
    Resync,
}

/// A live stream of one topic's payloads. Dropping it unsubscribes.
///
/// As a stream it yields payloads and skips gaps (logging lags); use
/// [`Subscription::marking_gaps`] to see them.
pub struct Subscription {
    stream: BroadcastStream<Delivery>,
    _guard: local::TopicGuard,
}

impl Subscription {
    /// The payloads, with a [`Live::Missed`] wherever some may have been lost.
    pub fn marking_gaps(self) -> impl Stream<Item = Live<String>> {
        MarkingGaps(self)
    }

    fn poll_delivery(&mut self, cx: &mut Context<'_>) -> Poll<Option<Live<String>>> {
        match Pin::new(&mut self.stream).poll_next(cx) {
            Poll::Ready(Some(Ok(Delivery::Payload(payload)))) => {
                Poll::Ready(Some(Live::Event(payload.to_string())))
            }
            Poll::Ready(Some(Ok(Delivery::Resync))) => Poll::Ready(Some(Live::Missed)),
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(skipped)))) => {
                tracing::warn!(skipped, "slow subscriber fell behind the event buffer");
                Poll::Ready(Some(Live::Missed))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Stream for Subscription {
    type Item = String;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<String>> {
        loop {
            match self.poll_delivery(cx) {
                Poll::Ready(Some(Live::Event(payload))) => return Poll::Ready(Some(payload)),
                Poll::Ready(Some(Live::Missed)) => continue,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// [`Subscription::marking_gaps`].
struct MarkingGaps(Subscription);

impl Stream for MarkingGaps {
    type Item = Live<String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Live<String>>> {
        self.0.poll_delivery(cx)
    }
}
