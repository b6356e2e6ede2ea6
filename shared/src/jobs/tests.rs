//! The governance commands' wire format: one struct per command inside the internally tagged
//! enum serializes exactly as the former struct variants did (the API and the worker of two
//! releases share the queue while a deploy rolls).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::webhooks::WebhookSecret;

const A: &str = "0190a3b2-0000-7000-8000-00000000000a";
const B: &str = "0190a3b2-0000-7000-8000-00000000000b";
const C: &str = "0190a3b2-0000-7000-8000-00000000000c";
const D: &str = "0190a3b2-0000-7000-8000-00000000000d";

fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("a uuid literal")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 literal")
        .with_timezone(&Utc)
}

/// Every command, with the JSON the struct-variant enum produced for it (written out by hand:
/// the old shape, not whatever the new code emits).
fn cases() -> Vec<(Governance, Value)> {
    vec![
        (
            Governance::CreateProposal(CreateProposal {
                proposal_id: id(A),
                title: "T".into(),
                description: "D".into(),
                vote_start_time: at("2026-01-01T00:00:00Z"),
                vote_end_time: at("2026-01-08T00:00:00.5Z"),
                required_quorum: 0.25,
                proposer_id: id(B),
            }),
            json!({
                "command": "create_proposal",
                "proposal_id": A,
                "title": "T",
                "description": "D",
                "vote_start_time": "2026-01-01T00:00:00Z",
                "vote_end_time": "2026-01-08T00:00:00.500Z",
                "required_quorum": 0.25,
                "proposer_id": B,
            }),
        ),
        (
            Governance::TransitionProposal(TransitionProposal {
                command_id: id(A),
                proposal_id: id(B),
                transition: Transition::Close,
                requested_by: id(C),
            }),
            json!({
                "command": "transition_proposal",
                "command_id": A,
                "proposal_id": B,
                "transition": "close",
                "requested_by": C,
            }),
        ),
        (
            Governance::CreateDelegation(CreateDelegation {
                delegation_id: id(A),
                delegator_id: id(B),
                delegate_id: id(C),
                proposal_id: None,
            }),
            json!({
                "command": "create_delegation",
                "delegation_id": A,
                "delegator_id": B,
                "delegate_id": C,
                "proposal_id": null,
            }),
        ),
        (
            Governance::CreateDelegation(CreateDelegation {
                delegation_id: id(A),
                delegator_id: id(B),
                delegate_id: id(C),
                proposal_id: Some(id(D)),
            }),
            json!({
                "command": "create_delegation",
                "delegation_id": A,
                "delegator_id": B,
                "delegate_id": C,
                "proposal_id": D,
            }),
        ),
        (
            Governance::RevokeDelegation(RevokeDelegation {
                command_id: id(A),
                delegation_id: id(B),
                requested_by: id(C),
            }),
            json!({
                "command": "revoke_delegation",
                "command_id": A,
                "delegation_id": B,
                "requested_by": C,
            }),
        ),
        (
            Governance::AddCouncilMember(AddCouncilMember {
                member_id: id(A),
                user_id: id(B),
                role: CouncilRole::Chair,
                start_date: at("2026-01-01T00:00:00Z"),
                end_date: Some(at("2027-01-01T00:00:00Z")),
                requested_by: id(C),
            }),
            json!({
                "command": "add_council_member",
                "member_id": A,
                "user_id": B,
                "role": "CHAIR",
                "start_date": "2026-01-01T00:00:00Z",
                "end_date": "2027-01-01T00:00:00Z",
                "requested_by": C,
            }),
        ),
        (
            Governance::RegisterWebhookEndpoint(RegisterWebhookEndpoint {
                endpoint_id: id(A),
                url: "https://example.org/hook".into(),
                event_types: vec!["vote.cast".into(), "proposal.closed".into()],
                secret: WebhookSecret::new("whsec_c2VjcmV0"),
                requested_by: id(B),
            }),
            json!({
                "command": "register_webhook_endpoint",
                "endpoint_id": A,
                "url": "https://example.org/hook",
                "event_types": ["vote.cast", "proposal.closed"],
                "secret": "whsec_c2VjcmV0",
                "requested_by": B,
            }),
        ),
        (
            Governance::EndCouncilMembership(EndCouncilMembership {
                command_id: id(A),
                member_id: id(B),
                end_date: at("2026-06-30T12:00:00Z"),
                requested_by: id(C),
            }),
            json!({
                "command": "end_council_membership",
                "command_id": A,
                "member_id": B,
                "end_date": "2026-06-30T12:00:00Z",
                "requested_by": C,
            }),
        ),
    ]
}

#[test]
fn every_governance_command_keeps_its_json_shape() -> Result<(), serde_json::Error> {
    for (command, old) in cases() {
        assert_eq!(serde_json::to_value(&command)?, old, "{}", command.name());
        assert_eq!(old["command"], command.name());
        // What a producer of the old shape wrote, this release reads (and vice versa).
        let read: Governance = serde_json::from_value(old.clone())?;
        assert_eq!(
            serde_json::to_value(&read)?,
            old,
            "{} round trip",
            command.name()
        );
    }
    Ok(())
}

#[test]
fn every_command_is_covered() {
    let mut names: Vec<&str> = cases().iter().map(|(c, _)| c.name()).collect();
    names.dedup();
    assert_eq!(names.len(), 7, "{names:?}");
}
