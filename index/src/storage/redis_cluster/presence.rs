//! One process's presence on a cluster database: the version it reads at (its pin)
//! and, while it writes, the writer lease.
//!
//! Any number of processes open a database. Each registers its pin in the log slot
//! (`pins`, with a deadline in `pinexp`); the writer collects old versions only below
//! the smallest live pin (the low-water mark). One process at a time writes: it holds
//! `owner`, a lease with a time to live ([`LEASE_TTL`]), from the first write of a
//! transaction or load to its end. The lease is the fence of every batch: the scripts
//! that write a batch's redo record and publish it (in the same slot) refuse unless
//! this process holds it. A keeper thread renews the pin's deadline and the lease.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use redis::cluster::ClusterClient;

use super::scripts;
use crate::{Error, Result};

/// How long a writer lease outlives its last renewal: longer than a failover takes.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How long a write waits for another process's writer to finish.
pub const WRITER_WAIT: Duration = Duration::from_secs(30);
/// How long a pin outlives its last renewal. A process stalled longer than this may
/// find versions it reads at collected; it notices and reads the newest instead.
pub const PIN_TTL: Duration = Duration::from_secs(30);
/// How often the keeper renews.
const RENEW_EVERY: Duration = Duration::from_secs(2);

/// The keys of the log slot the presence uses.
#[derive(Debug, Clone)]
pub struct LogKeys {
    pub owner: String,
    pub seq: String,
    pub pins: String,
    pub pinexp: String,
}

/// This handle's pin and writer state, and the thread that renews them.
#[derive(Debug)]
pub struct Presence {
    /// Names this handle in `pins` and in the lease.
    pub token: String,
    /// The version reads see. While the lease is held it is the published version.
    pub pin: Arc<AtomicU64>,
    /// Writers of this process holding the lease (it is released at zero).
    pub writers: Mutex<u32>,
    /// The lease is held (the keeper renews it).
    pub writing: Arc<AtomicBool>,
    /// The lease passed to another process while held.
    pub lease_lost: Arc<AtomicBool>,
    /// The pin lapsed (this process stalled): what it read at may be collected.
    pub pin_lapsed: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<JoinHandle<()>>,
}

impl Presence {
    /// Pins this handle at the published version and starts the keeper.
    pub fn start(client: &ClusterClient, keys: LogKeys) -> Result<Presence> {
        let token = format!("pid {} at {:?}", std::process::id(), std::time::SystemTime::now());
        let pin_ttl = PIN_TTL.as_millis() as u64;
        let script = redis::Script::new(scripts::PIN);
        let mut pin = script.key(&keys.seq);
        pin.key(&keys.pins).key(&keys.pinexp).arg(&token).arg("now").arg(pin_ttl);
        // Through a failover under way, as every command (`RedisClusterStorage::run`).
        let deadline = std::time::Instant::now() + super::RETRY_FOR;
        let (conn, version) = loop {
            let attempt = client.get_connection().and_then(|mut conn| {
                let (version, _): (u64, i64) = pin.invoke(&mut conn)?;
                Ok((conn, version))
            });
            match attempt {
                Ok(done) => break done,
                Err(e) if super::transient(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(super::redis_error(e)),
            }
        };
        let pin = Arc::new(AtomicU64::new(version));
        let (writing, lease_lost, pin_lapsed) = (Arc::default(), Arc::default(), Arc::default());
        let (stop, stopped) = mpsc::channel::<()>();
        let keeper = {
            let keeper = Keeper {
                client: client.clone(),
                keys,
                token: token.clone(),
                pin: Arc::clone(&pin),
                writing: Arc::clone(&writing),
                lease_lost: Arc::clone(&lease_lost),
                pin_lapsed: Arc::clone(&pin_lapsed),
            };
            std::thread::Builder::new()
                .name("sprig-presence".into())
                .spawn(move || keeper.run(conn, &stopped))
                .map_err(Error::Io)?
        };
        Ok(Presence {
            token,
            pin,
            writers: Mutex::new(0),
            writing,
            lease_lost,
            pin_lapsed,
            stop: Some(stop),
            keeper: Some(keeper),
        })
    }

    /// Fails once the lease may have passed to another process.
    pub fn check_lease(&self) -> Result<()> {
        if self.lease_lost.load(Ordering::SeqCst) {
            return Err(Error::Io(std::io::Error::other(
                "redis cluster: this process lost the database's writer lease to another process (it stalled \
                 longer than the lease lasts); the transaction is not committed, run it again",
            )));
        }
        Ok(())
    }
}

struct Keeper {
    client: ClusterClient,
    keys: LogKeys,
    token: String,
    pin: Arc<AtomicU64>,
    writing: Arc<AtomicBool>,
    lease_lost: Arc<AtomicBool>,
    pin_lapsed: Arc<AtomicBool>,
}

impl Keeper {
    /// Renews until told to stop, then removes the pin and any lease. While the
    /// cluster cannot be reached nothing is renewed, and nothing can be written
    /// either: the fence lives in the lease's slot.
    fn run(self, mut conn: redis::cluster::ClusterConnection, stopped: &mpsc::Receiver<()>) {
        let renew_pin = redis::Script::new(scripts::RENEW_PIN);
        let renew_lease = redis::Script::new(scripts::RENEW_LEASE);
        let (pin_ttl, lease_ttl) = (PIN_TTL.as_millis() as u64, LEASE_TTL.as_millis() as u64);
        // Until dropped, or told to stop.
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(RENEW_EVERY) {
            let pinned = renew_pin
                .key(&self.keys.pins)
                .key(&self.keys.pinexp)
                .arg(&self.token)
                .arg(pin_ttl)
                .invoke::<i64>(&mut conn);
            let leased = if self.writing.load(Ordering::SeqCst) {
                renew_lease
                    .key(&self.keys.owner)
                    .key(&self.keys.seq)
                    .arg(&self.token)
                    .arg(lease_ttl)
                    .arg(self.pin.load(Ordering::SeqCst))
                    .invoke::<i64>(&mut conn)
                    .map(Some)
            } else {
                Ok(None)
            };
            match (pinned, leased) {
                (Ok(p), Ok(l)) => {
                    if p == 0 {
                        self.pin_lapsed.store(true, Ordering::SeqCst);
                    }
                    if l == Some(0) {
                        self.lease_lost.store(true, Ordering::SeqCst);
                    }
                }
                // A failover under way: a new connection next time.
                _ => {
                    if let Ok(fresh) = self.client.get_connection() {
                        conn = fresh;
                    }
                }
            }
        }
        let _ = redis::Script::new(scripts::UNPIN)
            .key(&self.keys.pins)
            .key(&self.keys.pinexp)
            .arg(&self.token)
            .invoke::<i64>(&mut conn);
        if self.writing.load(Ordering::SeqCst) {
            let _ = redis::Script::new(scripts::RELEASE_LEASE)
                .key(&self.keys.owner)
                .arg(&self.token)
                .invoke::<i64>(&mut conn);
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}
