//! The in-process bus: one broadcast channel per topic with subscribers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::{Delivery, EventBus, Subscription};

/// Events a slow subscriber may fall behind before it misses some.
const TOPIC_CAPACITY: usize = 1024;

type Topics = Arc<Mutex<HashMap<String, broadcast::Sender<Delivery>>>>;

/// Delivers events to subscribers in this process only.
#[derive(Clone, Default)]
pub struct LocalBus {
    topics: Topics,
}

impl LocalBus {
    /// A bus with no topics yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands `payload` to the current subscribers of `topic`, if any.
    pub fn deliver(&self, topic: &str, payload: &str) {
        let topics = self.topics.lock().expect("event topics lock");
        if let Some(sender) = topics.get(topic) {
            // An error only means every receiver has just gone; the guard cleans up.
            let _ = sender.send(Delivery::Payload(Arc::from(payload)));
        }
    }

    /// Tells every current subscriber that events may have been lost (the
    /// feed behind this bus was interrupted).
    pub fn resync_all(&self) {
        let topics = self.topics.lock().expect("event topics lock");
        for sender in topics.values() {
            let _ = sender.send(Delivery::Resync);
        }
    }
}

impl EventBus for LocalBus {
    fn publish<'a>(&'a self, topic: &'a str, payload: String) -> BoxFuture<'a, anyhow::Result<()>> {
        self.deliver(topic, &payload);
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        let receiver = {
            let mut topics = self.topics.lock().expect("event topics lock");
            topics
                .entry(topic.to_owned())
                .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
                .subscribe()
        };
        Subscription {
            stream: BroadcastStream::new(receiver),
            _guard: TopicGuard {
                topics: self.topics.clone(),
                topic: topic.to_owned(),
            },
        }
    }

    fn subscribers(&self, topic: &str) -> usize {
        let topics = self.topics.lock().expect("event topics lock");
        topics
            .get(topic)
            .map_or(0, broadcast::Sender::receiver_count)
    }

    fn ping(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Removes a topic's channel when its last subscriber goes.
pub(super) struct TopicGuard {
    topics: Topics,
    topic: String,
}

impl Drop for TopicGuard {
    fn drop(&mut self) {
        let mut topics = self.topics.lock().expect("event topics lock");
        // `Subscription` drops its receiver before its guard, so it no longer counts here.
        if topics
            .get(&self.topic)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::events::Live;

    #[tokio::test]
    async fn subscribers_get_their_topic_only_and_topics_are_freed() {
        let bus = LocalBus::new();
        let mut first = bus.subscribe("a");
        let mut second = bus.subscribe("a");
        let other = bus.subscribe("b");
        assert_eq!(bus.subscribers("a"), 2);
        bus.publish("a", "one".into()).await.unwrap();
        assert_eq!(first.next().await.as_deref(), Some("one"));
        assert_eq!(second.next().await.as_deref(), Some("one"));
        drop(other);
        assert!(!bus.topics.lock().unwrap().contains_key("b"));
        drop(first);
        assert!(bus.topics.lock().unwrap().contains_key("a"));
        drop(second);
        assert!(bus.topics.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn gaps_are_marked_for_subscribers_that_ask() {
        let bus = LocalBus::new();
        let mut plain = bus.subscribe("a");
        let mut marked = Box::pin(bus.subscribe("a").marking_gaps());
        bus.publish("a", "one".into()).await.unwrap();
        bus.resync_all();
        bus.publish("a", "two".into()).await.unwrap();
        assert_eq!(plain.next().await.as_deref(), Some("one"));
        assert_eq!(plain.next().await.as_deref(), Some("two"));
        assert_eq!(marked.next().await, Some(Live::Event("one".into())));
        assert_eq!(marked.next().await, Some(Live::Missed));
        assert_eq!(marked.next().await, Some(Live::Event("two".into())));

        // A subscriber that falls behind the buffer hears that it missed some.
        let mut slow = Box::pin(bus.subscribe("b").marking_gaps());
        for index in 0..=TOPIC_CAPACITY {
            bus.publish("b", index.to_string()).await.unwrap();
        }
        assert_eq!(slow.next().await, Some(Live::Missed));
        assert_eq!(slow.next().await, Some(Live::Event("1".into())));
    }
}
