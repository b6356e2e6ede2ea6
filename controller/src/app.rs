//! The controller process: dependencies, the evaluation loop, the Observability Node, the
//! operator console (when `JWT_SECRET` is set), and a graceful shutdown of all three (local
//! workers are drained before the process exits).

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use coin_shared::{
    db,
    identity::{IdentitySetupError, Verifier},
    ops,
    queue::JobQueue,
    schedules::CronSettings,
    shutdown::Shutdown,
    telemetry,
};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    console::{self, ConsoleState, OperatorVerifier, session::Sessions},
    control_loop::{Controller, LoopSettings, PoolSetup, SharedObserved, stop_requested},
    observability::{self, NodeState},
    scale::{KubernetesScaler, NoScaler, ProcessConfig, ProcessScaler, Scaler, WorkerRegistry},
    settings::{ControllerSettings, ScalerKind},
};

/// How long console connections may take to finish at shutdown.
const CONSOLE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A bound controller, ready to run.
pub struct ControllerApp {
    listener: TcpListener,
    node: NodeState,
    controller: Controller,
    console: Option<Console>,
}

/// The console's bound listener and what its state is made of (the shutdown signal comes at
/// `run_until`).
struct Console {
    listener: TcpListener,
    verifier: Arc<OperatorVerifier>,
    sessions: Sessions,
    policy: Arc<crate::decide::Policy>,
    schedules: Arc<CronSettings>,
}

impl ControllerApp {
    /// Connects to Postgres (migrating if enabled) and Redis, prepares the scaler and binds the
    /// Observability port.
    pub async fn build(settings: &ControllerSettings) -> anyhow::Result<Self> {
        Self::build_with_worker_env(settings, Vec::new()).await
    }

    /// As [`ControllerApp::build`], with extra variables for the workers the process scaler starts.
    pub async fn build_with_worker_env(
        settings: &ControllerSettings,
        worker_env: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let pool = db::connect_and_migrate(&settings.common.database)
            .await
            .context("could not prepare the database")?;
        let queue = JobQueue::new(&settings.common.redis).context("invalid REDIS_URL")?;
        let metrics = telemetry::prometheus().context("could not install the metrics recorder")?;
        let pools = pools(settings, worker_env, &queue).await?;
        let first_policy = pools
            .first()
            .map_or_else(|| settings.policy(), |p| p.policy.clone());
        let listener =
            ops::listen(&settings.observability_host, settings.observability_port).await?;
        let console = match Verifier::new(&settings.identity) {
            Err(IdentitySetupError::NoKeys) => {
                tracing::warn!(
                    "neither JWT_JWKS_URL, JWT_JWKS_PATH nor JWT_SECRET is set: the operator console is not served"
                );
                None
            }
            Err(e) => return Err(e).context("invalid token settings for the console"),
            Ok(verifier) => {
                let address = format!("{}:{}", settings.console_host, settings.console_port);
                let listener = TcpListener::bind(&address)
                    .await
                    .with_context(|| format!("could not listen on {address} for the console"))?;
                Some(Console {
                    listener,
                    verifier: Arc::new(OperatorVerifier::new(verifier)),
                    sessions: Sessions::new(settings.console_session()),
                    policy: Arc::new(first_policy),
                    schedules: Arc::new(settings.schedules.clone()),
                })
            }
        };
        let observed = SharedObserved::default();
        let controller = Controller::new(
            pool.clone(),
            Arc::new(queue.clone()),
            pools,
            LoopSettings {
                interval: settings.interval(),
                dry_run: settings.dry_run,
                retention_days: settings.controller_retention_days,
            },
            observed.clone(),
        )
        .with_scheduled(
            settings
                .scheduled_sources()
                .context("pre-scaling for the distribution schedule")?,
        );
        Ok(Self {
            listener,
            node: NodeState {
                pool,
                queue,
                metrics,
                started: Instant::now(),
                observed,
            },
            controller,
            console,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The console's bound address; `None` without `JWT_SECRET`.
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console
            .as_ref()
            .and_then(|c| c.listener.local_addr().ok())
    }

    /// Runs the loop and serves until `shutdown` resolves; then stops both and drains workers.
    pub async fn run_until(self, shutdown: impl Shutdown) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr()?, "coin-controller listening");
        let (stop, stopped) = watch::channel(false);
        let control_loop = tokio::spawn(self.controller.run(stopped.clone()));
        let stopped_console = stopped.clone();
        let mut server_stop = stopped;
        let server = axum::serve(self.listener, observability::router(self.node.clone()))
            .with_graceful_shutdown(async move {
                stop_requested(&mut server_stop).await;
            });
        let server = tokio::spawn(async move { server.await });
        let console = self.console.map(|c| {
            if let Ok(address) = c.listener.local_addr() {
                tracing::info!(address = %address, "operator console listening");
            }
            let state = ConsoleState {
                pool: self.node.pool.clone(),
                queue: self.node.queue.clone(),
                observed: self.node.observed.clone(),
                policy: c.policy,
                schedules: c.schedules,
                verifier: c.verifier,
                sessions: c.sessions,
                stopping: stopped_console.clone(),
            };
            let mut console_stop = stopped_console.clone();
            let server = axum::serve(c.listener, console::router(state)).with_graceful_shutdown(
                async move {
                    stop_requested(&mut console_stop).await;
                },
            );
            tokio::spawn(async move { server.await })
        });
        shutdown.await;
        let _ = stop.send(true);
        control_loop.await.context("the controller loop panicked")?;
        if let Some(mut console) = console {
            // Live streams end at shutdown, but a client that stopped reading could hold its
            // connection open: the console gets a bounded grace, then is cut.
            match tokio::time::timeout(CONSOLE_GRACE, &mut console).await {
                Ok(served) => served
                    .context("the console server panicked")?
                    .context("the console server failed")?,
                Err(_) => {
                    tracing::warn!(
                        grace_secs = CONSOLE_GRACE.as_secs(),
                        "console connections still open after the grace: closing them"
                    );
                    console.abort();
                }
            }
        }
        server
            .await
            .context("the HTTP server panicked")?
            .context("the HTTP server failed")
    }
}

/// The pools of `WORKER_POOLS` (or the one default pool), each with its policy and a scaler of
/// the kind `SCALER` names; the live ones read `queue`'s worker registry before a scale-down.
async fn pools(
    settings: &ControllerSettings,
    worker_env: Vec<(String, String)>,
    queue: &JobQueue,
) -> anyhow::Result<Vec<PoolSetup>> {
    let specs = settings.pools();
    let client = match settings.scaler {
        ScalerKind::Kubernetes => Some(
            kube::Client::try_default()
                .await
                .context("SCALER=kubernetes needs an in-cluster configuration or a kubeconfig")?,
        ),
        ScalerKind::Process | ScalerKind::None => None,
    };
    let registry: Arc<dyn WorkerRegistry> = Arc::new(queue.clone());
    let env = process_env(settings, worker_env);
    let mut port_base = settings.worker_metrics_port_base;
    let mut setups = Vec::with_capacity(specs.len());
    for spec in specs {
        let scaler = match &client {
            Some(client) => Scaler::Kubernetes(Box::new(
                KubernetesScaler::new(
                    client.clone(),
                    &settings.worker_namespace,
                    &spec.deployment(&settings.worker_deployment),
                )
                .with_registry(registry.clone()),
            )),
            None if settings.scaler == ScalerKind::Process => {
                let config = ProcessConfig {
                    binary: settings
                        .worker_binary
                        .clone()
                        .unwrap_or_else(ProcessConfig::default_binary),
                    env: env.clone(),
                    metrics_port_base: port_base,
                    id_prefix: ProcessConfig::DEFAULT_ID_PREFIX.to_owned(),
                }
                .for_pool(&spec);
                // The next pool's workers take the ports after this one's (twice its max, for
                // the workers still draining while new ones start).
                if port_base != 0 {
                    port_base = port_base.saturating_add(
                        u16::try_from(spec.max.saturating_mul(2)).unwrap_or(u16::MAX),
                    );
                }
                Scaler::Process(ProcessScaler::new(config).with_registry(registry.clone()))
            }
            None => Scaler::None(NoScaler::new(spec.min)),
        };
        setups.push(PoolSetup {
            policy: settings.pool_policy(&spec),
            spec,
            scaler,
        });
    }
    Ok(setups)
}

/// The variables every worker the process scaler starts gets: the controller's database, Redis
/// and queue namespace, no migrations, then `worker_env`.
fn process_env(
    settings: &ControllerSettings,
    worker_env: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "DATABASE_URL".to_owned(),
            settings.common.database.url().to_owned(),
        ),
        (
            "REDIS_URL".to_owned(),
            settings.common.redis.url().to_owned(),
        ),
        (
            "QUEUE_NAMESPACE".to_owned(),
            settings.common.redis.queue_namespace.clone(),
        ),
        ("RUN_MIGRATIONS".to_owned(), "false".to_owned()),
    ];
    env.extend(worker_env);
    env
}
