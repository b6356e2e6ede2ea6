//! "Never a 202 the worker would refuse", as properties over every command body.
//!
//! Bodies are generated as JSON (timestamps as RFC 3339 strings across chrono's whole range,
//! years past 9999 with their `+` and negative years included; texts with NUL and control
//! characters; huge, negative and non-finite numbers) and fed to each route's pure
//! request-to-job function after the API's own JSON parsing. Property one: that path never
//! panics, and every job it accepts passes the worker's validator. Property two, on a smaller
//! sample: every accepted job is applied by the worker's real apply functions to a real Postgres
//! database without an error.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use coin_api::{
    auth::{Caller, Role},
    commands::{Draft, NoBody},
    extract::parse,
    problem::ApiError,
    routes::{council, delegations, goodwill, proposals, webhooks},
};
use coin_shared::{
    jobs::{CastVote, CouncilRole, Governance, RecordGoodwill, Transition},
    status::EndpointStatus,
    validate::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, Validate, stored},
    webhooks::{EVENT_TYPES, WebhookSecret},
};
use coin_tests::TestDatabase;
use coin_worker::{
    error::JobError,
    jobs::{Applied, cast_vote, governance, record_goodwill},
};
use proptest::{prelude::*, test_runner::TestCaseError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// An RFC 3339 timestamp anywhere in chrono's range, biased towards the edges that matter.
fn timestamp() -> impl Strategy<Value = String> {
    let min = DateTime::<Utc>::MIN_UTC.timestamp();
    let max = DateTime::<Utc>::MAX_UTC.timestamp();
    let near = |at: DateTime<Utc>| {
        (-100_000i64..100_000).prop_map(move |us| {
            at.checked_add_signed(Duration::microseconds(us))
                .unwrap_or(at)
        })
    };
    let instant = prop_oneof![
        3 => (min..=max, 0u32..1_000_000_000)
            .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).unwrap_or(DateTime::<Utc>::MIN_UTC)),
        2 => near(EARLIEST_TIMESTAMP),
        2 => near(LATEST_TIMESTAMP),
        2 => near(Utc::now()),
        1 => near(Utc::now() + Duration::days(3650)),
        1 => Just(DateTime::<Utc>::MIN_UTC),
        1 => Just(DateTime::<Utc>::MAX_UTC),
        1 => Just(EARLIEST_TIMESTAMP),
        1 => Just(LATEST_TIMESTAMP),
    ];
    prop_oneof![
        12 => instant.prop_map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        1 => Just("+262142-12-31T23:59:59Z".to_owned()),
        1 => Just("-4713-11-24T00:00:00Z".to_owned()),
        1 => "[-+0-9:TZ.]{0,30}",
    ]
}

/// Text: ordinary, with NUL and control characters, any Unicode, or around the column limits.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z ]{1,30}",
        2 => "[a-z\\x00-\\x1f\\x7f ]{0,30}",
        2 => any::<String>(),
        1 => Just(String::new()),
        1 => Just(" \t ".to_owned()),
        1 => (95usize..110).prop_map(|n| "a".repeat(n)),
        1 => (250usize..260).prop_map(|n| "é".repeat(n)),
        1 => (1_990usize..2_010).prop_map(|n| "r".repeat(n)),
        1 => (4_995usize..5_005).prop_map(|n| "d".repeat(n)),
    ]
}

/// A JSON number that may be huge, negative, fractional or (as a quorum) non-finite.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (-5i64..110).prop_map(|n| json!(n)),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<u64>().prop_map(|n| json!(n)),
        2 => any::<f64>().prop_map(|f| json!(f)),
        2 => (-0.5f64..1.5).prop_map(|f| json!(f)),
        1 => Just(json!("1")),
    ]
}

/// Sometimes absent (`None`), else the value.
fn maybe<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    proptest::option::weighted(0.8, s)
}

fn context() -> impl Strategy<Value = Option<Value>> {
    maybe(
        proptest::collection::btree_map(text(), text(), 0..4).prop_map(|m| {
            Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
        }),
    )
}

/// Inserts `value` at `key` unless it is absent.
fn put(body: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        body.insert(key.to_owned(), value);
    }
}

/// One generated body per command route.
#[derive(Debug, Clone)]
struct Bodies {
    goodwill: Value,
    proposal: Value,
    /// A raw quorum (NaN, infinities) the JSON body cannot carry, set on the parsed request.
    raw_quorum: Option<f64>,
    vote: Value,
    delegation_to_self: bool,
    delegation_scoped: bool,
    add_member: Value,
    end_member: Value,
    endpoint: Value,
    transition: Transition,
}

fn bodies() -> impl Strategy<Value = Bodies> {
    let goodwill = (text(), text(), number(), context(), maybe(timestamp())).prop_map(
        |(action_type, description, loves, ctx, occurred)| {
            let mut b = Map::new();
            b.insert("action_type".into(), json!(action_type));
            b.insert("description".into(), json!(description));
            b.insert("loves_value".into(), loves);
            put(&mut b, "contextual_data", ctx);
            put(&mut b, "occurred_at", occurred.map(Value::from));
            Value::Object(b)
        },
    );
    let proposal = (
        text(),
        text(),
        maybe(timestamp()),
        maybe(timestamp()),
        maybe(number()),
    )
        .prop_map(|(title, description, start, end, quorum)| {
            let mut b = Map::new();
            b.insert("title".into(), json!(title));
            b.insert("description".into(), json!(description));
            put(&mut b, "vote_start_time", start.map(Value::from));
            put(&mut b, "vote_end_time", end.map(Value::from));
            put(&mut b, "required_quorum", quorum);
            Value::Object(b)
        });
    let raw_quorum = proptest::option::weighted(
        0.2,
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            any::<f64>()
        ],
    );
    let vote = (
        prop_oneof![Just("FOR"), Just("AGAINST"), Just("ABSTAIN"), Just("MAYBE")],
        maybe(text()),
    )
        .prop_map(|(choice, rationale)| {
            let mut b = Map::new();
            b.insert("choice".into(), json!(choice));
            put(&mut b, "rationale", rationale.map(Value::from));
            Value::Object(b)
        });
    let add_member = (
        maybe(prop_oneof![Just("CHAIR"), Just("MEMBER"), Just("OBSERVER")]),
        maybe(timestamp()),
        maybe(timestamp()),
    )
        .prop_map(|(role, start, end)| {
            let mut b = Map::new();
            b.insert("user_id".into(), json!(Uuid::now_v7()));
            put(&mut b, "role", role.map(Value::from));
            put(&mut b, "start_date", start.map(Value::from));
            put(&mut b, "end_date", end.map(Value::from));
            Value::Object(b)
        });
    let end_member = maybe(timestamp()).prop_map(|end| {
        let mut b = Map::new();
        put(&mut b, "end_date", end.map(Value::from));
        Value::Object(b)
    });
    let event_type = prop_oneof![
        3 => proptest::sample::select(EVENT_TYPES).prop_map(str::to_owned),
        1 => text(),
    ];
    let url = prop_oneof![
        3 => "https?://[a-z]{1,10}\\.example(:[0-9]{1,5})?/[a-z0-9/]{0,20}",
        1 => "[hHtTpPsS]{4,5}://[a-z\\x00-\\x20]{0,10}",
        1 => text(),
        1 => (1_990usize..2_010).prop_map(|n| format!("https://e.example/{}", "p".repeat(n))),
    ];
    let endpoint = (url, proptest::collection::vec(event_type, 0..4))
        .prop_map(|(url, types)| json!({"url": url, "event_types": types}));
    let transition = prop_oneof![
        Just(Transition::Open),
        Just(Transition::Close),
        Just(Transition::Reject)
    ];
    (
        (goodwill, proposal, raw_quorum, vote),
        (any::<bool>(), any::<bool>(), add_member, end_member),
        (endpoint, transition),
    )
        .prop_map(
            |(
                (goodwill, proposal, raw_quorum, vote),
                (delegation_to_self, delegation_scoped, add_member, end_member),
                (endpoint, transition),
            )| Bodies {
                goodwill,
                proposal,
                raw_quorum,
                vote,
                delegation_to_self,
                delegation_scoped,
                add_member,
                end_member,
                endpoint,
                transition,
            },
        )
}

/// The jobs the API accepted for one set of bodies (`None` where it answered 4xx).
#[derive(Debug)]
struct Accepted {
    goodwill: Option<RecordGoodwill>,
    proposal: Option<Governance>,
    vote: Option<CastVote>,
    delegation: Option<Governance>,
    add_member: Option<Governance>,
    end_member: Option<Governance>,
    endpoint: Option<Governance>,
}

/// The ids the DB property needs to exist beforehand.
#[derive(Debug, Clone, Copy)]
struct Targets {
    active_proposal: Uuid,
    membership: Uuid,
}

fn caller(role: Role) -> Caller {
    Caller {
        user_id: Uuid::now_v7(),
        role,
    }
}

/// What a route builds a job from: `caller` sending `body` now, under a fresh id.
fn draft<B>(caller: Caller, body: B) -> Draft<B> {
    Draft {
        caller,
        body,
        id: Uuid::now_v7(),
        at: Utc::now(),
    }
}

/// An accepted job must pass the worker's validator; an `Err` must be a client error.
fn accepted<J: Validate + std::fmt::Debug>(
    what: &str,
    result: Result<J, ApiError>,
) -> Result<Option<J>, TestCaseError> {
    match result {
        Ok(job) => {
            let errors = job.validate();
            prop_assert!(
                errors.is_empty(),
                "{what}: the API accepted {job:?}, the worker refuses it: {errors:?}"
            );
            Ok(Some(job))
        }
        Err(ApiError::Validation(_) | ApiError::BadRequest { .. } | ApiError::Forbidden(_)) => {
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "{what}: not a client error: {other:?}"
        ))),
    }
}

/// Parses `body` as its route does and builds the job as its route does; see [`accepted`].
fn through<R: serde::de::DeserializeOwned, J: Validate + std::fmt::Debug>(
    what: &str,
    body: &Value,
    to_job: impl FnOnce(R) -> Result<J, ApiError>,
) -> Result<Option<J>, TestCaseError> {
    accepted(
        what,
        parse::<R>(&body.to_string().into_bytes()).and_then(to_job),
    )
}

/// Runs every body through its route's parsing and request-to-job function.
fn through_the_api(b: &Bodies, targets: Targets) -> Result<Accepted, TestCaseError> {
    let member = caller(Role::Member);

    let goodwill = through("goodwill", &b.goodwill, |r: goodwill::GoodwillRequest| {
        goodwill::to_job(draft(member, r))
    })?;
    let proposal = through(
        "proposal",
        &b.proposal,
        |mut r: proposals::CreateProposal| {
            if b.raw_quorum.is_some() {
                r.required_quorum = b.raw_quorum;
            }
            proposals::create_job(draft(caller(Role::Council), r))
        },
    )?;
    let vote = through("vote", &b.vote, |r: proposals::VoteRequest| {
        proposals::vote_job(targets.active_proposal, draft(member, r))
    })?;
    let delegate = if b.delegation_to_self {
        member.user_id
    } else {
        Uuid::now_v7()
    };
    let scope = b.delegation_scoped.then_some(targets.active_proposal);
    let delegation = through(
        "delegation",
        &json!({"delegate_id": delegate, "proposal_id": scope}),
        |r: delegations::DelegationRequest| delegations::create_job(draft(member, r)),
    )?;
    let operator = caller(Role::Operator);
    let add_member = through("council member", &b.add_member, |r: council::AddMember| {
        council::add_job(draft(operator, r))
    })?;
    let end_member = through(
        "end of membership",
        &b.end_member,
        |r: council::EndMembership| council::end_job(targets.membership, draft(operator, r)),
    )?;
    let endpoint = through(
        "webhook endpoint",
        &b.endpoint,
        |r: webhooks::EndpointRequest| {
            webhooks::register_job(draft(operator, r), WebhookSecret::generate())
        },
    )?;
    Ok(Accepted {
        goodwill,
        proposal,
        vote,
        delegation,
        add_member,
        end_member,
        endpoint,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn what_the_api_accepts_the_worker_validator_accepts(b in bodies()) {
        let targets = Targets { active_proposal: Uuid::now_v7(), membership: Uuid::now_v7() };
        through_the_api(&b, targets)?;
        let council = caller(Role::Council);
        let member = caller(Role::Member);
        accepted("transition", proposals::transition_job(Uuid::now_v7(), draft(council, b.transition)))?;
        accepted("revocation", delegations::revoke_job(Uuid::now_v7(), draft(member, NoBody)))?;
        let status = if b.delegation_to_self { EndpointStatus::Disabled } else { EndpointStatus::Active };
        accepted("endpoint status", webhooks::status_job(Uuid::now_v7(), draft(caller(Role::Operator), status)))?;
    }
}

/// Applies `job` and fails the case on any error.
fn applied(what: &str, result: Result<Applied, JobError>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!(
            "{what}: accepted by the API, refused by the worker: {e}"
        ))),
    }
}

/// A proposal in `state` (`DRAFT` or `ACTIVE`), voting open over the whole storable range.
async fn proposal_in(db: &TestDatabase, active: bool) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    governance::apply(
        &db.pool,
        &Governance::CreateProposal(coin_shared::jobs::CreateProposal {
            proposal_id: id,
            title: "Target".into(),
            description: "For the property test".into(),
            vote_start_time: EARLIEST_TIMESTAMP,
            vote_end_time: LATEST_TIMESTAMP,
            required_quorum: 0.0,
            proposer_id: Uuid::now_v7(),
        }),
    )
    .await?;
    if active {
        governance::apply(
            &db.pool,
            &Governance::TransitionProposal(coin_shared::jobs::TransitionProposal {
                command_id: Uuid::now_v7(),
                proposal_id: id,
                transition: Transition::Open,
                requested_by: Uuid::now_v7(),
            }),
        )
        .await?;
    }
    Ok(id)
}

/// Applies one case's accepted jobs through the worker's own functions.
async fn apply_case(db: &TestDatabase, b: &Bodies) -> Result<(), TestCaseError> {
    let fail = |e: anyhow::Error| TestCaseError::fail(format!("setting up: {e:#}"));
    let active = proposal_in(db, true).await.map_err(fail)?;
    let membership = Uuid::now_v7();
    governance::apply(
        &db.pool,
        &Governance::AddCouncilMember(coin_shared::jobs::AddCouncilMember {
            member_id: membership,
            user_id: Uuid::now_v7(),
            role: CouncilRole::Member,
            start_date: EARLIEST_TIMESTAMP,
            end_date: None,
            requested_by: Uuid::now_v7(),
        }),
    )
    .await
    .map_err(|e| fail(e.into()))?;
    let out = through_the_api(
        b,
        Targets {
            active_proposal: active,
            membership,
        },
    )?;
    if let Some(job) = &out.goodwill {
        applied("goodwill", record_goodwill::apply(&db.pool, job).await)?;
    }
    if let Some(job) = &out.vote {
        applied("vote", cast_vote::apply(&db.pool, job).await)?;
    }
    for (what, job) in [
        ("proposal", &out.proposal),
        ("delegation", &out.delegation),
        ("council member", &out.add_member),
        ("webhook endpoint", &out.endpoint),
    ] {
        if let Some(job) = job {
            applied(what, governance::apply(&db.pool, job).await)?;
        }
    }
    if let Some(job) = &out.end_member {
        let result = governance::apply(&db.pool, job).await;
        // The one state rule: a term cannot end before it began (it began at the earliest
        // storable instant).
        match job {
            Governance::EndCouncilMembership(coin_shared::jobs::EndCouncilMembership {
                end_date,
                ..
            }) if stored(*end_date) <= EARLIEST_TIMESTAMP => {
                prop_assert!(matches!(result, Err(JobError::Permanent(_))), "{result:?}");
            }
            _ => applied("end of membership", result)?,
        }
    }
    // Lifecycle steps and revocation on targets in the state they need.
    let council = caller(Role::Council);
    let target = proposal_in(db, b.transition == Transition::Close)
        .await
        .map_err(fail)?;
    if let Some(job) = accepted(
        "transition",
        proposals::transition_job(target, draft(council, b.transition)),
    )? {
        applied("transition", governance::apply(&db.pool, &job).await)?;
    }
    if let Some(Governance::CreateDelegation(coin_shared::jobs::CreateDelegation {
        delegation_id,
        delegator_id,
        ..
    })) = &out.delegation
    {
        let revoker = Caller {
            user_id: *delegator_id,
            role: Role::Member,
        };
        if let Some(job) = accepted(
            "revocation",
            delegations::revoke_job(*delegation_id, draft(revoker, NoBody)),
        )? {
            applied("revocation", governance::apply(&db.pool, &job).await)?;
        }
    }
    Ok(())
}

#[test]
fn every_job_the_api_accepts_is_applied_by_the_worker_to_real_postgres() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let db = runtime
        .block_on(TestDatabase::create())
        .expect("tests need PostgreSQL (TEST_DATABASE_URL)");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let result = runner.run(&bodies(), |b| runtime.block_on(apply_case(&db, &b)));
    runtime.block_on(db.drop_database()).expect("drop");
    if let Err(e) = result {
        panic!("{e}");
    }
}
