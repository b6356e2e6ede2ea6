//! How scaling fails: the Kubernetes API, its configuration, or a local worker process.

/// Failures of a scaler.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    /// The Kubernetes API server refused or could not be reached.
    #[error("the Kubernetes API failed: {0}")]
    Kubernetes(#[from] kube::Error),
    /// No Kubernetes configuration (in-cluster or kubeconfig) was found.
    #[error("no Kubernetes configuration: {0}")]
    KubernetesConfig(#[source] kube::Error),
    /// A worker process could not be started.
    #[error("could not start {binary}: {source}")]
    Spawn {
        /// The executable.
        binary: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A worker process could not be signalled.
    #[error("could not signal worker process {pid}: {source}")]
    Signal {
        /// Its pid.
        pid: u32,
        /// Why.
        #[source]
        source: nix::errno::Errno,
    },
}
