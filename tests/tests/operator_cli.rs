//! `coin-worker queues|pause|resume|jobs`, run as an operator on the host would, against the
//! real Redis and Postgres with a real worker process: a paused queue holds a job, the search
//! finds it by user and kind, a cancel keeps it from ever running, and every action is audited
//! as `cli:<user>`.

use std::{process::Output, time::Duration};

use coin_tests::{TestApp, TokenRole as Role, goodwill_body, spawn_app, wait_for};
use serde_json::Value;
use uuid::Uuid;

/// Runs `coin-worker <args>` on the app's Redis namespace.
fn cli(app: &TestApp, args: &[&str]) -> Output {
    std::process::Command::new(coin_tests::chaos::binary("coin-worker").expect("binary"))
        .args(args)
        .env("REDIS_URL", &app.redis_url)
        .env("QUEUE_NAMESPACE", &app.namespace)
        .env("USER", "opal")
        .output()
        .expect("coin-worker runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_pauses_finds_and_cancels_from_the_host_and_each_action_is_audited() {
    let app = spawn_app().await.expect("app");
    let worker = app.spawn_worker(4).await.expect("worker");

    let paused = cli(&app, &["pause", "goodwill"]);
    assert!(paused.status.success(), "{paused:?}");
    assert_eq!(stdout(&paused).trim(), "goodwill: paused");
    assert_eq!(
        stdout(&cli(&app, &["pause", "goodwill"])).trim(),
        "goodwill: already paused"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Two actions by two users while paused: accepted, not run.
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let mut accepted = Vec::new();
    for user in [alice, bob] {
        let response = app
            .post_json(
                "/v1/goodwill-actions",
                Some(&app.token(user, Role::Member)),
                &goodwill_body(5),
            )
            .await;
        assert_eq!(response.status().as_u16(), 202);
        accepted.push(response.json::<Value>().await.expect("json"));
    }
    let alices_job = accepted[0]["job_id"].as_str().expect("job id").to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count(&app, "SELECT count(*) FROM goodwill_actions").await,
        0
    );

    let queues = stdout(&cli(&app, &["queues"]));
    let goodwill = queues
        .lines()
        .find(|l| l.starts_with("goodwill\t"))
        .unwrap_or_default();
    let columns: Vec<&str> = goodwill.split('\t').collect();
    assert_eq!(columns.get(1), Some(&"2"), "two ready: {queues}");
    assert_eq!(columns.get(10), Some(&"yes"), "paused: {queues}");

    let alice_id = alice.to_string();
    let found = cli(
        &app,
        &[
            "jobs",
            "list",
            "--state",
            "queued",
            "--queue",
            "goodwill",
            "--kind",
            "record_goodwill",
            "--user-id",
            &alice_id,
        ],
    );
    let listing = stdout(&found);
    assert!(found.status.success(), "{found:?}");
    assert!(listing.contains(&alices_job), "{listing}");
    assert!(listing.contains("1 job(s)"), "only alice's: {listing}");
    let other_kind = stdout(&cli(
        &app,
        &[
            "jobs",
            "list",
            "--state",
            "queued",
            "--kind",
            "cast_vote",
            "--user-id",
            &alice_id,
        ],
    ));
    assert!(other_kind.contains("0 job(s)"), "{other_kind}");

    let cancelled = cli(&app, &["jobs", "cancel", &alices_job]);
    assert!(cancelled.status.success(), "{cancelled:?}");
    assert!(stdout(&cancelled).contains("cancelled: it will not run"));
    let unknown = cli(&app, &["jobs", "cancel", &Uuid::now_v7().to_string()]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown"));
    let bad = cli(&app, &["jobs", "list", "--state", "sleeping"]);
    assert_eq!(bad.status.code(), Some(2), "a clap usage error");

    assert!(cli(&app, &["resume", "goodwill"]).status.success());
    let bobs = app.settled(&accepted[1]).await;
    assert_eq!(bobs["state"], "done");
    let alices = app.get_json(&format!("/v1/jobs/{alices_job}")).await;
    assert_eq!(alices["state"], "cancelled", "{alices}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        count(&app, "SELECT count(*) FROM goodwill_actions").await,
        1,
        "alice's cancelled action never ran"
    );

    let audited: Vec<(String, String, String)> =
        wait_for(Duration::from_secs(20), "three audit rows", || async {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT action_type, details->>'actor', details->>'subject' FROM audit_log
                 WHERE action_type IN ('QUEUE_PAUSED', 'QUEUE_RESUMED', 'JOB_CANCELLED')
                 ORDER BY created_at",
            )
            .fetch_all(&app.db.pool)
            .await?;
            Ok((rows.len() >= 3).then_some(rows))
        })
        .await
        .expect("audit rows");
    assert_eq!(
        audited,
        vec![
            ("QUEUE_PAUSED".into(), "cli:opal".into(), "goodwill".into()),
            (
                "JOB_CANCELLED".into(),
                "cli:opal".into(),
                alices_job.clone()
            ),
            ("QUEUE_RESUMED".into(), "cli:opal".into(), "goodwill".into()),
        ],
        "one row per action that changed something (the second pause changed nothing)"
    );
    worker.stop().await.expect("worker stops");
    app.teardown().await.expect("teardown");
}
