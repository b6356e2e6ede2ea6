//! `coin-worker`: consume the job queues until SIGTERM, or act on them as an operator (dead
//! set, queues, pause and resume, jobs).

use std::io::stdout;

use clap::Parser;
use coin_shared::{shutdown, telemetry};
use coin_worker::{
    dead, operator_cli,
    runner::WorkerApp,
    settings::{Cli, Command},
};

fn main() -> std::process::ExitCode {
    coin_shared::exit::report(run())
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli
        .command
        .unwrap_or_else(|| Command::Run(Box::new(cli.settings)))
    {
        Command::Run(settings) => {
            telemetry::init_tracing(settings.common.telemetry.log_format);
            WorkerApp::build(*settings)
                .await?
                .run_until(shutdown::signal())
                .await
        }
        Command::Dead { action, redis } => {
            dead::run(action, &operator_cli::connect(&redis)?, &mut stdout()).await
        }
        Command::Queues { redis } => {
            operator_cli::queues(&operator_cli::connect(&redis)?, &mut stdout()).await
        }
        Command::Pause { queue, redis } => {
            operator_cli::pause(&operator_cli::connect(&redis)?, &queue, true, &mut stdout()).await
        }
        Command::Resume { queue, redis } => {
            operator_cli::pause(
                &operator_cli::connect(&redis)?,
                &queue,
                false,
                &mut stdout(),
            )
            .await
        }
        Command::Jobs { action, redis } => {
            operator_cli::jobs(action, &operator_cli::connect(&redis)?, &mut stdout()).await
        }
    }
}
