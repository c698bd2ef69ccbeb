//! The Query API's explicit transactions: each is a [`WriteTransaction`] kept
//! between requests under an id, with the graph it was opened on and when it
//! expires. A request takes its transaction out of the table while it runs (a
//! second request on the same id meanwhile is refused, and the reaper cannot roll
//! it back under it) and puts it back with a new expiry. A transaction left idle
//! past its timeout is rolled back by the reaper, so a client that disconnects
//! mid-transaction never holds the writer lock for long and loses nothing that was
//! committed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;

use super::neo4j_json::Failure;
use crate::WriteTransaction;

enum Slot {
    /// Waiting for its next request until `expires`.
    Idle { tx: WriteTransaction, graph: String, expires: Instant },
    /// A request is running a statement in it.
    Busy,
}

/// The open transactions by id.
pub struct Transactions {
    slots: Mutex<HashMap<String, Slot>>,
    next_id: AtomicU64,
    /// How long a transaction may wait for its next request.
    pub idle_timeout: Duration,
}

/// A transaction taken out of the table for one request.
pub struct Taken {
    pub id: String,
    pub tx: WriteTransaction,
    pub graph: String,
}

fn not_found(id: &str) -> Failure {
    Failure::not_found(
        "Neo.ClientError.Transaction.TransactionNotFound",
        format!("there is no open transaction {id} (it was committed, rolled back, or timed out)"),
    )
}

impl Transactions {
    pub fn new(idle_timeout: Duration) -> Transactions {
        Transactions { slots: Mutex::new(HashMap::new()), next_id: AtomicU64::new(1), idle_timeout }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while the lock was held leaves the map itself intact.
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh id for a transaction about to open, already marked busy.
    pub fn reserve(&self) -> String {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        self.slots().insert(id.clone(), Slot::Busy);
        id
    }

    /// Takes transaction `id` of `graph` for a request.
    pub fn take(&self, id: &str, graph: &str) -> Result<Taken, Failure> {
        let mut slots = self.slots();
        match slots.remove(id) {
            Some(Slot::Idle { tx, graph: opened_on, .. }) if opened_on == graph => {
                slots.insert(id.to_string(), Slot::Busy);
                Ok(Taken { id: id.to_string(), tx, graph: opened_on })
            }
            Some(idle @ Slot::Idle { .. }) => {
                slots.insert(id.to_string(), idle);
                Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    "Neo.ClientError.Request.Invalid",
                    format!("transaction {id} was opened on another graph"),
                ))
            }
            Some(Slot::Busy) => {
                slots.insert(id.to_string(), Slot::Busy);
                Err(Failure::new(
                    StatusCode::CONFLICT,
                    "Neo.ClientError.Transaction.ConcurrentRequest",
                    format!("transaction {id} is running another request"),
                ))
            }
            None => Err(not_found(id)),
        }
    }

    /// Puts a transaction back after its request; returns when it will expire.
    pub fn put_back(&self, taken: Taken) -> SystemTime {
        let expires = Instant::now() + self.idle_timeout;
        self.slots().insert(taken.id, Slot::Idle { tx: taken.tx, graph: taken.graph, expires });
        SystemTime::now() + self.idle_timeout
    }

    /// Forgets a transaction that was committed, rolled back, or failed to open.
    pub fn forget(&self, id: &str) {
        self.slots().remove(id);
    }

    /// Removes the transactions idle past their expiry; the caller drops them, which
    /// rolls them back.
    pub fn expired(&self, now: Instant) -> Vec<WriteTransaction> {
        let mut slots = self.slots();
        let ids: Vec<String> = slots
            .iter()
            .filter(|(_, slot)| matches!(slot, Slot::Idle { expires, .. } if *expires <= now))
            .map(|(id, _)| id.clone())
            .collect();
        ids.into_iter()
            .filter_map(|id| match slots.remove(&id) {
                Some(Slot::Idle { tx, .. }) => Some(tx),
                _ => None,
            })
            .collect()
    }

    /// Every transaction still open (at shutdown: each is rolled back).
    pub fn drain(&self) -> Vec<WriteTransaction> {
        self.slots()
            .drain()
            .filter_map(|(_, slot)| match slot {
                Slot::Idle { tx, .. } => Some(tx),
                Slot::Busy => None,
            })
            .collect()
    }

    /// How many are open (idle or running a request).
    pub fn open(&self) -> usize {
        self.slots().len()
    }
}
