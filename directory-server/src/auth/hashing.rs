//! bcrypt, deliberately slow (about 0.25 s at cost 12), on threads of its own: never on the
//! async workers, and never at the expense of the requests that need no hashing. See the
//! parent module.

use std::num::NonZeroU32;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use p2p_chat_protocol::validate::PASSWORD_MAX_BYTES;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore, oneshot};

use crate::error::ApiError;

/// Hashed with the configured cost once, so that a login for an unknown username spends the
/// same bcrypt time as one for a known username.
const DUMMY_PASSWORD: &str = "p2p-chat-directory timing equaliser";

/// Niceness of the hashing threads: 10, a tenth of the CPU weight of a normal thread
/// (Linux's CFS weights each nice step by 1.25×, <https://docs.kernel.org/scheduler/sched-nice-design.html>).
pub const HASH_NICENESS: u8 = 10;

/// Hashing time each hashing thread may spend per second of wall time, sustained: 200 ms (a
/// 20 % duty cycle; with one thread per two CPUs, 10 % of the machine). Measured against the
/// lookups of `benches/scale/run.sh`: the budget that keeps them at 0.8× their calm rate during
/// a registration storm.
pub const HASH_DUTY_PER_SECOND: Duration = Duration::from_millis(200);

/// Hashing time a thread may spend at once before the duty cycle applies: 2 s, about eight
/// bcrypt computations at cost 12, so a handful of logins never wait for the budget.
pub const HASH_BURST: Duration = Duration::from_secs(2);

/// Longest wait of a request for a hashing thread: 5 s. Beyond it the request is answered 503
/// with `Retry-After` rather than left waiting.
pub const HASH_WAIT: Duration = Duration::from_secs(5);

/// A computation for a hashing thread, and the slot it holds: the slot is given back only
/// after the thread has rested as its budget demands, so a request waiting for a slot waits
/// for a thread that is ready.
/// Counts one waiting request while it lives (also when the request is cancelled).
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

type Job = (Box<dyn FnOnce() + Send>, OwnedSemaphorePermit);

/// Runs bcrypt on threads of its own, at a lower priority, with bounded concurrency.
pub(crate) struct PasswordHasher {
    cost: u32,
    concurrency: usize,
    permits: Arc<Semaphore>,
    /// Requests waiting for a slot now.
    waiting: std::sync::atomic::AtomicUsize,
    jobs: Mutex<mpsc::Sender<Job>>,
    dummy_hash: OnceCell<String>,
}

impl PasswordHasher {
    /// `cost` must be 4–31 and `concurrency` at least 1 (ensured by `AppState::new`). Starts
    /// `concurrency` hashing threads, which end when the hasher is dropped.
    pub(crate) fn new(cost: u32, concurrency: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("bcrypt-{n}"))
                .spawn(move || hashing_thread(&queue));
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a password-hashing thread");
            }
        }
        Self {
            cost,
            concurrency,
            permits: Arc::new(Semaphore::new(concurrency)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            jobs: Mutex::new(jobs),
            dummy_hash: OnceCell::new(),
        }
    }

    /// Slots taken now: computations running, or threads resting as their budget demands.
    pub(crate) fn in_flight(&self) -> usize {
        self.concurrency
            .saturating_sub(self.permits.available_permits())
    }

    /// Requests waiting for a free slot now: the password-hashing queue.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `work` on a hashing thread once one is free, waiting at most [`HASH_WAIT`].
    async fn on_hashing_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = {
            let _waiting = Waiting::count(&self.waiting);
            tokio::time::timeout(HASH_WAIT, Arc::clone(&self.permits).acquire_owned()).await
        }
        .map_err(|_| ApiError::Busy {
            retry_after_secs: HASH_WAIT.as_secs(),
        })?
        .map_err(ApiError::internal)?;
        let (done, answer) = oneshot::channel();
        // The permit goes with the job: if the request is cancelled the computation still
        // finishes, and it keeps counting against the limit until the thread is free again.
        let job: Job = (
            Box::new(move || {
                let _ = done.send(work());
            }),
            permit,
        );
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| ApiError::internal("no password-hashing thread is running"))?;
        answer
            .await
            .map_err(|_| ApiError::internal("a password-hashing thread stopped"))
    }

    /// The bcrypt hash of `password` (modular crypt format, `$2b$`).
    ///
    /// # Errors
    /// 500 when bcrypt fails (it does not for valid costs).
    pub(crate) async fn hash(&self, password: String) -> Result<String, ApiError> {
        let cost = self.cost;
        self.on_hashing_thread(move || bcrypt::hash(password, cost))
            .await?
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `hash`. With `hash == None` (unknown user) a verify against
    /// a dummy hash is still spent and the answer is false. Passwords over bcrypt's 72-byte
    /// limit never match: registration refuses them, and bcrypt would otherwise compare only
    /// their first 72 bytes.
    ///
    /// # Errors
    /// 500 when the stored hash is malformed.
    pub(crate) async fn verify(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = match hash {
            Some(hash) => hash,
            None => self.dummy_hash().await?.clone(),
        };
        let too_long = password.len() > PASSWORD_MAX_BYTES;
        let matches = self
            .on_hashing_thread(move || bcrypt::verify(password, &hash))
            .await?
            .map_err(ApiError::internal)?;
        Ok(known && matches && !too_long)
    }

    async fn dummy_hash(&self) -> Result<&String, ApiError> {
        self.dummy_hash
            .get_or_try_init(|| self.hash(DUMMY_PASSWORD.to_owned()))
            .await
    }
}

/// A hashing thread: lowers its own priority to [`HASH_NICENESS`] (where the system lets it;
/// otherwise it hashes at normal priority and says so), then runs jobs until the hasher is
/// gone.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_current_thread_priority,
    };
    // thread-priority takes a value of 0-99 and maps it onto niceness for normal threads:
    // the value that maps onto ours.
    let normal = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
    let value = (0..=99u8)
        .filter_map(|v| ThreadPriorityValue::try_from(v).ok())
        .find(|&v| {
            ThreadPriority::Crossplatform(v).to_posix(normal) == Ok(i32::from(HASH_NICENESS))
        });
    let lowered = match value {
        // Already as low or lower (the whole directory runs niced): leave it.
        _ if own_niceness().is_some_and(|nice| nice >= i64::from(HASH_NICENESS)) => Ok(()),
        Some(value) => set_current_thread_priority(ThreadPriority::Crossplatform(value))
            .map_err(|err| err.to_string()),
        None => Err(format!("no priority maps onto niceness {HASH_NICENESS}")),
    };
    if let Err(err) = lowered {
        tracing::warn!(%err, "cannot lower the priority of a password-hashing thread");
    }
    let budget = HashBudget::new();
    loop {
        let job = queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        let Ok((work, permit)) = job else { return };
        let started = std::time::Instant::now();
        work();
        budget.take(started.elapsed());
        drop(permit);
    }
}

/// A hashing thread's budget of time: [`HASH_DUTY_PER_SECOND`] sustained, [`HASH_BURST`] at
/// once, counted in milliseconds with governor's rate limiter (GCRA).
struct HashBudget(governor::DefaultDirectRateLimiter);

impl HashBudget {
    fn new() -> Self {
        let per_second = u32::try_from(HASH_DUTY_PER_SECOND.as_millis()).unwrap_or(u32::MAX);
        let burst = u32::try_from(HASH_BURST.as_millis()).unwrap_or(u32::MAX);
        let quota =
            governor::Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self(governor::RateLimiter::direct(quota))
    }

    /// Charges `spent` (the wall time of one computation, at least 1 ms, at most the burst),
    /// first resting for as long as the budget does not cover it.
    fn take(&self, spent: Duration) {
        let burst = u32::try_from(HASH_BURST.as_millis()).unwrap_or(u32::MAX);
        let ms = u32::try_from(spent.as_millis())
            .unwrap_or(u32::MAX)
            .clamp(1, burst);
        let cells = NonZeroU32::new(ms).unwrap_or(NonZeroU32::MIN);
        let clock = governor::clock::DefaultClock::default();
        while let Ok(Err(not_until)) = self.0.check_n(cells) {
            std::thread::sleep(not_until.wait_time_from(governor::clock::Clock::now(&clock)));
        }
    }
}

/// The calling thread's niceness, from `/proc/thread-self/stat` (field 19, proc(5)); `None`
/// where that cannot be read.
fn own_niceness() -> Option<i64> {
    niceness_in(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// The niceness in a `/proc/…/stat` line (field 19; the name in field 2 may hold spaces).
fn niceness_in(stat: &str) -> Option<i64> {
    stat[stat.rfind(')')? + 2..]
        .split(' ')
        .nth(16)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, niceness) of this process's threads, from /proc/self/task/*/stat (fields 2 and
    /// 19, proc(5)).
    fn threads() -> Vec<(String, i64)> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
            .filter_map(|stat| {
                let name = stat[stat.find('(')? + 1..stat.rfind(')')?].to_owned();
                Some((name, niceness_in(&stat)?))
            })
            .collect()
    }

    #[tokio::test]
    async fn hashes_run_on_their_own_threads_at_a_lower_priority() {
        let hasher = PasswordHasher::new(4, 2);
        hasher.hash("correct horse".into()).await.unwrap();
        hasher.hash("battery staple".into()).await.unwrap();
        let hashing: Vec<i64> = threads()
            .into_iter()
            .filter(|(name, _)| name.starts_with("bcrypt-"))
            .map(|(_, nice)| nice)
            .collect();
        // Relative to the process's own niceness (the tests may run niced).
        let base = niceness_in(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        // This hasher's two threads have run a job each, so both lowered their priority
        // before it (other tests' threads may be starting at the same moment).
        let lowered = hashing
            .iter()
            .filter(|&&nice| nice == base.max(i64::from(HASH_NICENESS)))
            .count();
        assert!(lowered >= 2, "{:?}", threads());
        let workers = threads();
        assert!(
            workers
                .iter()
                .filter(|(name, _)| !name.starts_with("bcrypt-"))
                .all(|&(_, nice)| nice == base),
            "the other threads keep their priority: {workers:?}"
        );
    }

    #[test]
    fn a_hashing_thread_spends_its_burst_then_only_its_duty_cycle() {
        let budget = HashBudget::new();
        // The whole burst is there at once, without resting...
        budget.take(HASH_BURST);
        // ...and then nothing is left: the next computation rests first.
        assert!(matches!(budget.0.check_n(NonZeroU32::MIN), Ok(Err(_))));
        // A charge beyond the burst counts as the burst (it can never be covered otherwise).
        assert!(
            budget
                .0
                .check_n(NonZeroU32::new(u32::MAX).unwrap())
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_request_waits_for_a_hashing_thread_at_most_the_limit() {
        let hasher = Arc::new(PasswordHasher::new(4, 1));
        // Hold the only slot, as a long hash would.
        let held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        tokio::time::pause();
        let waiting = tokio::spawn({
            let hasher = Arc::clone(&hasher);
            async move { hasher.hash("correct horse".into()).await }
        });
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(hasher.waiting(), 1, "the queue, for the metrics");
        tokio::time::advance(HASH_WAIT).await;
        match waiting.await.unwrap() {
            Err(ApiError::Busy { retry_after_secs }) => assert_eq!(retry_after_secs, 5),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(
            hasher.waiting(),
            0,
            "a request that gave up is no longer waiting"
        );
        drop(held);
    }

    #[tokio::test]
    async fn verify_spends_a_hash_even_for_unknown_users() {
        let hasher = PasswordHasher::new(4, 1);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify(DUMMY_PASSWORD.into(), None).await.unwrap());
        assert!(hasher.dummy_hash.get().is_some());
    }

    #[tokio::test]
    async fn passwords_over_72_bytes_never_match() {
        let hasher = PasswordHasher::new(4, 1);
        let long = "x".repeat(PASSWORD_MAX_BYTES);
        let hash = hasher.hash(long.clone()).await.unwrap();
        assert!(
            hasher
                .verify(long.clone(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify(format!("{long}y"), Some(hash)).await.unwrap());
    }
}
