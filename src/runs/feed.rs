//! Delivery of one run's events by `seq`: in order, each once, ending after DONE.
//!
//! The stored `seq` is the one order of a run's events: it is taken from the
//! run row in the transaction that stores the event, so stored events are
//! contiguous whoever wrote them (the driver, a control mutation, another node
//! after a takeover). Live delivery is only a fast path. The feed subscribes
//! first, then reads what is stored after the client's `afterSeq`; from then on
//! it hands out the event with the next `seq` only:
//!
//! - a live event ahead of the next `seq` is held until the ones before it
//!   arrive; if they do not come within [`GAP_WAIT`], they are read from storage;
//! - a live event already handed out is dropped;
//! - when the bus says events may have been missed (a lagging subscriber, a
//!   re-established Redis subscription), or nothing arrived for
//!   [`QUIET_RECHECK`] (events stored while the bus was down), storage is read;
//! - after DONE the feed ends, and a client whose `afterSeq` is at or past
//!   DONE gets an empty feed that ends at once.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, Stream, StreamExt};

use crate::app::App;
use crate::db::{Conn, DbError, DbResult};
use crate::events::Live;

use super::model::{RunEventRow, RunId};

/// How long a live event ahead of the next `seq` waits for the ones before it.
pub const GAP_WAIT: Duration = Duration::from_millis(250);
/// How long a feed waits without any live event before it checks storage.
pub const QUIET_RECHECK: Duration = Duration::from_secs(30);
/// Wait before reading storage again after a failed read.
const RETRY_READ: Duration = Duration::from_secs(1);
/// Most events one read of storage returns.
const READ_BATCH: i64 = 1000;

/// One subscriber's ordered view of a run's events.
pub struct RunEventFeed {
    app: Arc<App>,
    run_id: RunId,
    live: Pin<Box<dyn Stream<Item = Live<Arc<RunEventRow>>> + Send>>,
    /// The `seq` of the last event queued for the subscriber.
    queued: i64,
    /// Events in `seq` order, ready to hand out.
    ready: VecDeque<Arc<RunEventRow>>,
    /// Live events that came ahead of their turn.
    held: BTreeMap<i64, Arc<RunEventRow>>,
    /// Storage must be read before waiting on the live side.
    must_read: bool,
    /// No read of storage has answered yet.
    first_read: bool,
    /// DONE has been handed out (or lies at or before `afterSeq`).
    finished: bool,
}

impl RunEventFeed {
    /// Subscribes to `run_id`'s events after `after_seq` (the caller has checked access).
    pub fn open(app: Arc<App>, run_id: &RunId, after_seq: i64) -> Self {
        let live = Box::pin(app.run_hub.subscribe(&app.bus, run_id));
        Self {
            app,
            run_id: run_id.clone(),
            live,
            queued: after_seq.max(0),
            ready: VecDeque::new(),
            held: BTreeMap::new(),
            must_read: true,
            first_read: true,
            finished: false,
        }
    }

    /// The feed as a stream that ends after DONE.
    pub fn into_stream(self) -> impl Stream<Item = Arc<RunEventRow>> + Send {
        stream::unfold(self, |mut feed| async move {
            let event = feed.next().await?;
            Some((event, feed))
        })
    }

    /// The event with the next `seq`, or `None` once DONE has been handed out.
    pub async fn next(&mut self) -> Option<Arc<RunEventRow>> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(event) = self.ready.pop_front() {
                self.finished = event.kind == "DONE";
                return Some(event);
            }
            if let Some(event) = self.held.remove(&(self.queued + 1)) {
                self.queue(event);
                continue;
            }
            if self.must_read {
                self.read_stored().await;
                continue;
            }
            let wait = if self.held.is_empty() {
                QUIET_RECHECK
            } else {
                GAP_WAIT
            };
            match tokio::time::timeout(wait, self.live.next()).await {
                Ok(Some(Live::Event(event))) => {
                    if event.run_id == self.run_id && event.seq > self.queued {
                        self.held.insert(event.seq, event);
                    }
                }
                Ok(Some(Live::Missed)) | Err(_) => self.must_read = true,
                Ok(None) => {
                    // The bus is gone (the node is stopping): storage only from here.
                    self.live = Box::pin(stream::pending());
                    self.must_read = true;
                }
            }
        }
    }

    fn queue(&mut self, event: Arc<RunEventRow>) {
        self.queued = event.seq;
        self.ready.push_back(event);
    }

    /// Queues what storage holds after the last queued event.
    async fn read_stored(&mut self) {
        let read = async {
            let mut conn = self.app.db.conn().await?;
            let batch =
                RunEventRow::after(&mut conn, &self.run_id, self.queued, None, READ_BATCH).await?;
            let done = if batch.is_empty() && self.first_read {
                Some(done_at_or_before(&mut conn, &self.run_id, self.queued).await?)
            } else {
                None
            };
            Ok::<_, DbError>((batch, done))
        };
        let (batch, done) = match read.await {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(%error, run_id = %self.run_id, "reading run events failed; retrying");
                tokio::time::sleep(RETRY_READ).await;
                return;
            }
        };
        let full = i64::try_from(batch.len()).unwrap_or(i64::MAX) >= READ_BATCH;
        if let Some(done) = done {
            self.finished = done;
        }
        self.first_read = false;
        for event in batch {
            if event.seq != self.queued + 1 {
                break;
            }
            self.queue(Arc::new(event));
        }
        let queued = self.queued;
        self.held.retain(|seq, _| *seq > queued);
        self.must_read = full;
    }
}

/// True when the run's DONE is stored with a `seq` at or before `seq`.
async fn done_at_or_before(conn: &mut Conn, run_id: &RunId, seq: i64) -> DbResult<bool> {
    let done = RunEventRow::after(conn, run_id, 0, Some("DONE"), 1).await?;
    Ok(done.first().is_some_and(|done| done.seq <= seq))
}
