//! `coin-api`: serve the HTTP API, mint a token, or migrate the database.

use anyhow::Context;
use clap::Parser;
use coin_api::{
    auth::TokenIssuer,
    cli::{Cli, Command},
    startup::Application,
};
use coin_shared::{db, shutdown, telemetry};

/// mimalloc keeps the API's resident memory flatter than glibc's per-thread arenas under many
/// concurrent connections (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    coin_shared::exit::report(run())
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(Box::new(cli.serve))) {
        Command::Token(args) => {
            anyhow::ensure!(
                args.ttl.num_seconds() <= args.max_lifetime_secs,
                "--ttl {}s is longer than the {}s the API accepts (JWT_MAX_LIFETIME_SECS)",
                args.ttl.num_seconds(),
                args.max_lifetime_secs
            );
            let token = TokenIssuer::new(&args.jwt_secret)?.issue(args.sub, args.role, args.ttl)?;
            println!("{token}");
        }
        Command::Migrate {
            database,
            telemetry: t,
        } => {
            telemetry::init_tracing(t.log_format);
            let settings = coin_shared::config::DatabaseSettings {
                run_migrations: true,
                ..database
            };
            db::connect_and_migrate(&settings).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve(settings) => {
            telemetry::init_tracing(settings.common.telemetry.log_format);
            if settings.common.database.run_migrations {
                db::connect_and_migrate(&settings.common.database)
                    .await
                    .context("could not prepare the database at start")?;
            }
            Application::build(&settings)
                .await?
                .run_until(shutdown::signal())
                .await?;
        }
    }
    Ok(())
}
