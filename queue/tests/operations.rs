//! Operator features of the queue against the real Redis: latency and rates in the depth read,
//! pause and resume, cancel (waiting, scheduled, running with and without a cooperative
//! handler), delete, and the windowed search.

mod common;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use apalis::layers::WorkerBuilderExt;
use apalis_core::{error::BoxDynError, worker::builder::WorkerBuilder};
use coin_queue::{CancelOutcome, Cancelled, DeleteOutcome, JobState, PermanentError, ScanState};
use common::{cfg, queue, until, worker_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depths_carry_latency_counters_and_rates() -> Result<(), BoxDynError> {
    let q = queue(cfg("latency")).await;
    let empty = q.depths().await?;
    assert_eq!(empty.latency(), Duration::ZERO);
    assert_eq!((empty.enqueued, empty.paused), (0, false));

    q.enqueue_bulk(&[1, 2, 3]).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = q.depths().await?;
    assert_eq!((d.ready, d.enqueued), (3, 3));
    assert!(d.latency() >= Duration::from_millis(300), "{d:?}");
    assert!(d.latency() < Duration::from_secs(5), "{d:?}");

    // A due scheduled job counts from when it became due.
    q.enqueue_bulk_delayed(&[4], Duration::from_millis(50))
        .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let d = q.depths().await?;
    assert!(d.due_since_ms.is_some() && d.scheduled_due == 1, "{d:?}");

    // Rates need an earlier sample (samples are at most one a second).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    q.enqueue_bulk(&[5, 6]).await?;
    let d = q.depths().await?;
    let rate = d.enqueue_rate().ok_or("no enqueue rate after a second")?;
    assert!(rate > 0.0 && rate < 100.0, "{rate} from {d:?}");
    assert_eq!(d.completion_rate(), Some(0.0));
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_queue_hands_out_nothing_until_resumed() -> Result<(), BoxDynError> {
    let q = queue(cfg("pause")).await;
    let ran = Arc::new(Mutex::new(Vec::new()));
    let r = ran.clone();
    // The worker starts first, so it is blocked in BLMOVE when the jobs arrive.
    let worker = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(4)
        .build(move |n: u64| {
            let r = r.clone();
            async move {
                r.lock().map_err(|e| e.to_string())?.push(n);
                Ok::<_, BoxDynError>(n)
            }
        });
    let watch = q.clone();
    let run = worker
        .run_until(async move { until(&watch, Duration::from_secs(20), |d| d.done == 20).await });
    let steps = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(q.pause("tester").await?);
        assert!(
            !q.pause("someone else").await?,
            "a second pause keeps the first"
        );
        assert_eq!(q.paused().await?.map(|p| p.by).as_deref(), Some("tester"));
        q.enqueue_bulk(&(0..20).collect::<Vec<_>>()).await?;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let d = q.depths().await?;
        assert!(d.paused, "{d:?}");
        assert_eq!((d.ready, d.done), (20, 0), "{d:?}");
        assert!(ran.lock().map_err(|e| e.to_string())?.is_empty());
        assert!(
            d.latency() >= Duration::from_secs(1),
            "latency grows while paused: {d:?}"
        );
        assert!(q.resume().await?);
        assert!(!q.resume().await?);
        Ok::<_, BoxDynError>(())
    };
    let (run, steps) = tokio::join!(run, steps);
    steps?;
    run?;
    let mut got = ran.lock().map_err(|e| e.to_string())?.clone();
    got.sort();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_jobs_never_run_and_running_ones_stop_only_when_they_cooperate()
-> Result<(), BoxDynError> {
    let q = queue(cfg("cancel")).await;
    let waiting = q.enqueue(&1).await?;
    let later = q
        .enqueue_bulk_delayed(&[2], Duration::from_secs(60))
        .await?;
    let slow = q.enqueue(&100).await?; // runs until it sees its cancellation
    let stuck = q.enqueue(&200).await?; // runs ~1.5 s and cannot be cancelled
    q.enqueue(&3).await?;
    let outcomes = q
        .cancel(&[waiting.clone(), later[0].clone()], false)
        .await?;
    assert_eq!(
        outcomes,
        vec![CancelOutcome::Cancelled, CancelOutcome::Cancelled]
    );
    assert_eq!(
        q.cancel(&[waiting.clone(), "nope".into()], false).await?,
        vec![CancelOutcome::AlreadyCancelled, CancelOutcome::Unknown]
    );
    let cancelled = q.status(&waiting).await?.ok_or("status missing")?;
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(
        cancelled.enqueued_at_ms.is_some(),
        "the enqueue instant outlives the payload: {cancelled:?}"
    );

    let ran = Arc::new(Mutex::new(HashSet::new()));
    let r = ran.clone();
    let qq = q.clone();
    let worker = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(4)
        .build(move |n: u64, id: apalis_core::task::task_id::TaskId| {
            let (r, qq) = (r.clone(), qq.clone());
            async move {
                r.lock().map_err(|e| e.to_string())?.insert(n);
                match n {
                    100 => loop {
                        // A safe point.
                        if qq.cancel_requested(&id.to_string()).await? {
                            return Err(Cancelled("stopped between chunks".into()).into());
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    },
                    200 => tokio::time::sleep(Duration::from_millis(1_500)).await,
                    _ => {}
                }
                Ok::<_, BoxDynError>(n)
            }
        });
    let watch = q.clone();
    let run = worker.run_until(async move {
        until(&watch, Duration::from_secs(20), |d| {
            d.done == 2 && d.cancelled == 3
        })
        .await
    });
    let steps = async {
        until(&q, Duration::from_secs(10), |d| d.inflight >= 2).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        match q
            .cancel(std::slice::from_ref(&stuck), false)
            .await?
            .as_slice()
        {
            [
                CancelOutcome::Running {
                    attempts: 1,
                    started_at_ms,
                },
            ] => assert!(*started_at_ms > 0),
            other => return Err(format!("stuck: {other:?}").into()),
        }
        assert!(matches!(
            q.cancel(std::slice::from_ref(&slow), true)
                .await?
                .as_slice(),
            [CancelOutcome::Requested { .. }]
        ));
        Ok::<_, BoxDynError>(())
    };
    let (run, steps) = tokio::join!(run, steps);
    steps?;
    run?;
    let ran = ran.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(
        ran,
        HashSet::from([100, 200, 3]),
        "cancelled jobs 1 and 2 never ran"
    );
    let slow_status = q.status(&slow).await?.ok_or("slow unknown")?;
    assert_eq!(slow_status.state, JobState::Cancelled);
    assert!(slow_status.enqueued_at_ms.is_some(), "{slow_status:?}");
    assert_eq!(
        q.status(&stuck).await?.map(|s| s.state),
        Some(JobState::Done)
    );
    assert_eq!(q.cancel(&[stuck], false).await?, vec![CancelOutcome::Done]);

    // Delete forgets a cancelled job entirely.
    assert_eq!(
        q.delete(std::slice::from_ref(&waiting)).await?,
        vec![DeleteOutcome::Deleted]
    );
    assert_eq!(q.status(&waiting).await?, None);
    assert_eq!(q.delete(&[waiting]).await?, vec![DeleteOutcome::Unknown]);
    q.purge().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reads_bounded_windows_with_cursors() -> Result<(), BoxDynError> {
    let q = queue(cfg("search")).await;
    let ids = q.enqueue_bulk(&(0..25).collect::<Vec<_>>()).await?;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = q.scan(ScanState::Queued, cursor.as_deref(), 10).await?;
        assert!(page.scanned <= 10);
        pages += 1;
        for job in &page.jobs {
            assert_eq!(job.state, JobState::Queued);
            assert!(job.enqueued_at_ms.is_some());
            seen.push((job.id.clone(), serde_json::from_slice::<u64>(&job.payload)?));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        seen.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        (0..25).collect::<Vec<_>>()
    );
    assert!(
        q.scan(ScanState::Dead, Some("o:3"), 10).await.is_err(),
        "wrong cursor kind"
    );
    assert!(
        q.scan(ScanState::Queued, Some("garbage"), 10)
            .await
            .is_err()
    );

    // Make every job dead (odd ones) or done (even ones), then page the dead set by keyset.
    let worker = WorkerBuilder::new(worker_name())
        .backend(q.clone())
        .concurrency(8)
        .build(|n: u64| async move {
            if n % 2 == 1 {
                return Err::<u64, BoxDynError>(PermanentError::new(format!("odd {n}")).into());
            }
            Ok(n)
        });
    let watch = q.clone();
    worker
        .run_until(async move {
            until(&watch, Duration::from_secs(10), |d| {
                d.done == 13 && d.dead == 12
            })
            .await
        })
        .await?;
    let first = q.scan(ScanState::Dead, None, 5).await?;
    assert_eq!(first.jobs.len(), 5);
    assert!(
        first
            .jobs
            .iter()
            .all(|j| j.state == JobState::Dead && j.last_error.is_some())
    );
    let mut dead: HashSet<String> = first.jobs.iter().map(|j| j.id.clone()).collect();
    let mut next = first.next;
    while let Some(c) = next {
        let page = q.scan(ScanState::Dead, Some(&c), 5).await?;
        dead.extend(page.jobs.iter().map(|j| j.id.clone()));
        next = page.next;
    }
    assert_eq!(dead.len(), 12, "every dead job once");
    assert!(q.scan(ScanState::Queued, None, 10).await?.jobs.is_empty());
    q.purge().await?;
    Ok(())
}
