//! The shutdown signal every binary waits for: SIGTERM (Kubernetes, the process scaler) or
//! Ctrl-C.

use std::future::Future;

/// What a binary's `run_until` stops on: [`signal`] in production, any future that resolves when
/// it should stop in tests.
pub trait Shutdown: Future<Output = ()> + Send + 'static {}

impl<F: Future<Output = ()> + Send + 'static> Shutdown for F {}

/// Resolves on SIGTERM or SIGINT.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
