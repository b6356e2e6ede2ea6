//! Tests that every Lua script receives every key it touches through `KEYS` (Redis Cluster's
//! rule), statically (no key argument is built in Lua) and against the real Redis (test builds
//! wrap each script in [`KEY_CHECK_PRELUDE`], which fails on an undeclared key).

use std::time::Duration;

use apalis_core::{
    backend::TaskSink,
    error::BoxDynError,
    task::{builder::TaskBuilder, task_id::TaskId},
};

use crate::{
    AttemptOutcome, CancelOutcome, DeleteOutcome, DoneRetention, JobState, QueueConfig, RedisQueue,
    ack::{AckEvent, Outcome},
    config::now_ms,
    scripts::{KEY_CHECK_PRELUDE, SOURCES},
};

/// The argument expressions of every `redis.call(...)`/`redis.pcall(...)` in `source`.
fn redis_calls(source: &str) -> Vec<Vec<String>> {
    let code: String = source
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut calls = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = ["redis.call(", "redis.pcall("]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
        .min()
    {
        let body = &rest[at.0 + at.1..];
        let (mut depth, mut quote, mut arg, mut args) = (0usize, None, String::new(), Vec::new());
        let mut end = body.len();
        for (i, c) in body.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(' | '{' | '[') => depth += 1,
                (None, ')') if depth == 0 => {
                    end = i;
                    break;
                }
                (None, ')' | '}' | ']') => depth -= 1,
                (None, ',') if depth == 0 => {
                    args.push(std::mem::take(&mut arg).trim().to_owned());
                    continue;
                }
                _ => {}
            }
            arg.push(c);
        }
        args.push(arg.trim().to_owned());
        calls.push(args);
        rest = &body[end..];
    }
    calls
}

/// Which arguments (after the command name) of `cmd` are keys.
fn key_args(cmd: &str, args: &[String]) -> Vec<String> {
    let args = &args[1..];
    match cmd {
        "EXISTS" | "DEL" | "UNLINK" => args.to_vec(),
        "LMOVE" | "BLMOVE" | "RPOPLPUSH" | "SMOVE" => args.iter().take(2).cloned().collect(),
        _ => args.iter().take(1).cloned().collect(),
    }
}

/// True if `source` assigns `name` from an expression that concatenates (`..`).
fn built_by_concatenation(source: &str, name: &str) -> bool {
    source.lines().any(|line| {
        let line = line.split("--").next().unwrap_or("");
        let Some(eq) = line.find('=') else {
            return false;
        };
        let (lhs, rhs) = (&line[..eq], &line[eq + 1..]);
        let assignment = !rhs.starts_with('=') && !lhs.ends_with(['~', '<', '>', '=']);
        assignment
            && lhs
                .trim()
                .trim_start_matches("local ")
                .split(',')
                .any(|n| n.trim() == name)
            && rhs.contains("..")
    })
}

#[test]
fn no_script_builds_a_key_name() {
    for (file, source) in SOURCES {
        let calls = redis_calls(source);
        assert!(!calls.is_empty(), "{file}: no redis.call found");
        for args in calls {
            let cmd = args[0].trim_matches(['\'', '"']).to_ascii_uppercase();
            for key in key_args(&cmd, &args) {
                let built = key.contains("..")
                    || key.contains("ARGV")
                    || key.starts_with(['\'', '"'])
                    || built_by_concatenation(source, &key);
                assert!(
                    !built,
                    "{file}: `{cmd}` touches key `{key}`, which is not passed in KEYS"
                );
            }
        }
    }
}

#[test]
fn the_static_check_sees_a_built_key() {
    let bad = "local jk = ARGV[1] .. id\nredis.call('HSET', jk, 'a', 1)\n\
               redis.call('LMOVE', KEYS[1], ARGV[2] .. 'x', 'LEFT', 'RIGHT')";
    let calls = redis_calls(bad);
    assert_eq!(calls.len(), 2);
    assert!(built_by_concatenation(bad, &calls[0][1]));
    assert_eq!(key_args("LMOVE", &calls[1])[1], "ARGV[2] .. 'x'");
}

fn url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The wrapper itself: a script touching a key it was not given fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_check_rejects_an_undeclared_key() -> Result<(), BoxDynError> {
    let client = redis::Client::open(url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let script = redis::Script::new(&format!(
        "{KEY_CHECK_PRELUDE}\nredis.call('GET', KEYS[1])\nreturn redis.call('GET', ARGV[1])"
    ));
    let declared: Option<String> = script
        .key("{keycheck}:a")
        .arg("{keycheck}:a")
        .invoke_async(&mut conn)
        .await?;
    assert_eq!(declared, None);
    let undeclared: redis::RedisResult<Option<String>> = script
        .key("{keycheck}:a")
        .arg("{keycheck}:b")
        .invoke_async(&mut conn)
        .await;
    let err = undeclared.err().ok_or("an undeclared key was accepted")?;
    assert!(
        err.to_string().contains("undeclared key {keycheck}:b"),
        "{err}"
    );
    Ok(())
}

/// Runs every script through each of its branches with the key check on (test build); any
/// undeclared key makes the call fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_script_declares_every_key_it_touches() -> Result<(), BoxDynError> {
    let cfg = QueueConfig::new("keys")
        .namespace(format!("keycheck{}", fastrand::u64(..)))
        .max_attempts(2)
        .liveness(Duration::from_millis(100), Duration::from_millis(500))
        .done_retention(DoneRetention::KeepMeta(Duration::from_secs(600)));
    let q: RedisQueue<u64> = RedisQueue::connect(&url(), cfg.clone()).await?;
    let (inner, keys) = (q.inner.clone(), q.keys().clone());
    let scripts = &inner.scripts;
    let mut conn = q.conn.clone();

    // push: coalesced single, bulk, delayed, with a per-job max, and a known id again.
    q.enqueue_with_id("a", &1, None).await?;
    q.enqueue_with_id("a", &1, None).await?;
    q.enqueue_bulk_with_ids(&[("b".to_owned(), &2), ("c".to_owned(), &3)])
        .await?;
    q.enqueue_bulk_delayed(&[4], Duration::from_millis(1))
        .await?;
    q.clone()
        .push_task(
            TaskBuilder::new(5u64)
                .task_id(TaskId::from_ulid(ulid::Ulid::generate()))
                .max_attempts(3)
                .build(),
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(5)).await;

    // fetch: promotes the delayed job; then the BLMOVE path with an id already claimed.
    let me = keys.inflight("me");
    let (first, _) = scripts.fetch(&mut conn, &keys, &cfg, &me, 2, "").await?;
    assert_eq!(first.len(), 2);
    let claimed: Option<String> = redis::cmd("LMOVE")
        .arg(&keys.ready)
        .arg(&me)
        .arg("LEFT")
        .arg("RIGHT")
        .query_async(&mut conn)
        .await?;
    let claimed = claimed.ok_or("nothing ready")?;
    let (second, _) = scripts
        .fetch(&mut conn, &keys, &cfg, &me, 10, &claimed)
        .await?;
    assert_eq!(second.len(), 3);
    let (none, next_due) = scripts.fetch(&mut conn, &keys, &cfg, &me, 10, "").await?;
    assert!(none.is_empty() && next_due == -1);

    // ack: done (meta kept, dropped, kept forever), retry, dead, and a stale retry.
    let ids: Vec<String> = first.iter().chain(&second).map(|j| j.id.clone()).collect();
    let event = |id: &str, outcome: Outcome| AckEvent {
        id: id.into(),
        outcome,
    };
    let acks = [
        event(&ids[0], Outcome::Done("1".into())),
        event(
            &ids[1],
            Outcome::Retry {
                at_ms: now_ms() - 1,
                error: "flaky".into(),
            },
        ),
        event(&ids[2], Outcome::Dead("bad".into())),
        event(
            "not-in-flight",
            Outcome::Retry {
                at_ms: now_ms(),
                error: "late".into(),
            },
        ),
    ];
    scripts.ack(&mut conn, &keys, &cfg, &me, &acks).await?;
    let outcomes = |s: Option<crate::JobStatus>| {
        s.map(|s| {
            s.attempt_history
                .iter()
                .map(|a| a.outcome)
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        outcomes(q.status(&ids[1]).await?),
        Some(vec![AttemptOutcome::Retried])
    );
    assert_eq!(
        outcomes(q.status(&ids[2]).await?),
        Some(vec![AttemptOutcome::GaveUp])
    );
    let dropped = cfg.clone().done_retention(DoneRetention::Drop);
    let forever = cfg.clone().done_retention(DoneRetention::KeepMetaForever);
    let done = [event(&ids[3], Outcome::Done("4".into()))];
    scripts.ack(&mut conn, &keys, &dropped, &me, &done).await?;
    // release: the last claimed job goes back to ready with its delivery undone.
    assert_eq!(scripts.release(&mut conn, &keys, &me, &ids[4..]).await?, 1);

    // heartbeat: this worker's leftovers, a stale worker's in-flight list, the notes.
    let (again, _) = scripts.fetch(&mut conn, &keys, &cfg, &me, 10, "").await?;
    assert_eq!(again.len(), 2, "the released and the retried job");
    let ghost = keys.inflight("ghost");
    let _: () = redis::pipe()
        .cmd("LMOVE")
        .arg(&me)
        .arg(&ghost)
        .arg("LEFT")
        .arg("RIGHT")
        .ignore()
        .zadd(&keys.workers, "ghost", now_ms() - 60_000)
        .query_async(&mut conn)
        .await?;
    assert!(
        !scripts
            .heartbeat(&mut conn, &keys, &cfg, "me", true)
            .await?
    );
    assert!(q.status(&again[0].id).await?.is_some_and(|s| {
        s.attempt_history.last().map(|a| a.outcome) == Some(AttemptOutcome::Lost)
            && s.last_error
                .is_some_and(|e| e.starts_with("requeued: worker"))
    }));

    // fetch past the attempt limit: reported exhausted, recorded dead through ack.
    let (third, _) = scripts.fetch(&mut conn, &keys, &cfg, &me, 10, "").await?;
    let exhausted: Vec<AckEvent> = third
        .iter()
        .filter(|j| j.exhausted())
        .map(|j| event(&j.id, Outcome::Dead("exhausted".into())))
        .collect();
    assert_eq!(exhausted.len(), 1, "the retried job had max 2");
    let rest: Vec<AckEvent> = third
        .iter()
        .filter(|j| !j.exhausted())
        .map(|j| event(&j.id, Outcome::Done("ok".into())))
        .collect();
    scripts.ack(&mut conn, &keys, &cfg, &me, &exhausted).await?;
    scripts.ack(&mut conn, &keys, &forever, &me, &rest).await?;

    // deregister, depths, status, dead, replay by id and all, purge.
    assert!(scripts.deregister(&mut conn, &keys, "me").await?);
    let _: () = redis::cmd("ZADD")
        .arg(&keys.workers)
        .arg(now_ms())
        .arg("live")
        .query_async(&mut conn)
        .await?;
    let d = q.depths().await?;
    assert_eq!((d.dead, d.live_workers), (2, 1), "{d:?}");
    assert_eq!(
        q.status(&ids[0]).await?.map(|s| s.state),
        Some(JobState::Done)
    );
    let dead = q.dead(0, 10).await?;
    assert_eq!(dead.len(), 2);
    assert_eq!(q.replay(std::slice::from_ref(&dead[0].id)).await?, 1);
    assert_eq!(q.replay_all().await?, 1);
    assert_eq!(q.depths().await?.ready, 2);

    // cancel (a waiting job, which keeps its enqueue instant) and delete.
    let waiting = dead[0].id.clone();
    let one = std::slice::from_ref(&waiting);
    assert_eq!(q.cancel(one, false).await?, vec![CancelOutcome::Cancelled]);
    assert!(
        q.status(&waiting)
            .await?
            .is_some_and(|s| s.enqueued_at_ms.is_some())
    );
    assert_eq!(q.delete(one).await?, vec![DeleteOutcome::Deleted]);
    q.purge().await?;
    Ok(())
}
