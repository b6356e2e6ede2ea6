//! Tools for failure tests: the project's binaries as real processes, a TCP proxy that can cut
//! a dependency off, and a dedicated Redis server that can be stopped and started.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use tokio::{
    net::{TcpListener, TcpStream},
    process::{Child, Command},
    sync::watch,
};

/// A binary of this workspace, next to the test executable (`target/<profile>/`).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("the test executable is not in target/<profile>/deps")?;
    let path = dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it with `cargo build -p {name}` (cargo test --workspace does)",
        path.display()
    );
    Ok(path)
}

/// A TCP proxy in front of a dependency. `cut()` drops every connection and refuses new ones
/// (the dependency looks down); `restore()` lets traffic through again; `set_delay()` holds
/// every client-to-server chunk back (a slow network); `cut_when()` cuts at an exact point of
/// the conversation.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    faults: Arc<Faults>,
}

/// A one-shot cut, armed by [`Proxy::cut_when`].
struct Trigger {
    pattern: Vec<u8>,
    after_reply: bool,
    hold: Duration,
}

struct Faults {
    up: AtomicBool,
    cut: watch::Sender<u64>,
    delay_ms: std::sync::atomic::AtomicU64,
    trigger: std::sync::Mutex<Option<Trigger>>,
}

impl Faults {
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Takes the armed trigger if `chunk` holds its pattern.
    fn fire(&self, chunk: &[u8]) -> Option<Trigger> {
        let mut armed = self.trigger.lock().ok()?;
        let hit = armed.as_ref().is_some_and(|t| {
            chunk
                .windows(t.pattern.len().max(1))
                .any(|w| w == t.pattern.as_slice())
        });
        if hit { armed.take() } else { None }
    }

    /// Cuts now and refuses connections for `hold`.
    fn cut_for(self: &Arc<Self>, hold: Duration) {
        self.cut();
        let faults = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(hold).await;
            faults.up.store(true, Ordering::SeqCst);
        });
    }
}

impl Proxy {
    /// Starts a proxy to `target` on a free local port.
    pub async fn start(target: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cut, _) = watch::channel(0u64);
        let faults = Arc::new(Faults {
            up: AtomicBool::new(true),
            cut,
            delay_ms: 0.into(),
            trigger: std::sync::Mutex::new(None),
        });
        let shared = faults.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !shared.up.load(Ordering::SeqCst) {
                    drop(inbound); // refused: the peer sees the connection close at once
                    continue;
                }
                // Only cuts after this connection was accepted end it.
                let mut cuts = shared.cut.subscribe();
                cuts.borrow_and_update();
                let faults = shared.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = pump(inbound, outbound, faults) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Ok(Self { addr, faults })
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.faults.cut();
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.faults.up.store(true, Ordering::SeqCst);
    }

    /// Holds every client-to-server chunk back by `delay` from now on.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.faults.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Once, when a client sends a chunk containing `pattern`: forwards it, then cuts every
    /// connection — at once (`after_reply = false`: the server acts on it, the client never
    /// hears back) or after the server's next reply reached the client — and refuses new
    /// connections for `hold`.
    pub fn cut_when(&self, pattern: &[u8], after_reply: bool, hold: Duration) {
        if let Ok(mut armed) = self.faults.trigger.lock() {
            *armed = Some(Trigger {
                pattern: pattern.to_vec(),
                after_reply,
                hold,
            });
        }
    }

    /// Whether an armed [`Self::cut_when`] has fired.
    pub fn fired(&self) -> bool {
        self.faults
            .trigger
            .lock()
            .map(|t| t.is_none())
            .unwrap_or(false)
    }
}

/// Copies both ways, applying the proxy's delay and trigger to client-to-server chunks.
async fn pump(inbound: TcpStream, outbound: TcpStream, faults: Arc<Faults>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_rx, mut client_tx) = inbound.into_split();
    let (mut server_rx, mut server_tx) = outbound.into_split();
    let (cut_on_reply, mut reply_armed) = watch::channel(None::<Duration>);
    let up = {
        let faults = faults.clone();
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match client_rx.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let delay = faults.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                let trigger = faults.fire(&buf[..n]);
                if server_tx.write_all(&buf[..n]).await.is_err() {
                    return;
                }
                match trigger {
                    Some(t) if t.after_reply => {
                        let _ = cut_on_reply.send(Some(t.hold));
                    }
                    Some(t) => {
                        let _ = server_tx.flush().await;
                        // Let the server read the command before the connection goes.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        faults.cut_for(t.hold);
                        return;
                    }
                    None => {}
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if client_tx.write_all(&buf[..n]).await.is_err() {
                return;
            }
            let armed = *reply_armed.borrow_and_update();
            if let Some(hold) = armed {
                let _ = client_tx.flush().await;
                faults.cut_for(hold);
                return;
            }
        }
    };
    tokio::join!(up, down);
}

/// A `coin-api` process of the test's own (`kill -9` it like a crash).
pub struct ApiProcess {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The process.
    pub child: Child,
}

impl ApiProcess {
    /// Starts the `coin-api` binary with `env` on a free port and waits until `/livez` answers.
    pub async fn start(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(binary("coin-api")?);
        command
            .env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string())
            .env("RUN_MIGRATIONS", "false")
            .env("RATE_LIMIT_PER_MINUTE", "1000000")
            .env("RUST_LOG", "warn")
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().context("could not start coin-api")?;
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{address}/livez"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(Self { address, child });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("coin-api did not answer /livez on port {port}")
    }

    /// `kill -9`, then waits for the exit.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// A Redis server of the test's own, on a free port, without persistence.
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it answers.
    pub async fn start() -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut server = Self { port, child: None };
        server.restart().await?;
        Ok(server)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (like a crash) and waits for it to exit.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Starts the server again on the same port.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("tests need redis-server on PATH")?;
        self.child = Some(child);
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("redis-server did not start on port {}", self.port)
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Sends signal `name` (`TERM`, `STOP`, …) to `child` with `kill`.
pub fn signal(child: &tokio::process::Child, name: &str) {
    let pid = child.id().expect("a running child").to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Sends SIGTERM and waits at most `within` for the process to exit; returns how it exited.
pub async fn terminate(
    child: &mut tokio::process::Child,
    within: std::time::Duration,
) -> std::process::ExitStatus {
    signal(child, "TERM");
    tokio::time::timeout(within, child.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit within {within:?} of SIGTERM"))
        .expect("reaped")
}
