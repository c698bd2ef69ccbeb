//! One process at a time on a database: the owner lease.
//!
//! sprig's caches assume that no other process changes the database under them,
//! which sled's file lock guarantees for a directory. On a cluster the same rule is
//! a lease: opening sets `sprig:{DB:log}:owner` to a token of its own with a time to
//! live ([`LEASE_TTL`]), a thread renews it, and dropping the database removes it. A
//! second open waits for the lease up to [`LEASE_WAIT`] and then fails naming the
//! holder; a process that dies without removing it loses it after [`LEASE_TTL`].
//! A process that could not renew in time (stalled past the time to live) may have
//! been replaced, so its writes fail from then on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redis::cluster::ClusterClient;

use crate::{Error, Result};

/// How long a lease outlives its last renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(5);
/// How long an open waits for another process's lease.
pub const LEASE_WAIT: Duration = Duration::from_secs(7);

const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// A held owner lease; released on drop.
#[derive(Debug)]
pub struct Lease {
    lost: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
}

impl Lease {
    /// Takes the lease `key` for this process, waiting up to [`LEASE_WAIT`] for
    /// another holder's to end.
    pub fn take(client: &ClusterClient, key: &str) -> Result<Lease> {
        let failed = |e: redis::RedisError| Error::Io(std::io::Error::other(format!("redis cluster: {e}")));
        let mut conn = client.get_connection().map_err(failed)?;
        let token = format!("pid {} at {:?}", std::process::id(), std::time::SystemTime::now());
        let ttl_ms = LEASE_TTL.as_millis() as u64;
        let deadline = Instant::now() + LEASE_WAIT;
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query(&mut conn)
                .map_err(failed)?;
            if taken.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                let holder: Option<String> = redis::cmd("GET").arg(key).query(&mut conn).map_err(failed)?;
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "the database is open in another process ({}); one process at a time opens a database \
                         on a cluster: connect to that process with `sprig --connect`",
                        holder.as_deref().unwrap_or("gone just now")
                    ),
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let renewer = {
            let (lost, key) = (lost.clone(), key.to_string());
            std::thread::Builder::new()
                .name("sprig-lease".into())
                .spawn(move || renew_until_stopped(conn, &key, &token, &lost, &stopped))
                .map_err(Error::Io)?
        };
        Ok(Lease { lost, stop: Some(stop), renewer: Some(renewer) })
    }

    /// Fails once the lease may have passed to another process.
    pub fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::Io(std::io::Error::other(
                "redis cluster: this process lost the database's lease (it could not renew it within 5 s), \
                 so another process may own the database now; reopen it",
            )));
        }
        Ok(())
    }
}

/// Renews the lease three times per time to live until told to stop, then removes it.
fn renew_until_stopped(
    mut conn: redis::cluster::ClusterConnection,
    key: &str,
    token: &str,
    lost: &AtomicBool,
    stopped: &mpsc::Receiver<()>,
) {
    let renew = redis::Script::new(RENEW);
    let ttl_ms = LEASE_TTL.as_millis() as u64;
    let mut renewed = Instant::now();
    loop {
        match stopped.recv_timeout(LEASE_TTL / 3) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Dropped, or told to stop.
            _ => break,
        }
        let now = Instant::now();
        match renew.key(key).arg(token).arg(ttl_ms).invoke::<i64>(&mut conn) {
            Ok(1) => renewed = now,
            // Gone or someone else's: no write of this process may land any more.
            Ok(_) => lost.store(true, Ordering::SeqCst),
            // Not reachable for now (a failover); lost once the time to live has passed.
            Err(_) => {
                if now.duration_since(renewed) >= LEASE_TTL {
                    lost.store(true, Ordering::SeqCst);
                }
            }
        }
    }
    let _ = redis::Script::new(RELEASE).key(key).arg(token).invoke::<i64>(&mut conn);
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
    }
}
