//! Tally benchmark: one proposal, 1,000,000 members, 200,000 delegations in chains of depth 50,
//! timed the way `GET /v1/proposals/{id}` computes it (three queries + the in-memory pass).
//!
//! ```text
//! cargo run --release -p coin-shared --example tally_bench -- [--members 1000000] [--runs 5]
//! ```
//! Creates and drops its own database on `TEST_DATABASE_URL`
//! (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`).

use std::time::Instant;

use coin_shared::governance::tally;
use sqlx::PgPool;
use uuid::Uuid;

/// Members per chain: 50 delegations, then the member at the end votes.
const CHAIN: i64 = 51;
/// 4,000 chains × 50 delegations = 200,000 delegations.
const CHAINS: i64 = 4_000;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn arg(name: &str, default: i64) -> Result<i64, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let members = arg("--members", 1_000_000)?;
    let runs = arg("--runs", 5)?.max(1);
    if members < CHAIN * CHAINS {
        return Err(format!("--members must be at least {}", CHAIN * CHAINS).into());
    }
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let scratch = coin_shared::db::ScratchDatabase::create(&admin, "coin_tally_bench").await?;
    let result = bench(&scratch.url, members, runs).await;
    scratch.drop().await?;
    result
}

async fn bench(url: &str, members: i64, runs: i64) -> Result<(), Box<dyn std::error::Error>> {
    let pool = PgPool::connect(url).await?;
    coin_shared::db::migrate(&pool).await?;
    let proposal = Uuid::now_v7();
    let started = Instant::now();
    sqlx::query!(
        "INSERT INTO users (id) SELECT gen_random_uuid() FROM generate_series(1, $1::bigint)",
        members
    )
    .execute(&pool)
    .await?;
    sqlx::query!(
        "INSERT INTO proposals (id, title, description, status)
         VALUES ($1, 'bench', 'bench', 'ACTIVE')",
        proposal
    )
    .execute(&pool)
    .await?;
    sqlx::query!("CREATE TABLE numbered AS SELECT id, row_number() OVER () - 1 AS n FROM users")
        .execute(&pool)
        .await?;
    // Runtime SQL from here to the ANALYZE: these read `numbered`, a table this run creates, so
    // no migrated database can describe them at compile time (none returns rows).
    sqlx::query("CREATE INDEX ON numbered (n)")
        .execute(&pool)
        .await?;
    // Chains: member n delegates to n + 1 within each block of 51; every 10th delegation is
    // scoped to the proposal, the others are global.
    sqlx::query(
        "INSERT INTO delegations (id, delegator_user_id, delegate_user_id, proposal_id)
         SELECT gen_random_uuid(), a.id, b.id, CASE WHEN a.n % 10 = 0 THEN $1 END
         FROM numbered a JOIN numbered b ON b.n = a.n + 1
         WHERE a.n < $2 * $3 AND a.n % $2 <> $2 - 1",
    )
    .bind(proposal)
    .bind(CHAIN)
    .bind(CHAINS)
    .execute(&pool)
    .await?;
    // Each chain's last member votes; so does every 20th member outside the chains.
    sqlx::query(
        "INSERT INTO votes (id, proposal_id, voter_user_id, vote_value)
         SELECT gen_random_uuid(), $1, id, (ARRAY['FOR','AGAINST','ABSTAIN'])[1 + n % 3]::vote_value
         FROM numbered
         WHERE (n < $2 * $3 AND n % $2 = $2 - 1) OR (n >= $2 * $3 AND n % 20 = 0)",
    )
    .bind(proposal)
    .bind(CHAIN)
    .bind(CHAINS)
    .execute(&pool)
    .await?;
    sqlx::query!("ANALYZE").execute(&pool).await?;
    let counts = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM delegations) AS "delegations!",
                  (SELECT count(*) FROM votes) AS "votes!""#
    )
    .fetch_one(&pool)
    .await?;
    let (delegations, votes) = (counts.delegations, counts.votes);
    println!(
        "data: {members} members, {delegations} delegations (chains of depth {}), {votes} direct votes; generated in {:.1} s",
        CHAIN - 1,
        started.elapsed().as_secs_f64()
    );

    let expected_participation = CHAIN * CHAINS + (members - CHAIN * CHAINS + 19) / 20;
    let mut times = Vec::new();
    for run in 1..=runs {
        let t = Instant::now();
        let mut conn = pool.acquire().await?;
        let inputs = tally::load(&mut conn, proposal, 0.2).await?;
        let loaded = t.elapsed();
        let result = tally::compute(&inputs);
        let total = t.elapsed();
        let participating = result.for_weight + result.against + result.abstain;
        if participating != u64::try_from(expected_participation)? {
            return Err(format!(
                "wrong tally: {participating} participating, expected {expected_participation}"
            )
            .into());
        }
        println!(
            "run {run}: load {:.0} ms + compute {:.0} ms = {:.0} ms (for {}, against {}, abstain {}, delegated {}, quorum {})",
            loaded.as_secs_f64() * 1e3,
            (total - loaded).as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            result.for_weight,
            result.against,
            result.abstain,
            result.delegated_weight,
            result.quorum_reached
        );
        times.push(total.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "tally of 1 proposal: median {:.0} ms, best {:.0} ms over {runs} runs (target ≤ 2,000 ms)",
        times[times.len() / 2] * 1e3,
        times[0] * 1e3
    );
    pool.close().await;
    Ok(())
}
