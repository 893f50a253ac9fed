//! Password hashing, a bounded number at a time, on threads of its own.
//!
//! Each hash or check fills 19 MiB for tens of milliseconds. A semaphore sized
//! to the cores admits that many at once, so a burst of registrations or logins
//! waits its turn instead of multiplying the node's memory. The admitted work
//! runs on as many dedicated threads, each reusing its own memory
//! ([`argon2id::Workspace`]), and off the async threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::{oneshot, Semaphore};

use crate::error::{AppError, AppResult};

use super::argon2id::{self, Workspace};

/// Work handed to a hashing thread, with that thread's memory.
type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// Hashes and checks passwords, at most `concurrency` at once.
pub struct Passwords {
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    in_flight: Arc<InFlight>,
    /// Checked for unknown login names, so their timing matches known ones.
    dummy_hash: String,
}

/// How many hashes run now, and the most that ever ran at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// Counts one hash as running for as long as it lives.
struct Running(Arc<InFlight>);

impl Running {
    fn start(in_flight: Arc<InFlight>) -> Self {
        let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        in_flight.peak.fetch_max(now, Ordering::SeqCst);
        Self(in_flight)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Passwords {
    /// Allows `concurrency` hashes at once (at least one), each on a thread of its own.
    /// The threads end when `self` is dropped.
    pub async fn new(concurrency: usize) -> AppResult<Self> {
        let concurrency = concurrency.max(1);
        let mut passwords = Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            jobs: start_hashing_threads(concurrency)?,
            in_flight: Arc::default(),
            dummy_hash: String::new(),
        };
        passwords.dummy_hash = passwords
            .hash("no such user, no such password".into())
            .await?;
        Ok(passwords)
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move |workspace| argon2id::hash(workspace, password.as_bytes()))
            .await?
            .map_err(AppError::internal)
    }

    /// Checks `password` against a stored PHC string. With no stored hash (an unknown
    /// account) it checks a dummy one, so it takes as long, and answers false.
    pub async fn verify(&self, password: String, stored_hash: Option<String>) -> AppResult<bool> {
        let known = stored_hash.is_some();
        let stored_hash = stored_hash.unwrap_or_else(|| self.dummy_hash.clone());
        let matches = self
            .run(move |workspace| argon2id::verify(workspace, password.as_bytes(), &stored_hash))
            .await?;
        Ok(known && matches)
    }

    /// The most hashes or checks that ever ran at once on this node.
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.peak.load(Ordering::SeqCst)
    }

    /// Runs `work` on a hashing thread once a permit is free. The permit goes with the
    /// work, so a request that stops waiting for the answer does not free a slot early.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        let in_flight = self.in_flight.clone();
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |workspace| {
            let _permit = permit;
            let _running = Running::start(in_flight);
            // Nobody may be waiting any more; the answer is then dropped.
            let _ = reply.send(work(workspace));
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::internal(anyhow::anyhow!("password hashing threads ended")))?;
        answer.await.map_err(AppError::internal)
    }
}

/// Starts `count` threads that run jobs, each with its own workspace, until the
/// returned sender is dropped.
fn start_hashing_threads(count: usize) -> AppResult<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = receiver.clone();
        std::thread::Builder::new()
            .name(format!("password-hash-{index}"))
            .spawn(move || {
                let mut workspace = Workspace::default();
                loop {
                    // The lock is released at the end of this statement, before the job runs.
                    let next = receiver.lock().map(|jobs| jobs.recv());
                    match next {
                        Ok(Ok(job)) => job(&mut workspace),
                        _ => return,
                    }
                }
            })
            .map_err(AppError::internal)?;
    }
    Ok(sender)
}

/// The default bound: one hash per core.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let passwords = Passwords::new(2).await.unwrap();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        let verify = |password: &str| passwords.verify(password.into(), Some(hash.clone()));
        assert!(verify("correct horse").await.unwrap());
        assert!(!verify("wrong horse").await.unwrap());
        // The dummy hash's own password does not open an unknown account.
        let unknown = passwords.verify("no such user, no such password".into(), None);
        assert!(!unknown.await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_bound_run_at_once() {
        let passwords = Arc::new(Passwords::new(2).await.unwrap());
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        let checks = (0..12).map(|_| {
            let passwords = passwords.clone();
            let hash = hash.clone();
            tokio::spawn(async move { passwords.verify("correct horse".into(), Some(hash)).await })
        });
        for check in futures_util::future::join_all(checks).await {
            assert!(check.unwrap().unwrap());
        }
        assert!((1..=2).contains(&passwords.peak_in_flight()));
    }
}
