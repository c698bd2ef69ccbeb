//! A Redis Cluster for a test: nine nodes on loopback started with
//! `scripts/redis-cluster.sh`, stopped when dropped.

pub struct Cluster {
    dir: tempfile::TempDir,
    port: &'static str,
    pub seeds: String,
}

/// `scripts/redis-cluster.sh`, found from whichever crate's tests include this file.
fn script() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("scripts/redis-cluster.sh"))
        .find(|path| path.exists())
        .expect("scripts/redis-cluster.sh in the workspace")
}

/// Whether the cluster tests run: `redis-server` is installed, or `.ci/run` said
/// they must (SPRIG_REQUIRE_REDIS), so that a missing server fails there, while a plain
/// `cargo test` on a machine without Redis passes and says what it left out.
pub fn cluster_tests_run() -> bool {
    let installed =
        std::process::Command::new("redis-server").arg("--version").output().is_ok_and(|o| o.status.success());
    if !installed && std::env::var_os("SPRIG_REQUIRE_REDIS").is_none() {
        eprintln!("redis-server is not installed: the Redis Cluster tests did not run (.ci/run installs it)");
        return false;
    }
    true
}

impl Cluster {
    /// Nine nodes on the ports from `port` on.
    pub fn start(port: &'static str) -> Cluster {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut cluster = Cluster { dir, port, seeds: String::new() };
        cluster.seeds = cluster.script(&["start"]);
        cluster
    }

    fn script(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("bash")
            .arg(script())
            .args(args)
            .arg(self.dir.path().join("cluster"))
            .env("REDIS_CLUSTER_PORT", self.port)
            .output()
            .expect("the cluster script runs");
        assert!(out.status.success(), "redis-cluster.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// SIGKILLs the master that serves `key` and returns its port.
    #[allow(dead_code)] // the fault tests only
    pub fn kill_master_of(&self, key: &str) -> String {
        let port = self.script(&["master-of", key]);
        assert!(!port.is_empty(), "no master serves {key}");
        self.script(&["kill", &port]);
        port
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path().join("cluster"))
            .env("REDIS_CLUSTER_PORT", self.port)
            .status();
    }
}
