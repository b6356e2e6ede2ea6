//! Table tests of every rule of every payload, including chrono's extremes and NUL.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::*;
use crate::{
    domain::{ACTION_TYPE_MAX_CHARS, CONTEXT_MAX_BYTES, DESCRIPTION_MAX_CHARS},
    jobs::{Choice, CouncilRole, Transition},
    webhooks::WebhookSecret,
};

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or_else(|| panic!("{year}-{month}-{day} is a date"))
}

fn now() -> DateTime<Utc> {
    at(2026, 5, 1)
}

/// The fields `validate` names, in order.
fn fields(job: &impl Validate) -> Vec<String> {
    job.validate().into_iter().map(|e| e.field).collect()
}

/// Instants and whether every timestamp field accepts them.
fn extremes() -> Vec<(&'static str, DateTime<Utc>, bool)> {
    vec![
        ("chrono MIN_UTC", DateTime::<Utc>::MIN_UTC, false),
        ("chrono MAX_UTC", DateTime::<Utc>::MAX_UTC, false),
        ("year -5000", at(-5000, 1, 1), false),
        (
            "-4713-11-23 (a day before Postgres)",
            at(-4713, 11, 23),
            false,
        ),
        (
            "a microsecond before Postgres",
            EARLIEST_TIMESTAMP - Duration::microseconds(1),
            false,
        ),
        ("-4713-11-24 (Postgres' first day)", at(-4713, 11, 24), true),
        ("year 1", at(1, 1, 1), true),
        ("now", now(), true),
        ("9999-12-31T23:59:59.999999", LATEST_TIMESTAMP, true),
        ("year 10000", at(10_000, 1, 1), false),
        ("+262142-12-31", at(262_142, 12, 31), false),
    ]
}

fn goodwill() -> RecordGoodwill {
    RecordGoodwill {
        action_id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
        action_type: "volunteering".into(),
        description: "Helped at the food bank".into(),
        loves_value: 10,
        occurred_at: now(),
        context: serde_json::Map::new(),
        requested_by: Uuid::now_v7(),
        requested_at: now(),
    }
}

fn vote() -> CastVote {
    CastVote {
        vote_id: Uuid::now_v7(),
        proposal_id: Uuid::now_v7(),
        voter_id: Uuid::now_v7(),
        choice: Choice::For,
        rationale: Some("Because".into()),
        cast_at: now(),
    }
}

fn proposal(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    title: &str,
    description: &str,
    quorum: f64,
) -> Governance {
    Governance::CreateProposal(CreateProposal {
        proposal_id: Uuid::now_v7(),
        title: title.into(),
        description: description.into(),
        vote_start_time: start,
        vote_end_time: end,
        required_quorum: quorum,
        proposer_id: Uuid::now_v7(),
    })
}

fn member(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Governance {
    Governance::AddCouncilMember(AddCouncilMember {
        member_id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
        role: CouncilRole::Member,
        start_date: start,
        end_date: end,
        requested_by: Uuid::now_v7(),
    })
}

fn endpoint(url: &str, event_types: &[&str]) -> Governance {
    Governance::RegisterWebhookEndpoint(RegisterWebhookEndpoint {
        endpoint_id: Uuid::now_v7(),
        url: url.into(),
        event_types: event_types.iter().map(|t| (*t).to_owned()).collect(),
        secret: WebhookSecret::generate(),
        requested_by: Uuid::now_v7(),
    })
}

#[test]
fn check_timestamp_accepts_exactly_what_postgres_stores_up_to_year_9999() {
    for (name, value, ok) in extremes() {
        assert_eq!(check_timestamp("t", value).is_none(), ok, "{name}");
    }
}

#[test]
fn every_timestamp_field_of_every_payload_applies_the_range() {
    for (name, value, ok) in extremes() {
        let expect = |job: &dyn Fn() -> Vec<String>, field: &str| {
            let got = job();
            assert_eq!(
                !got.iter().any(|f| f == field),
                ok,
                "{name}: {field}: {got:?}"
            );
        };
        // Judged at its own acceptance time, so `occurred_at` is not in the future.
        let goodwill = fields(&RecordGoodwill {
            occurred_at: value,
            requested_at: value,
            ..goodwill()
        });
        for field in ["occurred_at", "requested_at"] {
            expect(&|| goodwill.clone(), field);
        }
        expect(
            &|| {
                fields(&CastVote {
                    cast_at: value,
                    ..vote()
                })
            },
            "cast_at",
        );
        let before = value.checked_sub_signed(Duration::days(1));
        let after = value.checked_add_signed(Duration::days(1));
        expect(
            &|| {
                let start = before.unwrap_or(DateTime::<Utc>::MIN_UTC);
                fields(&proposal(start, value, "T", "D", 0.5))
                    .into_iter()
                    .filter(|f| f != "vote_start_time")
                    .collect()
            },
            "vote_end_time",
        );
        expect(
            &|| {
                let end = after.unwrap_or(DateTime::<Utc>::MAX_UTC);
                fields(&proposal(value, end, "T", "D", 0.5))
            },
            "vote_start_time",
        );
        expect(&|| fields(&member(value, None)), "start_date");
        expect(
            &|| {
                let start = before.unwrap_or(DateTime::<Utc>::MIN_UTC);
                fields(&member(start, Some(value)))
                    .into_iter()
                    .filter(|f| f != "start_date")
                    .collect()
            },
            "end_date",
        );
        expect(
            &|| {
                fields(&Governance::EndCouncilMembership(EndCouncilMembership {
                    command_id: Uuid::now_v7(),
                    member_id: Uuid::now_v7(),
                    end_date: value,
                    requested_by: Uuid::now_v7(),
                }))
            },
            "end_date",
        );
    }
}

#[test]
fn nul_is_refused_in_every_text() {
    let nul = "a\0b";
    let mut context = serde_json::Map::new();
    context.insert("k\0".into(), serde_json::json!(1));
    let mut nested = serde_json::Map::new();
    nested.insert("k".into(), serde_json::json!([{"deep": "x\u{0}"}]));
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "action_type",
            fields(&RecordGoodwill {
                action_type: nul.into(),
                ..goodwill()
            }),
            "action_type",
        ),
        (
            "description",
            fields(&RecordGoodwill {
                description: nul.into(),
                ..goodwill()
            }),
            "description",
        ),
        (
            "context key",
            fields(&RecordGoodwill {
                context,
                ..goodwill()
            }),
            "contextual_data",
        ),
        (
            "nested context value",
            fields(&RecordGoodwill {
                context: nested,
                ..goodwill()
            }),
            "contextual_data",
        ),
        (
            "rationale",
            fields(&CastVote {
                rationale: Some(nul.into()),
                ..vote()
            }),
            "rationale",
        ),
        (
            "title",
            fields(&proposal(now(), now() + Duration::days(1), nul, "D", 0.0)),
            "title",
        ),
        (
            "proposal description",
            fields(&proposal(now(), now() + Duration::days(1), "T", nul, 0.0)),
            "description",
        ),
        (
            "url",
            fields(&endpoint("https://example.org/\0", &["vote.cast"])),
            "url",
        ),
        (
            "event type",
            fields(&endpoint("https://example.org/", &["vote.cast\0"])),
            "event_types",
        ),
    ];
    for (name, got, field) in cases {
        assert_eq!(got, [field], "{name}");
    }
}

#[test]
fn valid_payloads_of_every_kind_break_no_rule() {
    let id = Uuid::now_v7();
    let jobs: Vec<Box<dyn Validate>> = vec![
        Box::new(goodwill()),
        Box::new(vote()),
        Box::new(CastVote {
            rationale: None,
            ..vote()
        }),
        Box::new(proposal(now(), now() + Duration::days(7), "T", "D", 1.0)),
        Box::new(Governance::TransitionProposal(TransitionProposal {
            command_id: id,
            proposal_id: id,
            transition: Transition::Close,
            requested_by: id,
        })),
        Box::new(Governance::CreateDelegation(CreateDelegation {
            delegation_id: id,
            delegator_id: id,
            delegate_id: Uuid::now_v7(),
            proposal_id: None,
        })),
        Box::new(Governance::RevokeDelegation(RevokeDelegation {
            command_id: id,
            delegation_id: id,
            requested_by: id,
        })),
        Box::new(member(now(), None)),
        Box::new(member(now(), Some(now() + Duration::microseconds(1)))),
        Box::new(endpoint(
            "http://127.0.0.1:9/hook",
            &["vote.cast", "goodwill.recorded"],
        )),
        Box::new(Governance::EndCouncilMembership(EndCouncilMembership {
            command_id: id,
            member_id: id,
            end_date: now(),
            requested_by: id,
        })),
    ];
    for job in jobs {
        assert!(job.validate().is_empty(), "{:?}", job.validate());
    }
}

#[test]
fn lengths_follow_the_columns() {
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        (
            "action_type at its limit",
            fields(&RecordGoodwill {
                action_type: "x".repeat(ACTION_TYPE_MAX_CHARS),
                ..goodwill()
            }),
            vec![],
        ),
        (
            "action_type over, counted as stored (untrimmed)",
            fields(&RecordGoodwill {
                action_type: format!(" {}", "x".repeat(ACTION_TYPE_MAX_CHARS)),
                ..goodwill()
            }),
            vec!["action_type"],
        ),
        (
            "goodwill description over",
            fields(&RecordGoodwill {
                description: "é".repeat(DESCRIPTION_MAX_CHARS + 1),
                ..goodwill()
            }),
            vec!["description"],
        ),
        (
            "context over",
            fields(&RecordGoodwill {
                context: [(
                    "k".to_owned(),
                    serde_json::json!("v".repeat(CONTEXT_MAX_BYTES)),
                )]
                .into_iter()
                .collect(),
                ..goodwill()
            }),
            vec!["contextual_data"],
        ),
        (
            "rationale at its limit",
            fields(&CastVote {
                rationale: Some("r".repeat(RATIONALE_MAX_CHARS)),
                ..vote()
            }),
            vec![],
        ),
        (
            "rationale over",
            fields(&CastVote {
                rationale: Some("r".repeat(RATIONALE_MAX_CHARS + 1)),
                ..vote()
            }),
            vec!["rationale"],
        ),
        (
            "title of 255 multi-byte characters fits varchar(255)",
            fields(&proposal(
                now(),
                now() + Duration::days(1),
                &"ü".repeat(TITLE_MAX_CHARS),
                "D",
                0.0,
            )),
            vec![],
        ),
        (
            "title over, blank description",
            fields(&proposal(
                now(),
                now() + Duration::days(1),
                &"t".repeat(TITLE_MAX_CHARS + 1),
                "  ",
                0.0,
            )),
            vec!["title", "description"],
        ),
        (
            "proposal description over",
            fields(&proposal(
                now(),
                now() + Duration::days(1),
                "T",
                &"d".repeat(PROPOSAL_DESCRIPTION_MAX_CHARS + 1),
                0.0,
            )),
            vec!["description"],
        ),
        (
            "url over",
            fields(&endpoint(
                &format!("https://example.org/{}", "p".repeat(URL_MAX_BYTES)),
                &["vote.cast"],
            )),
            vec!["url"],
        ),
    ];
    for (name, got, want) in cases {
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn numbers_stay_in_their_ranges() {
    for (loves, ok) in [
        (i32::MIN, false),
        (-1, false),
        (0, false),
        (1, true),
        (100, true),
        (101, false),
        (i32::MAX, false),
    ] {
        let got = fields(&RecordGoodwill {
            loves_value: loves,
            ..goodwill()
        });
        assert_eq!(got.is_empty(), ok, "loves_value {loves}: {got:?}");
    }
    for (quorum, ok) in [
        (f64::NAN, false),
        (-f64::NAN, false),
        (f64::INFINITY, false),
        (f64::NEG_INFINITY, false),
        (f64::MAX, false),
        (f64::MIN, false),
        (-f64::MIN_POSITIVE, false),
        (1.0 + f64::EPSILON, false),
        (-0.0, true),
        (0.0, true),
        (f64::MIN_POSITIVE, true),
        (0.5, true),
        (1.0, true),
    ] {
        let got = fields(&proposal(
            now(),
            now() + Duration::days(1),
            "T",
            "D",
            quorum,
        ));
        assert_eq!(got.is_empty(), ok, "quorum {quorum}: {got:?}");
        if !ok {
            assert_eq!(got, ["required_quorum"]);
        }
    }
}

#[test]
fn an_end_must_follow_its_start_at_the_precision_postgres_stores() {
    let start = now();
    let cases = [
        ("a day later", start + Duration::days(1), true),
        (
            "a microsecond later",
            start + Duration::microseconds(1),
            true,
        ),
        ("the same instant", start, false),
        ("earlier", start - Duration::days(1), false),
        // Distinct for chrono, equal for Postgres (which keeps microseconds).
        ("500 ns later", start + Duration::nanoseconds(500), false),
    ];
    for (name, end, ok) in cases {
        let got = fields(&proposal(start, end, "T", "D", 0.0));
        assert_eq!(got.is_empty(), ok, "proposal, {name}: {got:?}");
        if !ok {
            assert_eq!(got, ["vote_end_time"]);
        }
        let got = fields(&member(start, Some(end)));
        assert_eq!(got.is_empty(), ok, "membership, {name}: {got:?}");
        if !ok {
            assert_eq!(got, ["end_date"]);
        }
    }
    // Before 2000 (negative offsets from Postgres' epoch) too.
    let old = at(1900, 1, 1) + Duration::nanoseconds(200);
    assert_eq!(
        fields(&proposal(
            old,
            old + Duration::nanoseconds(500),
            "T",
            "D",
            0.0
        )),
        ["vote_end_time"]
    );
}

#[test]
fn self_delegation_is_refused() {
    let id = Uuid::now_v7();
    let job = Governance::CreateDelegation(CreateDelegation {
        delegation_id: Uuid::now_v7(),
        delegator_id: id,
        delegate_id: id,
        proposal_id: None,
    });
    let errors = job.validate();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "delegate_id");
    assert_eq!(errors[0].message, "a member cannot delegate to itself");
}

#[test]
fn webhook_urls_and_event_types_match_the_table_checks() {
    let cases: Vec<(&str, &[&str], Vec<&str>)> = vec![
        ("https://example.org/hook", &["vote.cast"], vec![]),
        ("http://127.0.0.1:9/hook", &["proposal.closed"], vec![]),
        // The column's CHECK is `url ~ '^https?://'`: case-sensitive.
        ("HTTPS://example.org/hook", &["vote.cast"], vec!["url"]),
        ("ftp://example.org", &["vote.cast"], vec!["url"]),
        ("https://", &["vote.cast"], vec!["url"]),
        ("example.org", &["vote.cast"], vec!["url"]),
        ("https://exa mple.org", &["vote.cast"], vec!["url"]),
        ("https://example.org/\n", &["vote.cast"], vec!["url"]),
        ("", &[], vec!["url", "event_types"]),
        (
            "https://example.org",
            &["vote.cast", "nope", "VOTE.CAST"],
            vec!["event_types", "event_types"],
        ),
    ];
    for (url, types, want) in cases {
        assert_eq!(fields(&endpoint(url, types)), want, "{url:?} {types:?}");
    }
    let no_secret = Governance::RegisterWebhookEndpoint(RegisterWebhookEndpoint {
        endpoint_id: Uuid::now_v7(),
        url: "https://example.org".into(),
        event_types: vec!["vote.cast".into()],
        secret: WebhookSecret::new("whsec_\0"),
        requested_by: Uuid::now_v7(),
    });
    assert_eq!(fields(&no_secret), ["secret"]);
}

#[test]
fn goodwill_judges_the_future_at_its_acceptance_time_without_overflowing() {
    // `requested_at + 300 s` would overflow at chrono's end: it must not panic.
    let job = RecordGoodwill {
        occurred_at: DateTime::<Utc>::MAX_UTC,
        requested_at: DateTime::<Utc>::MAX_UTC,
        ..goodwill()
    };
    assert_eq!(fields(&job), ["occurred_at", "requested_at"]);
    let ahead = RecordGoodwill {
        occurred_at: now() + Duration::seconds(301),
        ..goodwill()
    };
    assert_eq!(fields(&ahead), ["occurred_at"]);
}

#[test]
fn stored_rounds_down_to_whole_microseconds() {
    let t = now() + Duration::nanoseconds(1_999);
    assert_eq!(stored(t), now() + Duration::microseconds(1));
    let old = at(1900, 1, 1) - Duration::nanoseconds(1);
    assert_eq!(stored(old), at(1900, 1, 1) - Duration::microseconds(1));
}
