//! The API, worker and controller processes under test: started from the release binaries next to the
//! bench, stopped with SIGTERM.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context;
use tokio::process::{Child, Command};
use uuid::Uuid;

/// The processes of one run.
pub struct Procs {
    dir: PathBuf,
    env: Vec<(String, String)>,
    api: Option<Child>,
    controller: Option<Child>,
    workers: Vec<Child>,
}

impl Procs {
    /// Finds the binaries and prepares their environment.
    pub fn new(db_url: &str, redis: &str, namespace: &str) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let dir = exe
            .parent()
            .context("the bench has no directory")?
            .to_path_buf();
        for name in ["coin-api", "coin-worker", "coin-controller"] {
            anyhow::ensure!(
                dir.join(name).exists(),
                "{} is missing: run `cargo build --release -p coin-api -p coin-worker \
                 -p coin-controller` first",
                dir.join(name).display()
            );
        }
        let secret = format!("bench-{}", Uuid::new_v4().simple());
        // The allocator settings the image and scripts/run.sh ship, unless the caller set others.
        let purge_delay = std::env::var("MIMALLOC_PURGE_DELAY").unwrap_or_else(|_| "0".into());
        let eager_commit =
            std::env::var("MIMALLOC_ARENA_EAGER_COMMIT").unwrap_or_else(|_| "0".into());
        let env = [
            ("MIMALLOC_PURGE_DELAY", purge_delay.as_str()),
            ("MIMALLOC_ARENA_EAGER_COMMIT", eager_commit.as_str()),
            ("DATABASE_URL", db_url),
            ("REDIS_URL", redis),
            ("QUEUE_NAMESPACE", namespace),
            ("JWT_SECRET", secret.as_str()),
            ("RUN_MIGRATIONS", "false"),
            ("RATE_LIMIT_PER_MINUTE", "0"),
            ("RUST_LOG", "warn"),
            ("LOG_FORMAT", "json"),
            ("WORKER_METRICS_HOST", "127.0.0.1"),
            ("WORKER_METRICS_PORT", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(Self {
            dir,
            env,
            api: None,
            controller: None,
            workers: Vec::new(),
        })
    }

    /// Sets `key` to `value` in the environment of every process started after this.
    pub fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(self.dir.join(name));
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        command
    }

    /// Starts `name` with `env` and waits until `GET http://127.0.0.1:{port}{ready}` answers.
    async fn serve(
        &self,
        name: &str,
        env: &[(&str, String)],
        port: u16,
        ready: &str,
    ) -> anyhow::Result<(Child, String)> {
        let child = self
            .command(name)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        answers(&format!("{base}{ready}"), name).await?;
        Ok((child, base))
    }

    /// Starts coin-api on a free port and waits until `/health` answers 200.
    pub async fn start_api(&mut self) -> anyhow::Result<String> {
        let port = free_port()?;
        let env = [
            ("API_HOST", "127.0.0.1".into()),
            ("API_PORT", port.to_string()),
        ];
        let (child, base) = self.serve("coin-api", &env, port, "/health").await?;
        self.api = Some(child);
        Ok(base)
    }

    /// Starts coin-controller with its console on a free port (no scaler: it only watches) and
    /// waits until the console's sign-in page answers; returns the console's address.
    pub async fn start_controller(&mut self) -> anyhow::Result<String> {
        self.start_controller_with(&[("SCALER", "none".into())])
            .await
    }

    /// Starts coin-controller with `extra` variables (the scaler, the policy, the workers'
    /// settings, which the workers it spawns inherit) and its console on a free port; waits until
    /// the console's sign-in page answers and returns its address.
    pub async fn start_controller_with(
        &mut self,
        extra: &[(&str, String)],
    ) -> anyhow::Result<String> {
        let port = free_port()?;
        let mut env = vec![
            ("CONSOLE_HOST", "127.0.0.1".into()),
            ("CONSOLE_PORT", port.to_string()),
            ("OBSERVABILITY_HOST", "127.0.0.1".into()),
            ("OBSERVABILITY_PORT", free_port()?.to_string()),
        ];
        env.extend(extra.iter().cloned());
        let (child, base) = self.serve("coin-controller", &env, port, "/login").await?;
        self.controller = Some(child);
        Ok(base)
    }

    /// A `service` token (it may post for any user).
    pub fn token(&self) -> anyhow::Result<String> {
        self.token_as("service")
    }

    /// A token of `role` (`service`, `operator`, ...).
    pub fn token_as(&self, role: &str) -> anyhow::Result<String> {
        let output = std::process::Command::new(self.dir.join("coin-api"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args([
                "token",
                "--sub",
                &Uuid::now_v7().to_string(),
                "--role",
                role,
                "--ttl",
                "1h",
            ])
            .output()?;
        anyhow::ensure!(output.status.success(), "coin-api token failed");
        String::from_utf8(output.stdout)?
            .lines()
            .last()
            .map(str::to_owned)
            .context("coin-api token printed nothing")
    }

    /// Starts one more coin-worker process.
    pub fn start_worker(&mut self) -> anyhow::Result<()> {
        let child = self
            .command("coin-worker")
            .env("WORKER_ID_PREFIX", format!("bench-{}", self.workers.len()))
            .spawn()?;
        self.workers.push(child);
        Ok(())
    }

    /// The API's pid.
    pub fn api_pid(&self) -> Option<u32> {
        self.api.as_ref().and_then(Child::id)
    }

    /// The controller's pid.
    pub fn controller_pid(&self) -> Option<u32> {
        self.controller.as_ref().and_then(Child::id)
    }

    /// The workers' pids.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.workers.iter().filter_map(Child::id).collect()
    }

    /// SIGTERM to everything, then wait (bounded).
    pub async fn stop(&mut self) {
        let mut children: Vec<&mut Child> = self.workers.iter_mut().collect();
        if let Some(api) = self.api.as_mut() {
            children.push(api);
        }
        if let Some(controller) = self.controller.as_mut() {
            children.push(controller);
        }
        for child in children {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
            }
        }
    }
}

/// A loopback port free now.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits (10 s at most) until `GET url` answers 2xx.
async fn answers(url: &str, what: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{what} did not answer at {url}")
}

/// Live `coin-worker` processes among the children of `pid` (the process scaler's fleet,
/// draining ones included: they still hold a replica's resources).
pub fn worker_children(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let mut children: Vec<u32> = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    children.sort_unstable();
    children.dedup();
    children
        .into_iter()
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                // `pid (comm) state ...`: zombies (Z) have exited already.
                stat.contains("(coin-worker)")
                    && !stat
                        .rsplit(") ")
                        .next()
                        .is_some_and(|rest| rest.starts_with('Z'))
            })
        })
        .count()
}

/// A process' peak resident set (VmHWM) in MB.
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
