//! One bus subscription per run on this node, shared by all its subscribers.
//!
//! Thousands of `runEvents` subscribers of one run would each hold a bus
//! subscription and copy and decode every payload. The hub holds one bus
//! subscription per run that has subscribers on this node, decodes each
//! event once, and hands every subscriber the same [`Arc`]. A subscriber that
//! falls behind the hub's buffer, like one that falls behind the bus, gets
//! [`Live::Missed`] and reads storage. The shared subscription ends with the
//! run's last subscriber.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::events::{EventBus, Live};

use super::events::run_topic;
use super::model::RunEventRow;

/// Events one subscriber may fall behind the others before it must read storage.
const BUFFER: usize = 1024;

type Shared = Live<Arc<RunEventRow>>;

/// The shared subscriptions of this node, by run id.
#[derive(Default)]
pub struct RunHub {
    runs: Mutex<HashMap<String, Weak<Upstream>>>,
}

/// One run's bus subscription and the task that decodes it.
struct Upstream {
    sender: broadcast::Sender<Shared>,
    pump: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

impl RunHub {
    /// Starts receiving `run_id`'s events from now on (live before this returns).
    pub fn subscribe(&self, bus: &Arc<dyn EventBus>, run_id: &str) -> RunSubscription {
        let mut runs = self.runs.lock().expect("run hub lock");
        runs.retain(|_, upstream| upstream.strong_count() > 0);
        let upstream = match runs.get(run_id).and_then(Weak::upgrade) {
            Some(upstream) => upstream,
            None => {
                let upstream = Arc::new(start(bus, run_id));
                runs.insert(run_id.to_owned(), Arc::downgrade(&upstream));
                upstream
            }
        };
        RunSubscription {
            stream: BroadcastStream::new(upstream.sender.subscribe()),
            _upstream: upstream,
        }
    }

    /// How many runs have a shared subscription on this node.
    pub fn runs(&self) -> usize {
        let runs = self.runs.lock().expect("run hub lock");
        runs.values()
            .filter(|upstream| upstream.strong_count() > 0)
            .count()
    }
}

/// Subscribes to the bus now and decodes what arrives into the hub's buffer.
fn start(bus: &Arc<dyn EventBus>, run_id: &str) -> Upstream {
    let (sender, _) = broadcast::channel(BUFFER);
    let mut live = Box::pin(bus.subscribe_json_marking_gaps::<RunEventRow>(&run_topic(run_id)));
    let pump_sender = sender.clone();
    let pump = tokio::spawn(async move {
        while let Some(received) = live.next().await {
            let shared = match received {
                Live::Event(event) => Live::Event(Arc::new(event)),
                Live::Missed => Live::Missed,
            };
            // No receiver means the last subscriber is going; its drop ends this task.
            let _ = pump_sender.send(shared);
        }
    });
    Upstream { sender, pump }
}

/// One subscriber's view of a run's shared subscription.
pub struct RunSubscription {
    stream: BroadcastStream<Shared>,
    _upstream: Arc<Upstream>,
}

impl Stream for RunSubscription {
    type Item = Live<Arc<RunEventRow>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.stream).poll_next(cx) {
            Poll::Ready(Some(Ok(shared))) => Poll::Ready(Some(shared)),
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(skipped)))) => {
                tracing::debug!(skipped, "run event subscriber fell behind; reading storage");
                Poll::Ready(Some(Live::Missed))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
