//! Applying a decision: Kubernetes, local processes, or nothing. Every scaler reports the
//! replicas it runs and moves to a requested count; errors are returned, never panicked on, so
//! the loop keeps measuring while a scaler is down. A scale-down removes the idlest workers
//! (fewest jobs in flight in the worker [`registry`], chosen by [`victims::idlest`]).

mod error;
pub mod kubernetes;
pub mod none;
pub mod process;
pub mod registry;
pub mod victims;

pub use error::ScaleError;
pub use kubernetes::KubernetesScaler;
pub use none::NoScaler;
pub use process::{ProcessConfig, ProcessScaler};
pub use registry::{WorkerLoad, WorkerRegistry};

use crate::settings::ScalerKind;

/// The scaler chosen by `SCALER`.
pub enum Scaler {
    /// Patches `deployments/scale`.
    Kubernetes(Box<KubernetesScaler>),
    /// Runs local `coin-worker` processes.
    Process(ProcessScaler),
    /// Recommends only.
    None(NoScaler),
}

impl Scaler {
    /// Which kind it is.
    pub fn kind(&self) -> ScalerKind {
        match self {
            Self::Kubernetes(_) => ScalerKind::Kubernetes,
            Self::Process(_) => ScalerKind::Process,
            Self::None(_) => ScalerKind::None,
        }
    }

    /// Replicas running now.
    pub async fn current(&mut self) -> Result<u32, ScaleError> {
        match self {
            Self::Kubernetes(s) => s.current().await,
            Self::Process(s) => Ok(s.current()),
            Self::None(s) => Ok(s.current()),
        }
    }

    /// Moves to `replicas` (a scale-down removes the idlest workers); returns a sentence saying
    /// what was done, including what went wrong on the way that did not stop it.
    pub async fn scale_to(&mut self, replicas: u32) -> Result<String, ScaleError> {
        match self {
            Self::Kubernetes(s) => s.scale_to(replicas).await,
            Self::Process(s) => s.scale_to(replicas).await,
            Self::None(s) => Ok(s.scale_to(replicas)),
        }
    }

    /// Whether a Kubernetes API server answered the last call.
    pub fn kubernetes_connected(&self) -> bool {
        matches!(self, Self::Kubernetes(s) if s.connected())
    }

    /// Stops what it started (the process scaler drains its workers); leaves the rest running.
    pub async fn shutdown(&mut self) {
        if let Self::Process(s) = self {
            s.shutdown().await;
        }
    }
}
