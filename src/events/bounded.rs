//! A bus that never holds its publisher: each publish is bounded in time, and
//! what could not be published is counted.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use prometheus::IntCounter;

use super::{EventBus, Subscription};

/// Longest a publish may take before it is given up (the event stays stored).
pub const PUBLISH_TIMEOUT: Duration = Duration::from_millis(300);

/// Wraps a bus: a publish that fails or takes longer than its bound is
/// abandoned and counted; the caller gets the error and carries on.
pub struct BoundedBus {
    inner: Arc<dyn EventBus>,
    timeout: Duration,
    unpublished: IntCounter,
}

impl BoundedBus {
    /// Bounds `inner`'s publishes by `timeout`, counting failures in `unpublished`.
    pub fn new(inner: Arc<dyn EventBus>, timeout: Duration, unpublished: IntCounter) -> Self {
        Self {
            inner,
            timeout,
            unpublished,
        }
    }
}

impl EventBus for BoundedBus {
    fn publish<'a>(&'a self, topic: &'a str, payload: String) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let outcome = match tokio::time::timeout(
                self.timeout,
                self.inner.publish(topic, payload),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(anyhow::anyhow!(
                    "publishing took longer than {} ms",
                    self.timeout.as_millis()
                )),
            };
            if outcome.is_err() {
                self.unpublished.inc();
            }
            outcome
        })
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        self.inner.subscribe(topic)
    }

    fn subscribers(&self, topic: &str) -> usize {
        self.inner.subscribers(topic)
    }

    fn ping(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        self.inner.ping()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bus whose publishes never finish, like Redis during an outage.
    struct Stuck(super::super::LocalBus);

    impl EventBus for Stuck {
        fn publish<'a>(&'a self, _: &'a str, _: String) -> BoxFuture<'a, anyhow::Result<()>> {
            Box::pin(std::future::pending())
        }
        fn subscribe(&self, topic: &str) -> Subscription {
            self.0.subscribe(topic)
        }
        fn subscribers(&self, topic: &str) -> usize {
            self.0.subscribers(topic)
        }
        fn ping(&self) -> BoxFuture<'_, anyhow::Result<()>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn a_stuck_publish_is_abandoned_and_counted() {
        let counter = IntCounter::new("unpublished", "test").unwrap();
        let bus = BoundedBus::new(
            Arc::new(Stuck(super::super::LocalBus::new())),
            PUBLISH_TIMEOUT,
            counter.clone(),
        );
        assert!(bus.publish("a", "one".into()).await.is_err());
        assert_eq!(counter.get(), 1);
    }
}
