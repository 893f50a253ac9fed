//! What the node holds for running cases: the id it holds run leases under,
//! the worker slots shared by all its runs, the HTTP client of HTTP cases, and
//! which runs it drives. The driving itself is [`super::driver`]'s.
//!
//! Services hand a run they stored to [`Executor::launch`]; the driver worker
//! started with the node picks it up.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::{mpsc, Semaphore};

use crate::db::now;
use crate::egress::EgressPolicy;

use super::http_check::HttpRunner;
use super::model::RunId;

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(5);
/// Most cases in flight on one node across all runs.
pub const NODE_MAX_IN_FLIGHT: usize = 512;

/// This node's executor.
pub struct Executor {
    node_id: String,
    slots: Arc<Semaphore>,
    runner: HttpRunner,
    driving: Mutex<HashSet<RunId>>,
    launches: mpsc::UnboundedSender<RunId>,
    launched: Mutex<Option<mpsc::UnboundedReceiver<RunId>>>,
}

impl Executor {
    /// An executor with a fresh node id and its own HTTP connection pool under `egress`.
    pub fn new(egress: Arc<EgressPolicy>) -> Self {
        let (launches, launched) = mpsc::unbounded_channel();
        Self {
            node_id: uuid::Uuid::now_v7().to_string(),
            slots: Arc::new(Semaphore::new(NODE_MAX_IN_FLIGHT)),
            runner: HttpRunner::new(egress),
            driving: Mutex::new(HashSet::new()),
            launches,
            launched: Mutex::new(Some(launched)),
        }
    }

    /// The id this node holds leases under.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// When a lease taken or renewed now expires.
    pub fn lease_deadline(&self) -> NaiveDateTime {
        now() + chrono::TimeDelta::from_std(LEASE).unwrap_or(chrono::TimeDelta::seconds(5))
    }

    /// Hands a run stored with this node's lease to the node's driver, which
    /// drives it unless it already does. Call it after the run is committed.
    pub fn launch(&self, run_id: RunId) {
        if self.launches.send(run_id).is_err() {
            // The driver worker has stopped (the node is shutting down); the
            // run's lease expires and another node, or the next start, takes it.
            tracing::debug!("run launched after the driver stopped");
        }
    }

    /// The runs handed to [`Executor::launch`], for the one driver worker that takes them.
    pub(super) fn take_launched(&self) -> Option<mpsc::UnboundedReceiver<RunId>> {
        self.launched.lock().ok()?.take()
    }

    /// Notes that this node drives `run_id`; false when it already does.
    pub(super) fn start_driving(&self, run_id: &RunId) -> bool {
        self.driving
            .lock()
            .map(|mut driving| driving.insert(run_id.clone()))
            .unwrap_or(false)
    }

    /// Notes that this node no longer drives `run_id`.
    pub(super) fn stop_driving(&self, run_id: &RunId) {
        if let Ok(mut driving) = self.driving.lock() {
            driving.remove(run_id);
        }
    }

    /// Whether this node drives `run_id` now.
    pub(super) fn is_driving(&self, run_id: &RunId) -> bool {
        self.driving
            .lock()
            .map(|driving| driving.contains(run_id))
            .unwrap_or(true)
    }

    /// The node's worker slots: one per HTTP case in flight.
    pub(super) fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }

    /// The HTTP client of HTTP cases.
    pub(super) fn runner(&self) -> &HttpRunner {
        &self.runner
    }
}
