//! `coin-controller`: measure, decide, scale, record, export.

use clap::Parser;
use coin_controller::{app::ControllerApp, settings::Cli};
use coin_shared::{shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { settings } = Cli::parse();
    telemetry::init_tracing(settings.telemetry.log_format);
    ControllerApp::build(&settings)
        .await?
        .run_until(shutdown::signal())
        .await
}
