//! `WORKER_QUEUES`: a worker process serves only the queues it lists, against real Postgres and
//! Redis, and announces only those in the worker registry.

use std::time::Duration;

use coin_tests::{TokenRole as Role, goodwill_body, spawn_app, wait_for};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn a_goodwill_only_worker_takes_goodwill_jobs_and_leaves_governance_untouched() {
    let app = spawn_app().await.expect("app");
    let worker = app
        .spawn_worker_with(4, |s| {
            s.worker_queues = "goodwill".parse().expect("a known queue");
        })
        .await
        .expect("worker");

    let member = app.token(Uuid::new_v4(), Role::Member);
    let council = app.token(Uuid::new_v4(), Role::Council);
    let proposal = json!({"title": "Plant a forest", "description": "Ten thousand trees"});
    let governance = app.accepted("/v1/proposals", &council, &proposal).await;
    let goodwill = app
        .accepted("/v1/goodwill-actions", &member, &goodwill_body(10))
        .await;
    let status = app.settled(&goodwill).await;
    assert_eq!(status["state"], "done", "{status}");

    // Long enough for a worker of the governance queue to have taken the earlier job.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let url = governance["status_url"].as_str().expect("status_url");
    let untouched: Value = app.get_json(url).await;
    assert_eq!(untouched["state"], "queued", "{untouched}");
    assert_eq!(untouched["attempts"], 0, "{untouched}");

    let announced = wait_for(Duration::from_secs(15), "the announcement", || async {
        Ok(app.queue.processes().await?.into_iter().next())
    })
    .await
    .expect("the worker announces itself");
    let queues: Vec<&str> = announced.concurrency.keys().map(String::as_str).collect();
    assert_eq!(queues, ["goodwill"], "{announced:?}");

    worker.stop().await.expect("clean stop");
    // A worker of every queue then takes the governance job that waited.
    let all = app.spawn_worker(4).await.expect("worker of every queue");
    let status = app.settled(&governance).await;
    assert_eq!(status["state"], "done", "{status}");
    all.stop().await.expect("clean stop");
    app.teardown().await.expect("teardown");
}

#[tokio::test]
async fn an_unknown_queue_stops_the_worker_at_startup_and_help_documents_the_variable() {
    let binary = coin_tests::chaos::binary("coin-worker").expect("coin-worker is built");
    let refused = tokio::process::Command::new(&binary)
        .env("WORKER_QUEUES", "goodwill,godwill")
        .env_remove("RUST_BACKTRACE")
        .output()
        .await
        .expect("runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("unknown queue \"godwill\""), "{stderr}");
    assert!(stderr.contains("goodwill, votes, governance"), "{stderr}");

    let help = tokio::process::Command::new(&binary)
        .arg("--help")
        .output()
        .await
        .expect("runs");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("WORKER_QUEUES") && text.contains("default: all"),
        "{text}"
    );
}
