//! Integration tests against the real Redis at 127.0.0.1:6379 (override with TEST_REDIS_URL).
//! Every test uses a random namespace and purges it at the end.

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use apalis::layers::WorkerBuilderExt;
use apalis_core::{
    backend::TaskSink,
    error::{AbortError, BoxDynError, RetryAfterError},
    task::{builder::TaskBuilder, task_id::TaskId},
    worker::builder::WorkerBuilder,
};
use coin_queue::{AttemptOutcome, DeleteOutcome, FAILURES_KEPT, JobState, RedisQueue};
use common::{cfg, queue, until, url, worker_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_fetch_ack() -> Result<(), BoxDynError> {
    let q = queue(cfg("basic")).await;
    let id = "01JPRODUCERMINTED000000001".to_owned();
    q.enqueue_with_id(&id, &7, None).await?;
    let id2 = q.enqueue(&8).await?;
    // TaskSink path with a producer-minted ULID.
    let ulid = ulid::Ulid::generate();
    let mut sink = q.clone();
    sink.push_task(
        TaskBuilder::new(9u64)
            .task_id(TaskId::from_ulid(ulid))
            .build(),
    )
    .await?;
    sink.push_bulk(vec![10, 11]).await?;
    assert_eq!(
        q.status(&id).await?.map(|s| s.state),
        Some(JobState::Queued)
    );
    assert_eq!(q.depths().await?.ready, 5);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(4)
        .build(move |n: u64| {
            let s = s.clone();
            async move {
                s.lock().map_err(|e| e.to_string())?.push(n);
                Ok::<u64, BoxDynError>(n * 10)
            }
        });
    let watch = q.clone();
    w.run_until(async move { until(&watch, Duration::from_secs(10), |d| d.done == 5).await })
        .await?;
    let mut got = seen.lock().map_err(|e| e.to_string())?.clone();
    got.sort();
    assert_eq!(got, vec![7, 8, 9, 10, 11]);
    let st = q.status(&id).await?.ok_or("status missing")?;
    assert_eq!(st.state, JobState::Done);
    assert_eq!(st.attempts, 1);
    assert_eq!(st.result.as_deref(), Some("70"));
    assert_eq!(q.status(&id2).await?.map(|s| s.state), Some(JobState::Done));
    assert_eq!(
        q.status(&ulid.to_string()).await?.map(|s| s.result),
        Some(Some("90".into()))
    );
    let d = q.depths().await?;
    assert_eq!(
        (d.ready, d.inflight, d.dead, d.done, d.live_workers),
        (0, 0, 0, 5, 0)
    );
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_retried_then_dead() -> Result<(), BoxDynError> {
    let q = queue(cfg("retry")).await;
    let id = q.enqueue(&1).await?;
    let calls = Arc::new(AtomicUsize::new(0));
    let attempts_seen = Arc::new(Mutex::new(Vec::new()));
    let (c, a) = (calls.clone(), attempts_seen.clone());
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(2)
        .build(
            move |_n: u64, attempt: apalis_core::task::attempt::Attempt| {
                let (c, a) = (c.clone(), a.clone());
                async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    a.lock().map_err(|e| e.to_string())?.push(attempt.current());
                    Err::<(), BoxDynError>(std::io::Error::other("flaky downstream").into())
                }
            },
        );
    let watch = q.clone();
    let t = Instant::now();
    w.run_until(async move { until(&watch, Duration::from_secs(10), |d| d.dead == 1).await })
        .await?;
    assert_eq!(calls.load(Ordering::SeqCst), 3, "max_attempts = 3");
    assert_eq!(
        *attempts_seen.lock().map_err(|e| e.to_string())?,
        vec![1, 2, 3]
    );
    // two backoffs of >= 20 ms and >= 40 ms (equal jitter of 40/80 ms)
    assert!(t.elapsed() >= Duration::from_millis(60));
    let st = q.status(&id).await?.ok_or("status missing")?;
    assert_eq!(st.state, JobState::Dead);
    assert_eq!(st.attempts, 3);
    let outcomes: Vec<(u32, AttemptOutcome)> = st
        .attempt_history
        .iter()
        .map(|a| (a.attempt, a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, AttemptOutcome::Retried),
            (2, AttemptOutcome::Retried),
            (3, AttemptOutcome::GaveUp)
        ]
    );
    assert!(
        st.attempt_history[2]
            .error
            .contains("gave up after 3 attempts")
    );
    let err = st.last_error.unwrap_or_default();
    assert!(
        err.contains("flaky downstream") && err.contains("gave up after 3 attempts"),
        "{err}"
    );
    let dead = q.dead(0, 10).await?;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_error_dead_at_once_then_replay() -> Result<(), BoxDynError> {
    let q = queue(cfg("abort")).await;
    let id = q.enqueue(&5).await?;
    let id_b = q.enqueue(&6).await?;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .build(move |n: u64| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                if n == 5 {
                    Err::<(), BoxDynError>(
                        AbortError::new(std::io::Error::other("bad input")).into(),
                    )
                } else {
                    Err(coin_queue::PermanentError::new("also bad").into())
                }
            }
        });
    let watch = q.clone();
    w.run_until(async move { until(&watch, Duration::from_secs(10), |d| d.dead == 2).await })
        .await?;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "no retry for permanent errors"
    );
    let st = q.status(&id).await?.ok_or("status missing")?;
    assert_eq!((st.state, st.attempts), (JobState::Dead, 1));
    assert!(st.last_error.unwrap_or_default().contains("bad input"));

    // Replay one by id: same id, attempts reset, back in ready, the failure that killed it
    // still in its history.
    assert_eq!(q.replay(std::slice::from_ref(&id)).await?, 1);
    let st = q.status(&id).await?.ok_or("status missing")?;
    assert_eq!((st.state, st.attempts), (JobState::Queued, 0));
    let killed = st
        .attempt_history
        .first()
        .ok_or("no failed attempt")?
        .clone();
    assert_eq!(
        (killed.attempt, killed.outcome),
        (1, AttemptOutcome::GaveUp)
    );
    assert!(killed.error.contains("bad input"), "{killed:?}");
    let d = q.depths().await?;
    assert_eq!((d.ready, d.dead), (1, 1));
    // Replay all.
    assert_eq!(q.replay_all().await?, 1);
    assert_eq!(q.depths().await?.ready, 2);

    // Now a handler that succeeds drains both with their original ids.
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .build(|n: u64| async move { Ok::<u64, BoxDynError>(n) });
    let watch = q.clone();
    w.run_until(async move { until(&watch, Duration::from_secs(10), |d| d.done == 2).await })
        .await?;
    let st = q.status(&id).await?.ok_or("status missing")?;
    assert_eq!(st.state, JobState::Done);
    assert_eq!(st.attempt_history, vec![killed], "kept after the replay");
    assert_eq!(
        q.status(&id_b).await?.map(|s| s.state),
        Some(JobState::Done)
    );
    q.purge().await?;
    Ok(())
}

fn now_ms() -> Result<i64, BoxDynError> {
    Ok(i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?)
}

/// A job that fails twice and then succeeds: both failures stay in its history, in order, with
/// their errors, and its enqueue instant outlives its payload; deleting it takes them away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_and_the_enqueue_instant_outlive_the_payload() -> Result<(), BoxDynError> {
    let q = queue(cfg("history")).await;
    let before = now_ms()?;
    let id = q.enqueue(&1).await?;
    let after = now_ms()?;
    let queued = q.status(&id).await?.ok_or("status missing")?;
    let enqueued_at = queued.enqueued_at_ms.ok_or("no enqueue instant")?;
    assert!((before..=after).contains(&enqueued_at), "{queued:?}");
    assert!(queued.attempt_history.is_empty());

    let w = WorkerBuilder::new(worker_name()).backend(q.clone()).build(
        |_n: u64, attempt: apalis_core::task::attempt::Attempt| async move {
            match attempt.current() {
                n @ (1 | 2) => Err::<(), BoxDynError>(format!("flaky {n}").into()),
                _ => Ok(()),
            }
        },
    );
    let watch = q.clone();
    w.run_until(async move { until(&watch, Duration::from_secs(10), |d| d.done == 1).await })
        .await?;
    assert_eq!(q.payload(&id).await?, None, "the payload is gone");
    let st = q.status(&id).await?.ok_or("status missing")?;
    assert_eq!((st.state, st.attempts), (JobState::Done, 3));
    assert_eq!(st.enqueued_at_ms, Some(enqueued_at));
    let failures: Vec<(u32, AttemptOutcome, &str)> = st
        .attempt_history
        .iter()
        .map(|a| (a.attempt, a.outcome, a.error.as_str()))
        .collect();
    assert_eq!(
        failures,
        vec![
            (1, AttemptOutcome::Retried, "flaky 1"),
            (2, AttemptOutcome::Retried, "flaky 2")
        ]
    );
    let mut since = enqueued_at;
    for a in &st.attempt_history {
        let started = a.started_at_ms.ok_or("no start")?;
        assert!(since <= started && started <= a.failed_at_ms, "{a:?}");
        since = a.failed_at_ms;
    }
    let finished = st.finished_at_ms.ok_or("not finished")?;
    assert!(since <= finished, "{st:?}");

    assert_eq!(
        q.delete(std::slice::from_ref(&id)).await?,
        vec![DeleteOutcome::Deleted]
    );
    assert_eq!(q.status(&id).await?, None);
    let mut conn = redis::Client::open(url())?
        .get_multiplexed_async_connection()
        .await?;
    let record_left: bool = redis::cmd("EXISTS")
        .arg(q.keys().job(&id))
        .query_async(&mut conn)
        .await?;
    assert!(!record_left, "the history went with the record");
    q.purge().await?;
    Ok(())
}

/// A job that fails more often than the history holds keeps its last failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_last_failed_attempts_are_kept() -> Result<(), BoxDynError> {
    let total = u32::try_from(FAILURES_KEPT)? + 3;
    let q = queue(cfg("kept").max_attempts(total + 1)).await;
    let id = q.enqueue(&1).await?;
    let w = WorkerBuilder::new(worker_name()).backend(q.clone()).build(
        move |_n: u64, attempt: apalis_core::task::attempt::Attempt| async move {
            if attempt.current() <= total as usize {
                let again = RetryAfterError::new("not yet", Duration::from_millis(1));
                return Err::<(), BoxDynError>(again.into());
            }
            Ok(())
        },
    );
    let watch = q.clone();
    w.run_until(async move { until(&watch, Duration::from_secs(20), |d| d.done == 1).await })
        .await?;
    let st = q.status(&id).await?.ok_or("status missing")?;
    let attempts: Vec<u32> = st.attempt_history.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, (4..=total).collect::<Vec<_>>());
    q.purge().await?;
    Ok(())
}

/// A worker that vanished (stale heartbeat) holding jobs: a live worker re-queues them,
/// the re-delivery counts as an attempt, and a job already at max attempts goes dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_recovery() -> Result<(), BoxDynError> {
    let q = queue(cfg("orphan")).await;
    let k = q.keys().clone();
    let client = redis::Client::open(url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let stale = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64)
        - 60_000;
    // ghost worker holds a (1 attempt so far) and b (3 attempts = max: it killed 3 processes).
    let _: () = redis::pipe()
        .hset(&k.data, "job-a", "1")
        .hset(&k.data, "job-b", "2")
        // `:state` is `attempts,max,started_at_ms` (max 0: the queue's default).
        .hset(&k.state, "job-a", format!("1,0,{stale}"))
        .hset(&k.state, "job-b", format!("3,0,{stale}"))
        .rpush(k.inflight("ghost"), &["job-a", "job-b"])
        .zadd(&k.workers, "ghost", stale)
        .query_async(&mut conn)
        .await?;
    let d = q.depths().await?;
    assert_eq!((d.inflight, d.inflight_orphaned), (0, 2));

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let w = WorkerBuilder::new(worker_name()).backend(q.clone()).build(
        move |n: u64, attempt: apalis_core::task::attempt::Attempt| {
            let s = s.clone();
            async move {
                s.lock()
                    .map_err(|e| e.to_string())?
                    .push((n, attempt.current()));
                Ok::<(), BoxDynError>(())
            }
        },
    );
    let watch = q.clone();
    w.run_until(async move {
        until(&watch, Duration::from_secs(10), |d| {
            d.done == 1 && d.dead == 1
        })
        .await
    })
    .await?;
    assert_eq!(*seen.lock().map_err(|e| e.to_string())?, vec![(1, 2)]);
    let a = q.status("job-a").await?.ok_or("status missing")?;
    assert_eq!((a.state, a.attempts), (JobState::Done, 2));
    let b = q.status("job-b").await?.ok_or("status missing")?;
    assert_eq!((b.state, b.attempts), (JobState::Dead, 4));
    assert!(
        b.last_error
            .unwrap_or_default()
            .contains("max attempts is 3")
    );
    let ghost_left: bool = redis::cmd("EXISTS")
        .arg(k.inflight("ghost"))
        .query_async(&mut conn)
        .await?;
    assert!(!ghost_left);
    let ghost_score: Option<f64> = redis::cmd("ZSCORE")
        .arg(&k.workers)
        .arg("ghost")
        .query_async(&mut conn)
        .await?;
    assert_eq!(
        ghost_score, None,
        "recovered worker removed from the workers set"
    );
    q.purge().await?;
    Ok(())
}

/// Delayed jobs wait in scheduled and run when due; an idle worker wakes fast on push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_and_wake_latency() -> Result<(), BoxDynError> {
    let c = cfg("delay").block_timeout(Duration::from_secs(5));
    let q = queue(c).await;
    let started = Arc::new(Mutex::new(Vec::<(u64, Instant)>::new()));
    let s = started.clone();
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .build(move |n: u64| {
            let s = s.clone();
            async move {
                s.lock()
                    .map_err(|e| e.to_string())?
                    .push((n, Instant::now()));
                Ok::<(), BoxDynError>(())
            }
        });
    let q2 = q.clone();
    let pushes = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let p = pushes.clone();
    let driver = async move {
        // Let the worker go idle (blocked in BLMOVE), then push.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t = Instant::now();
        q2.enqueue_with_id("delayed", &2, Some(Duration::from_millis(400)))
            .await
            .map_err(std::io::Error::other)?;
        let st = q2.status("delayed").await.map_err(std::io::Error::other)?;
        assert!(st.is_some_and(|s| s.run_at_ms.is_some() && s.state == JobState::Queued));
        p.lock()
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .push(t);
        tokio::time::sleep(Duration::from_millis(100)).await;
        p.lock()
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .push(Instant::now());
        q2.enqueue(&1).await.map_err(std::io::Error::other)?;
        until(&q2, Duration::from_secs(10), |d| d.done == 2).await
    };
    w.run_until(driver).await?;
    let started = started.lock().map_err(|e| e.to_string())?.clone();
    let pushes = pushes.lock().map_err(|e| e.to_string())?.clone();
    let immediate = started
        .iter()
        .find(|(n, _)| *n == 1)
        .ok_or("job 1 not run")?
        .1;
    let delayed = started
        .iter()
        .find(|(n, _)| *n == 2)
        .ok_or("job 2 not run")?
        .1;
    let wake = immediate.duration_since(pushes[1]);
    let delay = delayed.duration_since(pushes[0]);
    println!("wake latency {wake:?}; delayed job ran after {delay:?} (asked 400 ms)");
    assert!(wake < Duration::from_millis(100), "wake latency {wake:?}");
    assert!(
        delay >= Duration::from_millis(390) && delay < Duration::from_millis(1_000),
        "{delay:?}"
    );
    q.purge().await?;
    Ok(())
}

/// On shutdown, prefetched-but-not-started jobs go back to ready with their attempt undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_prefetched() -> Result<(), BoxDynError> {
    let q = queue(cfg("release").prefetch(50)).await;
    q.enqueue_bulk(&(0..100).collect::<Vec<u64>>()).await?;
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(2)
        .build(move |_n: u64| {
            let r = r.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                r.fetch_add(1, Ordering::SeqCst);
                Ok::<(), BoxDynError>(())
            }
        });
    let watch = q.clone();
    w.run_until(async move {
        until(&watch, Duration::from_secs(10), |d| {
            d.done >= 4 && d.inflight >= 40
        })
        .await
    })
    .await?;
    let d = q.depths().await?;
    let ran = ran.load(Ordering::SeqCst) as u64;
    println!("after shutdown: ran {ran}, {d:?}");
    assert_eq!(
        d.inflight + d.inflight_orphaned,
        0,
        "nothing left in flight"
    );
    assert_eq!(d.done, ran);
    assert_eq!(
        d.ready + d.done,
        100,
        "prefetched jobs were released to ready"
    );
    assert_eq!(d.live_workers, 0, "worker deregistered");
    // A released job is queued again with no attempt recorded.
    let ids: Vec<String> = {
        let client = redis::Client::open(url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("LRANGE")
            .arg(&q.keys().ready)
            .arg(0)
            .arg(0)
            .query_async(&mut conn)
            .await?
    };
    let st = q.status(&ids[0]).await?.ok_or("status missing")?;
    assert_eq!((st.state, st.attempts), (JobState::Queued, 0));
    q.purge().await?;
    Ok(())
}

/// More than 8,000 due scheduled jobs (what kills apalis-redis 1.0.0) drain fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_scheduled_burst() -> Result<(), BoxDynError> {
    let q = queue(cfg("burst").prefetch(500)).await;
    let n = 20_000u64;
    q.enqueue_bulk_delayed(&(0..n).collect::<Vec<u64>>(), Duration::from_millis(300))
        .await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let d = q.depths().await?;
    assert_eq!((d.scheduled_due, d.ready), (n, 0));
    let errors = Arc::new(AtomicUsize::new(0));
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(200)
        .build(|_n: u64| async move { Ok::<(), BoxDynError>(()) });
    let watch = q.clone();
    let e = errors.clone();
    let res = w
        .run_until(async move { until(&watch, Duration::from_secs(60), |d| d.done == n).await })
        .await;
    if res.is_err() {
        e.fetch_add(1, Ordering::SeqCst);
    }
    res?;
    assert_eq!(errors.load(Ordering::SeqCst), 0);
    q.purge().await?;
    Ok(())
}

const CHILD_ENV: &str = "COIN_QUEUE_CHILD_NS";

/// Child-process entry for `orphan_recovery_after_sigkill`; does nothing unless spawned by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: run only as a child process by orphan_recovery_after_sigkill"]
async fn child_worker_entry() -> Result<(), BoxDynError> {
    let Ok(ns) = std::env::var(CHILD_ENV) else {
        return Ok(());
    };
    let q = queue(cfg("sigkill").namespace(ns)).await;
    WorkerBuilder::new(format!("child-{}", std::process::id()))
        .backend(q)
        .build(|_n: u64| async move {
            // Hangs until the parent SIGKILLs this process.
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            Ok::<(), BoxDynError>(())
        })
        .run()
        .await?;
    Ok(())
}

/// A real worker process is SIGKILLed mid-job; a live worker re-queues and finishes it
/// after `orphan_after`, counting the lost delivery as an attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_recovery_after_sigkill() -> Result<(), BoxDynError> {
    let c = cfg("sigkill");
    let ns = c.namespace.clone();
    let q = queue(c).await;
    let id = q.enqueue(&42).await?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["child_worker_entry", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_ENV, &ns)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let t = Instant::now();
    loop {
        if q.status(&id)
            .await?
            .is_some_and(|s| s.state == JobState::Running)
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            return Err("child never started the job".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill()?; // SIGKILL
    child.wait()?;
    let d = q.depths().await?;
    assert_eq!(d.inflight + d.inflight_orphaned, 1, "{d:?}");

    let killed_at = Instant::now();
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .build(|n: u64| async move { Ok::<u64, BoxDynError>(n) });
    let watch = q.clone();
    w.run_until(async move { until(&watch, Duration::from_secs(15), |d| d.done == 1).await })
        .await?;
    println!(
        "recovered {:?} after SIGKILL (orphan_after 1 s)",
        killed_at.elapsed()
    );
    let st = q.status(&id).await?.ok_or("status missing")?;
    assert_eq!((st.state, st.attempts), (JobState::Done, 2));
    let d = q.depths().await?;
    assert_eq!(
        (d.inflight, d.inflight_orphaned, d.live_workers),
        (0, 0, 0),
        "{d:?}"
    );
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_a_known_id_again_adds_nothing_before_or_after_it_ran() -> Result<(), BoxDynError> {
    let q = queue(cfg("dedup")).await;
    let id = "01JDEDUPLICATEDPUSH0000001";
    q.enqueue_with_id(id, &1, None).await?;
    q.enqueue_with_id(id, &2, None).await?;
    assert_eq!(
        q.depths().await?.ready,
        1,
        "a waiting id is not pushed twice"
    );

    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let w = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(2)
        .build(move |n: u64| {
            let s = s.clone();
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                Ok::<u64, BoxDynError>(n)
            }
        });
    let watch = q.clone();
    w.run_until(async move { until(&watch, Duration::from_secs(10), |d| d.done == 1).await })
        .await?;
    q.enqueue_with_id(id, &3, None).await?;
    assert_eq!(
        q.depths().await?.ready,
        0,
        "a finished id whose meta is kept is not pushed again"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(
        q.status(id).await?.and_then(|s| s.result).as_deref(),
        Some("1")
    );
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_single_pushes_share_script_calls_and_each_lands_once() -> Result<(), BoxDynError>
{
    let q = queue(cfg("coalesce")).await;
    let jobs = 2_000u64;
    let mut pushes = tokio::task::JoinSet::new();
    for n in 0..jobs {
        let q = q.clone();
        // Every second job repeats the id of the one before: the duplicate must add nothing,
        // also when both ride in the same script call.
        let id = format!("coalesced-{}", n / 2);
        pushes.spawn(async move { q.enqueue_with_id(&id, &n, None).await });
    }
    while let Some(pushed) = pushes.join_next().await {
        pushed??;
    }
    let stats = q.push_stats();
    assert_eq!(stats.jobs, jobs, "every push went through the coalescer");
    assert!(
        stats.calls * 4 <= stats.jobs,
        "{} concurrent pushes took {} script calls: they were not coalesced",
        stats.jobs,
        stats.calls
    );
    assert_eq!(q.depths().await?.ready, jobs / 2, "one job per distinct id");
    for n in [0, 1, 499, 999] {
        let status = q.status(&format!("coalesced-{n}")).await?;
        assert_eq!(status.map(|s| s.state), Some(JobState::Queued));
    }

    // Alone, a push still goes out at once in its own call.
    let before = q.push_stats();
    q.enqueue_with_id("coalesced-alone", &7, None).await?;
    let after = q.push_stats();
    assert_eq!(
        (after.calls, after.jobs),
        (before.calls + 1, before.jobs + 1)
    );
    assert_eq!(q.depths().await?.ready, jobs / 2 + 1);
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_pushes_all_fail_when_redis_is_down() -> Result<(), BoxDynError> {
    // Nothing listens on port 1: every push of the shared call must get the error, none hangs.
    let client = redis::Client::open("redis://127.0.0.1:1")?;
    let conn = redis::aio::ConnectionManager::new_lazy_with_config(
        client.clone(),
        redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(200)))
            .set_response_timeout(Some(Duration::from_millis(200)))
            .set_number_of_retries(0),
    )?;
    let q: RedisQueue<u64> = RedisQueue::with_connection(client, conn, cfg("down"));
    let mut pushes = tokio::task::JoinSet::new();
    for n in 0..100u64 {
        let q = q.clone();
        pushes.spawn(async move { q.enqueue_with_id(&format!("down-{n}"), &n, None).await });
    }
    let outcomes = tokio::time::timeout(Duration::from_secs(10), pushes.join_all()).await?;
    assert_eq!(outcomes.len(), 100);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(coin_queue::QueueError::Redis(_)))),
        "every push reports the Redis error: {outcomes:?}"
    );
    Ok(())
}

#[test]
fn a_queue_outliving_its_runtime_still_pushes() -> Result<(), BoxDynError> {
    // The coalescing task lives on the runtime of the first push; when that runtime is gone,
    // the next push (from another runtime) starts a new task instead of waiting forever.
    let first = tokio::runtime::Runtime::new()?;
    let q = first.block_on(queue(cfg("runtimes")));
    first.block_on(q.enqueue_with_id("before", &1, None))?;
    drop(first);
    let second = tokio::runtime::Runtime::new()?;
    second.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match q.enqueue_with_id("after", &2, None).await {
                    Ok(()) => return,
                    // The old runtime's connection may fail once before it reconnects here.
                    Err(coin_queue::QueueError::Redis(_)) => {
                        tokio::time::sleep(Duration::from_millis(50)).await
                    }
                    Err(other) => panic!("unexpected error: {other}"),
                }
            }
        })
        .await
    })?;
    assert_eq!(second.block_on(q.depths())?.ready, 2);
    second.block_on(q.purge())?;
    Ok(())
}
