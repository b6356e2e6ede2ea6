//! Helpers shared by the queue's integration test files: the Redis URL, a test queue config in
//! a random namespace, and waiting for a depth condition.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use coin_queue::{Depths, DoneRetention, QueueConfig, RedisQueue};

pub fn url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn cfg(queue: &str) -> QueueConfig {
    QueueConfig::new(queue)
        .namespace(format!("test{}", fastrand::u64(..)))
        .max_attempts(3)
        .backoff(Duration::from_millis(40), Duration::from_millis(200))
        .liveness(Duration::from_millis(200), Duration::from_secs(1))
        .block_timeout(Duration::from_millis(200))
        .prefetch(10)
        .done_retention(DoneRetention::KeepMeta(Duration::from_secs(600)))
}

pub async fn queue(c: QueueConfig) -> RedisQueue<u64> {
    RedisQueue::connect(&url(), c)
        .await
        .expect("redis at REDIS_URL / 127.0.0.1:6379")
}

/// Resolves once `cond(depths)` holds (polls every 20 ms), or errors after `limit`.
pub async fn until(
    q: &RedisQueue<u64>,
    limit: Duration,
    cond: impl Fn(&Depths) -> bool,
) -> std::io::Result<()> {
    let t = Instant::now();
    loop {
        let d = q.depths().await.map_err(std::io::Error::other)?;
        if cond(&d) {
            return Ok(());
        }
        if t.elapsed() > limit {
            return Err(std::io::Error::other(format!(
                "condition not met after {limit:?}: {d:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn worker_name() -> String {
    format!("w-{}-{}", std::process::id(), fastrand::u32(..))
}
