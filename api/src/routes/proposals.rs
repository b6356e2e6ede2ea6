//! Proposals: create and move through their lifecycle (council), vote (members), read with the
//! live tally (public).

use axum::Json;
use chrono::{DateTime, Duration, Utc};
use coin_shared::{
    domain::{DEFAULT_VOTING_DAYS, FieldError},
    governance::tally::{self, Tally},
    jobs::{
        CastVote, Choice, CreateProposal as CreateProposalCommand, Governance, Transition,
        TransitionProposal,
    },
    status::ProposalStatus,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    accepted::{Accepted, ProposalIdHeader},
    auth::Role,
    commands::{Command, Draft, validated},
    extract::{PathId, Proposal},
    openapi::{CommandAccepted, IdempotencyKeyHeader, ProposalAccepted, VoteAccepted},
    paging::{self, ApiQuery, Page},
    problem::{ApiError, ApiResult},
    responses::{
        CommandResponses, EntityCommandResponses, ListResponses, ReadResponses, StepResponses,
    },
    state::ReadDb,
};

/// The `202` of a lifecycle step: its own id, and the proposal in `X-Proposal-Id`.
pub type StepAccepted = Accepted<CommandAccepted, ProposalIdHeader>;

/// The body of `POST /v1/proposals`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProposal {
    /// Title (1..=255 characters).
    #[schema(min_length = 1, max_length = 255)]
    pub title: String,
    /// What is proposed (1..=20000 characters).
    #[schema(min_length = 1, max_length = 20000)]
    pub description: String,
    /// Voting opens (default: now).
    pub vote_start_time: Option<DateTime<Utc>>,
    /// Voting closes (default: 7 days after it opens).
    pub vote_end_time: Option<DateTime<Utc>>,
    /// Fraction (0..=1) of eligible weight that must take part (default 0).
    #[schema(minimum = 0, maximum = 1)]
    pub required_quorum: Option<f64>,
}

/// `POST /v1/proposals` (council): enqueue the creation of a DRAFT proposal.
#[utoipa::path(post, path = "/v1/proposals", operation_id = "create_proposal", tag = "proposals",
    params(IdempotencyKeyHeader), request_body = CreateProposal,
    responses(Accepted<ProposalAccepted>, CommandResponses))]
pub async fn create(command: Command<CreateProposal>) -> ApiResult<Accepted<ProposalAccepted>> {
    command.require(&[Role::Council], "creating a proposal")?;
    command.submit_with(create_job).await
}

/// Turns a `POST /v1/proposals` body into its job (no role check, no I/O): defaults filled in
/// (start now, end 7 days after the start), then the shared rules the worker applies too.
pub fn create_job(draft: Draft<CreateProposal>) -> ApiResult<Governance> {
    let Draft {
        caller,
        body,
        id: proposal_id,
        at: now,
    } = draft;
    let start = body.vote_start_time.unwrap_or(now);
    // The default end only when none is given, and checked: a start at the end of chrono's
    // range has no 7 days left.
    let end = match body.vote_end_time {
        Some(end) => end,
        None => start
            .checked_add_signed(Duration::days(DEFAULT_VOTING_DAYS))
            .ok_or_else(|| {
                ApiError::Validation(vec![FieldError::new(
                    "vote_start_time",
                    format!(
                        "leaves no room for the default {DEFAULT_VOTING_DAYS}-day voting \
                         period; give vote_end_time"
                    ),
                )])
            })?,
    };
    validated(Governance::CreateProposal(CreateProposalCommand {
        proposal_id,
        title: body.title.trim().to_owned(),
        description: body.description.trim().to_owned(),
        vote_start_time: start,
        vote_end_time: end,
        required_quorum: body.required_quorum.unwrap_or(0.0),
        proposer_id: caller.user_id,
    }))
}

/// The job of a lifecycle step (no role check, no I/O), through the shared rules.
pub fn transition_job(proposal_id: Uuid, draft: Draft<Transition>) -> ApiResult<Governance> {
    validated(Governance::TransitionProposal(TransitionProposal {
        command_id: draft.id,
        proposal_id,
        transition: draft.body,
        requested_by: draft.caller.user_id,
    }))
}

step_routes! {
    tag = "proposals",
    params(("id" = Uuid, Path, description = "The proposal."), IdempotencyKeyHeader),
    responses(StepAccepted, StepResponses),
    docs(
        ///
        /// Enqueues the step; a step the proposal's status does not allow fails the job
        /// permanently, with the reason in `GET /v1/jobs/{id}`.
    ),
    command(&[Role::Council], "changing a proposal's status", "proposal")
        -> ApiResult<StepAccepted> = transition_job;
    /// `POST /v1/proposals/{id}/open` (council): DRAFT → ACTIVE.
    open = Transition::Open, "/v1/proposals/{id}/open", "open_proposal";
    /// `POST /v1/proposals/{id}/close` (council): ACTIVE → CLOSED, storing the final tally.
    close = Transition::Close, "/v1/proposals/{id}/close", "close_proposal";
    /// `POST /v1/proposals/{id}/reject` (council): DRAFT or ACTIVE → REJECTED.
    reject = Transition::Reject, "/v1/proposals/{id}/reject", "reject_proposal";
}

/// The body of `POST /v1/proposals/{id}/votes`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    /// FOR, AGAINST or ABSTAIN.
    pub choice: Choice,
    /// Optional public reasoning (at most 2000 characters).
    #[schema(max_length = 2000)]
    pub rationale: Option<String>,
}

/// `POST /v1/proposals/{id}/votes`: a member votes as itself.
///
/// A later vote replaces the earlier one until the proposal closes; a vote outside the voting
/// window or on a proposal that is not ACTIVE fails the job permanently.
#[utoipa::path(post, path = "/v1/proposals/{id}/votes", operation_id = "cast_vote",
    tag = "proposals",
    params(("id" = Uuid, Path, description = "The proposal."), IdempotencyKeyHeader),
    request_body = VoteRequest, responses(Accepted<VoteAccepted>, EntityCommandResponses))]
pub async fn vote(command: Command<VoteRequest>) -> ApiResult<Accepted<VoteAccepted>> {
    command.require(&[Role::Member, Role::Council, Role::Operator], "voting")?;
    let proposal_id = command.id("proposal")?;
    command
        .submit_with(|draft| vote_job(proposal_id, draft))
        .await
}

/// Turns a vote body into its job (no role check, no I/O): a blank rationale is none, then the
/// shared rules the worker applies too. The voting window is judged at `now`.
pub fn vote_job(proposal_id: Uuid, draft: Draft<VoteRequest>) -> ApiResult<CastVote> {
    let Draft {
        caller,
        body,
        id: vote_id,
        at: now,
    } = draft;
    let rationale = body
        .rationale
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    validated(CastVote {
        vote_id,
        proposal_id,
        voter_id: caller.user_id,
        choice: body.choice,
        rationale,
        cast_at: now,
    })
}

/// A proposal as readers see it, with its tally.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalView {
    /// Its id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Who proposed it.
    pub proposer_user_id: Option<Uuid>,
    /// DRAFT, ACTIVE, CLOSED or REJECTED.
    pub status: ProposalStatus,
    /// Voting opens.
    pub vote_start_time: DateTime<Utc>,
    /// Voting closes.
    pub vote_end_time: DateTime<Utc>,
    /// Fraction of eligible weight that must take part.
    #[schema(minimum = 0, maximum = 1)]
    pub required_quorum: f64,
    /// When it was opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// When it was closed or rejected.
    pub closed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// The final tally once CLOSED, the live one before.
    pub tally: Option<Tally>,
}

/// A proposal's row as both reads select it: the view's columns and the stored final result.
struct ProposalRow {
    id: Uuid,
    title: String,
    description: String,
    proposer_user_id: Option<Uuid>,
    status: ProposalStatus,
    vote_start_time: DateTime<Utc>,
    vote_end_time: DateTime<Utc>,
    required_quorum: f64,
    opened_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    final_result: Option<serde_json::Value>,
}

/// The view of a row: its stored final tally once CLOSED, the live one (computed now) before.
async fn view(db: &PgPool, row: ProposalRow) -> ApiResult<ProposalView> {
    let tally = match row.final_result {
        Some(stored) => serde_json::from_value(stored).ok(),
        None => {
            let mut conn = db.acquire().await?;
            let inputs = tally::load(&mut conn, row.id, row.required_quorum).await?;
            Some(tally::compute(&inputs))
        }
    };
    Ok(ProposalView {
        id: row.id,
        title: row.title,
        description: row.description,
        proposer_user_id: row.proposer_user_id,
        status: row.status,
        vote_start_time: row.vote_start_time,
        vote_end_time: row.vote_end_time,
        required_quorum: row.required_quorum,
        opened_at: row.opened_at,
        closed_at: row.closed_at,
        created_at: row.created_at,
        tally,
    })
}

/// `GET /v1/proposals/{id}`: the proposal and its tally (weights, not heads).
#[utoipa::path(get, path = "/v1/proposals/{id}", operation_id = "get_proposal", tag = "proposals",
    params(("id" = Uuid, Path, description = "The proposal.")),
    responses(
        (status = 200, description = "The proposal; `tally` is the final one once CLOSED, the \
            live one before.", body = ProposalView),
        ReadResponses,
    ))]
pub async fn get(
    ReadDb(db): ReadDb,
    PathId(id, _): PathId<Proposal>,
) -> ApiResult<Json<ProposalView>> {
    let row = sqlx::query_as!(
        ProposalRow,
        r#"SELECT id, title, description, proposer_user_id, status AS "status: ProposalStatus",
                  vote_start_time, vote_end_time, required_quorum::float8 AS "required_quorum!",
                  opened_at, closed_at, created_at, final_result
           FROM proposals WHERE id = $1"#,
        id
    )
    .fetch_optional(&db)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no proposal has the id `{id}`")))?;
    Ok(Json(view(&db, row).await?))
}

/// Query of `GET /v1/proposals`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this status (DRAFT, ACTIVE, CLOSED, REJECTED; any case).
    pub status: Option<String>,
    /// Page size (1..=50, default 20).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
}

/// `GET /v1/proposals`: newest first, each with its tally.
#[utoipa::path(get, path = "/v1/proposals", operation_id = "list_proposals", tag = "proposals",
    params(ListQuery),
    responses((status = 200, description = "A page of proposals.", body = Page<ProposalView>),
        ListResponses))]
pub async fn list(
    ReadDb(db): ReadDb,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<ProposalView>>> {
    let status = match query.status.as_deref().map(ProposalStatus::parse) {
        None => None,
        Some(Some(status)) => Some(status),
        Some(None) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "status",
                "must be DRAFT, ACTIVE, CLOSED or REJECTED",
            )]));
        }
    };
    let page = paging::keyset(
        &db,
        query.limit,
        50,
        |fetch| {
            sqlx::query_as!(
                ProposalRow,
                r#"SELECT id, title, description, proposer_user_id,
                          status AS "status: ProposalStatus", vote_start_time, vote_end_time,
                          required_quorum::float8 AS "required_quorum!", opened_at, closed_at,
                          created_at, final_result
                   FROM proposals
                   WHERE ($1::proposal_status IS NULL OR status = $1)
                     AND ($2::uuid IS NULL
                          OR (created_at, id) < (SELECT created_at, id FROM proposals WHERE id = $2))
                   ORDER BY created_at DESC, id DESC LIMIT $3"#,
                status as Option<ProposalStatus>,
                query.cursor,
                fetch
            )
        },
        |row| row.id,
    )
    .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for row in page.items {
        items.push(view(&db, row).await?);
    }
    Ok(Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}
