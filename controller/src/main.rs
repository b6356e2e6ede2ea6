//! `coin-controller`: measure, decide, scale, record, export.

use clap::Parser;
use coin_controller::{app::ControllerApp, settings::Cli};
use coin_shared::{shutdown, telemetry};

fn main() -> std::process::ExitCode {
    coin_shared::exit::report(run())
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let Cli { settings } = Cli::parse();
    telemetry::init_tracing(settings.common.telemetry.log_format);
    ControllerApp::build(&settings)
        .await?
        .run_until(shutdown::signal())
        .await
}
