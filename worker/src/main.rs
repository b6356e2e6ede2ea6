//! `coin-worker`: consume the job queues until SIGTERM.

use clap::Parser;
use coin_shared::{shutdown, telemetry};
use coin_worker::{runner::WorkerApp, settings::Cli};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { settings } = Cli::parse();
    telemetry::init_tracing(settings.telemetry.log_format);
    WorkerApp::build(settings)
        .await?
        .run_until(shutdown::signal())
        .await
}
