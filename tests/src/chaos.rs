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
/// (the dependency looks down); `restore()` lets traffic through again.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    /// Starts a proxy to `target` on a free local port.
    pub async fn start(target: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = watch::channel(0u64);
        let accepting = up.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(inbound); // refused: the peer sees the connection close at once
                    continue;
                }
                let mut cuts = cuts.clone();
                // Only cuts after this connection was accepted end it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let mut inbound = inbound;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Ok(Self { addr, up, cut })
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
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
