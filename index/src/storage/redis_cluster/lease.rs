//! One process at a time on a database: the owner lease.
//!
//! sprig's caches assume that no other process changes the database under them,
//! which sled's file lock guarantees for a directory. On a cluster the same rule is
//! a lease: opening sets `sprig:{DB:log}:owner` to a token of its own with a time to
//! live ([`LEASE_TTL`]), a thread renews it, and dropping the database removes it. A
//! second open waits for the lease up to [`LEASE_WAIT`] and then fails naming the
//! holder; a process that dies without removing it loses it after [`LEASE_TTL`].
//!
//! The lease is also the fence of every batch: the script that writes a batch's redo
//! record (in the same slot) refuses unless this process holds it. A lease that
//! expired while its master failed over is taken back only if the batch counter
//! `sprig:{DB:log}:seq` still stands where this process left it, that is when no
//! other process wrote in between; otherwise the lease is lost and every later
//! write fails.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redis::cluster::ClusterClient;

use crate::{Error, Result};

/// How long a lease outlives its last renewal: longer than a failover takes.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How long an open waits for another process's lease.
pub const LEASE_WAIT: Duration = Duration::from_secs(12);

/// KEYS: owner, seq. ARGV: token, time to live (ms), the batch counter as this
/// process last left it.
const RENEW: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder and tonumber(redis.call('GET', KEYS[2]) or '0') == tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
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
    /// The token the lease holds, which each batch's fence checks.
    pub token: String,
    /// The batch counter as this process last left it (the storage sets it).
    pub seq: Arc<AtomicU64>,
    lost: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
}

impl Lease {
    /// Takes the lease `key` for this process, waiting up to [`LEASE_WAIT`] for
    /// another holder's to end. `seq_key` is the batch counter.
    pub fn take(client: &ClusterClient, key: &str, seq_key: &str) -> Result<Lease> {
        let failed = super::redis_error;
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
        let seq: Option<u64> = redis::cmd("GET").arg(seq_key).query(&mut conn).map_err(failed)?;
        let seq = Arc::new(AtomicU64::new(seq.unwrap_or(0)));
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let renewer = {
            let keys = [key.to_string(), seq_key.to_string()];
            let (lost, seq, token, client) = (lost.clone(), seq.clone(), token.clone(), client.clone());
            std::thread::Builder::new()
                .name("sprig-lease".into())
                .spawn(move || renew_until_stopped(&client, conn, &keys, &token, &seq, &lost, &stopped))
                .map_err(Error::Io)?
        };
        Ok(Lease { token, seq, lost, stop: Some(stop), renewer: Some(renewer) })
    }

    /// Fails once the lease may have passed to another process.
    pub fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::Io(std::io::Error::other(
                "redis cluster: this process lost the database's lease to another process; reopen the database",
            )));
        }
        Ok(())
    }
}

/// Renews the lease five times per time to live until told to stop, then removes it.
/// While the cluster cannot be reached the lease is neither renewed nor lost: no
/// batch can be written then either, since its fence lives in the lease's slot.
fn renew_until_stopped(
    client: &ClusterClient,
    mut conn: redis::cluster::ClusterConnection,
    keys: &[String; 2],
    token: &str,
    seq: &AtomicU64,
    lost: &AtomicBool,
    stopped: &mpsc::Receiver<()>,
) {
    let renew = redis::Script::new(RENEW);
    let ttl_ms = LEASE_TTL.as_millis() as u64;
    loop {
        match stopped.recv_timeout(LEASE_TTL / 5) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Dropped, or told to stop.
            _ => break,
        }
        let mut call = renew.key(&keys[0]);
        call.key(&keys[1]).arg(token).arg(ttl_ms).arg(seq.load(Ordering::SeqCst));
        match call.invoke::<i64>(&mut conn) {
            Ok(1) => {}
            Ok(_) => lost.store(true, Ordering::SeqCst),
            // A failover under way: a new connection next time.
            Err(_) => {
                if let Ok(fresh) = client.get_connection() {
                    conn = fresh;
                }
            }
        }
    }
    let _ = redis::Script::new(RELEASE).key(&keys[0]).arg(token).invoke::<i64>(&mut conn);
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
    }
}
