//! Tracing and Prometheus set-up shared by all binaries.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global tracing subscriber. `RUST_LOG` filters (default `info`).
/// Calling it twice is harmless (the second call is ignored), which keeps tests simple.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer()).try_init(),
    };
    // Already installed (tests, or a library caller): keep the first one.
    if result.is_ok() {
        log_panics();
    }
}

/// Sends every panic to the log once, as one structured error event with its location, instead
/// of the default hook's plain stderr text. (The API answers a caught handler panic with a 500
/// without logging it again.)
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(panic = %message, %location, "panicked");
    }));
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once and returns its handle; every later call
/// returns the same handle, so several applications in one test process share it.
pub fn prometheus() -> Result<PrometheusHandle, BuildError> {
    if let Some(handle) = PROMETHEUS.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])?
        .build_recorder();
    let handle = recorder.handle();
    match metrics::set_global_recorder(recorder) {
        Ok(()) => {
            let _ = PROMETHEUS.set(handle.clone());
            spawn_upkeep(handle.clone());
            Ok(handle)
        }
        // Lost a race with another thread: use the winner's handle.
        Err(_) => Ok(PROMETHEUS.get().cloned().unwrap_or(handle)),
    }
}

/// Histograms need periodic upkeep to drain their buffers when nobody scrapes.
fn spawn_upkeep(handle: PrometheusHandle) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
}
