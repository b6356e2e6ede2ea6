//! `/governance`: proposals by status, each with its tally in weights (the shared
//! `coin_shared::governance::tally`, as the API's reads compute it: live for DRAFT and ACTIVE,
//! the stored final result once CLOSED), and the council as it stands. The ACTIVE table refreshes
//! itself every 10 s (htmx), so its tallies move without a reload.

use axum::extract::State;
use chrono::{DateTime, Utc};
use coin_shared::governance::tally::{self, Tally};
use maud::{Markup, html};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{auth::Operator, error::PageResult, layout, state::ConsoleState};

/// Proposals one status shows.
const PER_STATUS: i64 = 20;

/// The statuses, the ones still open to change first.
const STATUSES: [&str; 4] = ["ACTIVE", "DRAFT", "CLOSED", "REJECTED"];

/// `ACTIVE` → `Active`.
fn heading(status: &str) -> String {
    let lower = status.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A proposal as the page lists it.
#[derive(Debug)]
struct ProposalRow {
    id: Uuid,
    title: String,
    status: String,
    vote_start_time: DateTime<Utc>,
    vote_end_time: DateTime<Utc>,
    required_quorum: f64,
    final_result: Option<Value>,
}

/// A council membership in force.
#[derive(Debug)]
struct MemberRow {
    user_id: Uuid,
    role: String,
    start_date: DateTime<Utc>,
    end_date: Option<DateTime<Utc>>,
}

async fn proposals(pool: &PgPool, status: &str) -> Result<Vec<ProposalRow>, sqlx::Error> {
    sqlx::query_as!(
        ProposalRow,
        r#"SELECT id, title, status::text AS "status!", vote_start_time, vote_end_time,
                  required_quorum::float8 AS "required_quorum!", final_result
           FROM proposals WHERE status::text = $1
           ORDER BY created_at DESC, id DESC LIMIT $2"#,
        status,
        PER_STATUS
    )
    .fetch_all(pool)
    .await
}

async fn council(pool: &PgPool) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as!(
        MemberRow,
        r#"SELECT user_id, role::text AS "role!", start_date, end_date FROM council_members
           WHERE start_date <= now() AND (end_date IS NULL OR end_date > now())
           ORDER BY role, start_date"#
    )
    .fetch_all(pool)
    .await
}

/// The stored final tally once closed, the live one (computed now) before.
async fn tally_of(pool: &PgPool, row: &ProposalRow) -> Result<Option<Tally>, sqlx::Error> {
    if let Some(stored) = &row.final_result {
        return Ok(serde_json::from_value(stored.clone()).ok());
    }
    if row.status == "REJECTED" {
        return Ok(None);
    }
    let mut conn = pool.acquire().await?;
    let inputs = tally::load(&mut conn, row.id, row.required_quorum).await?;
    Ok(Some(tally::compute(&inputs)))
}

fn tally_cells(tally: Option<&Tally>) -> Markup {
    match tally {
        None => {
            html! { td.num { "–" } td.num { "–" } td.num { "–" } td { span.muted { "no tally" } } }
        }
        Some(t) => html! {
            td.num { (t.for_weight) } td.num { (t.against) } td.num { (t.abstain) }
            td {
                (format!("{:?}", t.outcome).to_lowercase())
                @if !t.quorum_reached { " " span.muted { "(no quorum)" } }
                div.muted { (t.direct_votes) " voted, " (t.delegated_weight) " delegated, of " (t.eligible) }
            }
        },
    }
}

/// `GET /governance`.
pub async fn page(State(state): State<ConsoleState>, operator: Operator) -> PageResult {
    let mut sections = Vec::with_capacity(STATUSES.len());
    for status in STATUSES {
        let mut rows = Vec::new();
        for row in proposals(&state.pool, status).await? {
            let tally = tally_of(&state.pool, &row).await?;
            rows.push((row, tally));
        }
        sections.push((status, heading(status), rows));
    }
    let members = council(&state.pool).await?;
    let body = html! {
        h1 { "Governance" }
        @for (status, heading, rows) in &sections {
            section id={"proposals-" (status.to_lowercase())}
                hx-get=[(*status == "ACTIVE").then_some("/governance")]
                hx-trigger=[(*status == "ACTIVE").then_some("every 10s")]
                hx-select=[(*status == "ACTIVE").then_some("#proposals-active")]
                hx-swap=[(*status == "ACTIVE").then_some("outerHTML")] {
                h2 { (heading) " proposals" }
                @if rows.is_empty() { p.muted { "None." } }
                @else {
                    table.proposals {
                        (layout::head(&["Proposal", "Voting", "#For", "#Against", "#Abstain", "Outcome"]))
                        tbody { @for (p, tally) in rows { tr id={"proposal-" (p.id)} {
                            th scope="row" { (p.title) div.muted { code { (p.id) } } }
                            td { (layout::time(Some(p.vote_start_time))) " to " (layout::time(Some(p.vote_end_time)))
                                div.muted { "quorum " (format!("{:.0}", p.required_quorum * 100.0)) " %" } }
                            (tally_cells(tally.as_ref()))
                        } } }
                    }
                }
            }
        }
        h2 { "Council" }
        @if members.is_empty() { p.muted { "No council member in office." } }
        @else {
            table.council {
                (layout::head(&["Member", "Role", "Since", "Until"]))
                tbody { @for m in &members { tr {
                    td { code { (m.user_id) } }
                    td { (m.role) }
                    td { (layout::time(Some(m.start_date))) }
                    td { (m.end_date.map_or_else(|| "open-ended".to_owned(), |d| layout::time(Some(d)))) }
                } } }
            }
        }
    };
    Ok(operator.page(&state, "Governance", body))
}
