//! The part of a queue handle that all its clones share: configuration, key names, the Redis
//! client, the loaded scripts and the producer-side coalescer.
//!
//! It sits below the handle, the producer and the worker runtime, and depends on none of them,
//! so those modules can all reach it without an import cycle.

use std::{sync::Arc, time::Duration};

use redis::{
    Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::{
    coalesce::Coalescer,
    config::{Keys, QueueConfig},
    error::Result,
    scripts::Scripts,
};

/// Shared, immutable part of a queue handle.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) cfg: Arc<QueueConfig>,
    pub(crate) keys: Keys,
    pub(crate) client: Client,
    pub(crate) scripts: Arc<Scripts>,
    /// Single pushes ride together in one script call (see [`crate::coalesce`]).
    pub(crate) coalescer: Coalescer,
}

impl Inner {
    pub(crate) fn new(client: Client, cfg: QueueConfig) -> Self {
        let keys = cfg.keys();
        let scripts = Arc::new(Scripts::new());
        Self {
            coalescer: Coalescer::new(scripts.clone(), keys.clone()),
            keys,
            cfg: Arc::new(cfg),
            client,
            scripts,
        }
    }
}

/// A connection manager with the queue's response timeout (and a 5 s connect timeout).
pub(crate) async fn connection_manager(
    client: &Client,
    response_timeout: Duration,
) -> Result<ConnectionManager> {
    let cfg = ConnectionManagerConfig::new()
        .set_response_timeout(Some(response_timeout))
        .set_connection_timeout(Some(Duration::from_secs(5)));
    Ok(client.get_connection_manager_with_config(cfg).await?)
}
