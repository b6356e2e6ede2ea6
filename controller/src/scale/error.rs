//! How scaling fails: the Kubernetes API, its configuration, a local worker process, or the
//! worker registry read before a scale-down (which only costs the drain-first choice).

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
    /// The worker Deployment selects its pods by no `matchLabels`, so they cannot be listed.
    #[error("deployments/{0} has no spec.selector.matchLabels to list its pods by")]
    NoPodSelector(String),
    /// The worker registry could not be read (the scale-down goes on without it).
    #[error("could not read the worker registry: {0}")]
    Registry(#[from] coin_shared::queue::QueueError),
    /// The worker registry did not answer in time (the scale-down goes on without it).
    #[error("the worker registry did not answer within {0:?}")]
    RegistryTimeout(std::time::Duration),
}
