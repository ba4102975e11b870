//! Fair sharing of a scarce resource (request tokens of an account, reconcile slots)
//! between the tenants that want it.
//!
//! A [`FairSemaphore`] has a number of slots and one FIFO queue per *fairness key*
//! (the operator uses the namespace of the object a request is made for). When a
//! slot frees up it goes to the head of the next non-empty queue in round-robin
//! order, so a key with 5,000 waiters and a key with 5 alternate instead of the 5
//! waiting behind the 5,000. Within one key, order is first come, first served.
//!
//! The key of the requests made while a future runs is carried by
//! [`with_fairness_key`], so the typed clients need no extra argument per call.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

tokio::task_local! {
    static FAIRNESS_KEY: Arc<str>;
}

/// Runs `f` with `key` as the fairness key of every rate-limited request it makes.
pub async fn with_fairness_key<F: Future>(key: impl Into<Arc<str>>, f: F) -> F::Output {
    FAIRNESS_KEY.scope(key.into(), f).await
}

/// The fairness key of the running future; empty outside [`with_fairness_key`].
pub fn current_fairness_key() -> Arc<str> {
    FAIRNESS_KEY
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::from(""))
}

#[derive(Debug)]
struct State {
    free: usize,
    /// Slots in all, held or free.
    total: usize,
    /// Slots to take back as they are released (the semaphore shrank while they
    /// were held).
    owed: usize,
    queues: HashMap<Arc<str>, VecDeque<oneshot::Sender<()>>>,
    /// Keys with waiters, in the order they are served next.
    ring: VecDeque<Arc<str>>,
}

/// A semaphore whose waiters are served round robin by key. Cloning shares it.
#[derive(Clone, Debug)]
pub struct FairSemaphore {
    state: Arc<Mutex<State>>,
}

/// A slot of a [`FairSemaphore`]; dropping it hands the slot to the next waiter.
#[derive(Debug)]
pub struct FairPermit {
    sem: FairSemaphore,
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        self.sem.release();
    }
}

/// A queued waiter; if it is dropped after being granted a slot but before taking
/// it (its future was cancelled), the slot is passed on rather than lost.
struct Pending {
    sem: FairSemaphore,
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.sem.release();
            }
        }
    }
}

impl FairSemaphore {
    /// A semaphore with `slots` slots (at least 1).
    pub fn new(slots: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                free: slots.max(1),
                total: slots.max(1),
                owed: 0,
                queues: HashMap::new(),
                ring: VecDeque::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot if one is free and nobody is waiting.
    pub fn try_acquire(&self) -> Option<FairPermit> {
        let mut st = self.lock();
        if st.free > 0 && st.ring.is_empty() {
            st.free -= 1;
            return Some(FairPermit { sem: self.clone() });
        }
        None
    }

    /// Waits for a slot, queued behind earlier waiters of the same key and taking
    /// turns with the other keys.
    pub async fn acquire(&self, key: &str) -> FairPermit {
        let rx = {
            let mut st = self.lock();
            // A free slot with nobody waiting: no queue to respect.
            if st.free > 0 && st.ring.is_empty() {
                st.free -= 1;
                drop(st);
                return FairPermit { sem: self.clone() };
            }
            let (tx, rx) = oneshot::channel();
            let key: Arc<str> = Arc::from(key);
            match st.queues.get_mut(&key) {
                Some(q) => q.push_back(tx),
                None => {
                    st.queues.insert(key.clone(), VecDeque::from([tx]));
                    st.ring.push_back(key);
                }
            }
            rx
        };
        let mut pending = Pending {
            sem: self.clone(),
            rx: Some(rx),
        };
        if let Some(rx) = pending.rx.as_mut() {
            // The sender is only dropped after a successful send or by `release`
            // skipping a closed receiver, which this one is not.
            let _ = rx.await;
        }
        pending.rx = None;
        FairPermit { sem: self.clone() }
    }

    /// Slots in all (held or free).
    pub fn slots(&self) -> usize {
        self.lock().total
    }

    /// Changes the number of slots to `slots` (at least 1). New slots go to waiters
    /// at once; removed ones are taken from the free slots, and the rest as the
    /// holders release them, so no holder is interrupted.
    pub fn resize(&self, slots: usize) {
        let slots = slots.max(1);
        let mut st = self.lock();
        if slots < st.total {
            let fewer = st.total - slots;
            let from_free = fewer.min(st.free);
            st.free -= from_free;
            st.owed += fewer - from_free;
            st.total = slots;
            return;
        }
        let more = slots - st.total;
        st.total = slots;
        let repaid = more.min(st.owed);
        st.owed -= repaid;
        for _ in 0..more - repaid {
            Self::hand_on(&mut st);
        }
    }

    /// Hands a freed slot to the next waiter in round-robin order, or returns it
    /// (or keeps it, when the semaphore shrank).
    fn release(&self) {
        let mut st = self.lock();
        if st.owed > 0 {
            st.owed -= 1;
            return;
        }
        Self::hand_on(&mut st);
    }

    fn hand_on(st: &mut State) {
        while let Some(key) = st.ring.pop_front() {
            let (tx, more) = match st.queues.get_mut(&key) {
                Some(q) => (q.pop_front(), !q.is_empty()),
                None => (None, false),
            };
            if more {
                st.ring.push_back(key);
            } else {
                st.queues.remove(&key);
            }
            // A waiter whose future was dropped has closed its receiver: skip it.
            if let Some(tx) = tx
                && tx.send(()).is_ok()
            {
                return;
            }
        }
        st.free += 1;
    }

    /// Waiters queued under each key (for tests and diagnostics).
    pub fn queued(&self) -> HashMap<String, usize> {
        self.lock()
            .queues
            .iter()
            .map(|(k, q)| (k.to_string(), q.len()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    /// Grants recorded in order by waiters that hold their slot for 1 ms.
    async fn run_waiters(sem: &FairSemaphore, waiters: &[(&str, usize)]) -> Vec<String> {
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for &(key, n) in waiters {
            for i in 0..n {
                let (sem, order) = (sem.clone(), order.clone());
                let name = format!("{key}{i}");
                let key = key.to_string();
                tasks.push(tokio::spawn(async move {
                    let _p = sem.acquire(&key).await;
                    order.lock().unwrap().push(name);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }));
                // Enqueue in a deterministic order.
                tokio::task::yield_now().await;
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(order).unwrap().into_inner().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn keys_take_turns() {
        let sem = FairSemaphore::new(1);
        let blocker = sem.acquire("a").await;
        let sem2 = sem.clone();
        let run =
            tokio::spawn(async move { run_waiters(&sem2, &[("a", 6), ("b", 2), ("c", 1)]).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            sem.queued(),
            HashMap::from([("a".into(), 6), ("b".into(), 2), ("c".into(), 1)])
        );
        drop(blocker);
        let order = run.await.unwrap();
        assert_eq!(
            order,
            ["a0", "b0", "c0", "a1", "b1", "a2", "a3", "a4", "a5"],
            "round robin across keys, FIFO within a key"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_small_key_is_served_within_one_round() {
        // 500 waiters of "a" queued before 5 of "b": each "b" waits for at most one
        // "a" grant, never behind the whole backlog.
        let sem = FairSemaphore::new(2);
        let order = run_waiters(&sem, &[("a", 500), ("b", 5)]).await;
        let positions: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(_, n)| n.starts_with('b'))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(positions.len(), 5);
        // The first two "a" took the free slots; then b and a alternate.
        assert!(positions[4] <= 12, "{positions:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn slots_are_bounded_and_returned() {
        let sem = FairSemaphore::new(2);
        let p1 = sem.acquire("a").await;
        let _p2 = sem.acquire("b").await;
        let sem2 = sem.clone();
        let third = tokio::spawn(async move { drop(sem2.acquire("c").await) });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!third.is_finished(), "only two slots");
        drop(p1);
        third.await.unwrap();
        // The slot came back: one is free again, and only one.
        let _x = sem.acquire("d").await;
        assert!(sem.try_acquire().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_loses_no_slot() {
        let sem = FairSemaphore::new(1);
        let p = sem.acquire("a").await;
        let sem2 = sem.clone();
        let cancelled = tokio::spawn(async move { drop(sem2.acquire("b").await) });
        tokio::time::sleep(Duration::from_millis(1)).await;
        cancelled.abort();
        let _ = cancelled.await;
        drop(p);
        // The slot went past the cancelled waiter, back to the pool.
        tokio::time::timeout(Duration::from_secs(1), sem.acquire("c"))
            .await
            .expect("the slot is free again");
    }

    #[tokio::test]
    async fn the_key_follows_the_future() {
        assert_eq!(&*current_fairness_key(), "");
        let k = with_fairness_key("team-a", async {
            tokio::task::yield_now().await;
            current_fairness_key()
        })
        .await;
        assert_eq!(&*k, "team-a");
    }

    #[tokio::test]
    async fn growing_hands_new_slots_to_waiters_at_once() {
        let sem = FairSemaphore::new(1);
        let held = sem.acquire("a").await;
        let waiters: Vec<_> = (0..2)
            .map(|i| {
                let sem = sem.clone();
                tokio::spawn(async move { sem.acquire(if i == 0 { "a" } else { "b" }).await })
            })
            .collect();
        while sem.queued().values().sum::<usize>() < 2 {
            tokio::task::yield_now().await;
        }
        sem.resize(3);
        assert_eq!(sem.slots(), 3);
        for w in waiters {
            // Granted while the first slot is still held.
            tokio::time::timeout(Duration::from_secs(5), w)
                .await
                .unwrap()
                .unwrap();
        }
        drop(held);
    }

    #[test]
    fn shrinking_takes_slots_back_as_holders_release_them() {
        let sem = FairSemaphore::new(3);
        let held: Vec<_> = (0..3).map(|_| sem.try_acquire().unwrap()).collect();
        sem.resize(1);
        assert_eq!(sem.slots(), 1);
        let mut held = held.into_iter();
        drop(held.next());
        drop(held.next());
        assert!(
            sem.try_acquire().is_none(),
            "two releases repay the two slots removed"
        );
        drop(held.next());
        let one = sem.try_acquire().unwrap();
        assert!(sem.try_acquire().is_none(), "one slot in all");
        drop(one);
        // Growing again repays nothing owed and frees the new slots.
        sem.resize(2);
        let two: Vec<_> = (0..2).map(|_| sem.try_acquire().unwrap()).collect();
        assert!(sem.try_acquire().is_none());
        drop(two);
    }

    #[test]
    fn growing_while_slots_are_owed_cancels_the_debt_first() {
        let sem = FairSemaphore::new(2);
        let a = sem.try_acquire().unwrap();
        let b = sem.try_acquire().unwrap();
        sem.resize(1); // one slot owed, both held
        sem.resize(2); // the owed slot is forgiven, none created
        drop(a);
        let c = sem.try_acquire().unwrap();
        assert!(sem.try_acquire().is_none(), "two slots in all, two held");
        drop((b, c));
    }
}
