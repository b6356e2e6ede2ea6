//! Governance through the queue: proposals, votes, transitive delegation, council, idempotency,
//! rate limits — against the real API, worker, Postgres and Redis.

use std::collections::HashMap;

use coin_tests::{
    Scene, TokenRole as Role, assert_dead_because, batch_refusals, counts, error_fields, header,
    spawn_app, spawn_app_with,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// What these tests do on a scene whose caller is a council member.
trait Governing {
    /// The council member's token.
    fn council(&self) -> &str;
    /// A new member and its token.
    fn member(&self) -> (Uuid, String);
    /// A proposal created and opened by the council member.
    async fn active_proposal(&self, quorum: f64) -> String;
    /// Casts a vote and waits for its job; returns the job's status.
    async fn vote(&self, proposal: &str, token: &str, choice: &str) -> Value;
    /// Delegates (for one proposal or globally) and waits; returns the 202 body and the status.
    async fn delegate(&self, token: &str, to: Uuid, proposal: Option<&str>) -> Value;
    /// The proposal's tally as the API reads it.
    async fn tally(&self, proposal: &str) -> Value;
}

impl Governing for Scene {
    fn council(&self) -> &str {
        &self.token
    }

    fn member(&self) -> (Uuid, String) {
        let id = Uuid::now_v7();
        (id, self.app.token(id, Role::Member))
    }

    async fn active_proposal(&self, quorum: f64) -> String {
        let created = self
            .app
            .applied(
                "/v1/proposals",
                self.council(),
                &json!({"title": "Plant trees", "description": "In the park", "required_quorum": quorum}),
            )
            .await;
        let id = created["proposal_id"].as_str().expect("id").to_owned();
        self.app
            .applied(
                &format!("/v1/proposals/{id}/open"),
                self.council(),
                &json!({}),
            )
            .await;
        id
    }

    async fn vote(&self, proposal: &str, token: &str, choice: &str) -> Value {
        let accepted = self
            .app
            .accepted(
                &format!("/v1/proposals/{proposal}/votes"),
                token,
                &json!({"choice": choice}),
            )
            .await;
        self.app.settled(&accepted).await
    }

    async fn delegate(&self, token: &str, to: Uuid, proposal: Option<&str>) -> Value {
        let accepted = self
            .app
            .accepted(
                "/v1/delegations",
                token,
                &json!({"delegate_id": to, "proposal_id": proposal}),
            )
            .await;
        let status = self.app.settled(&accepted).await;
        json!({"accepted": accepted, "status": status})
    }

    async fn tally(&self, proposal: &str) -> Value {
        self.app
            .get_json(&format!("/v1/proposals/{proposal}"))
            .await["tally"]
            .clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chain_a_b_c_gives_c_weight_three_until_b_votes_itself() {
    let s = Scene::start(Role::Council).await;
    let p = s.active_proposal(0.0).await;
    let (_, a) = s.member();
    let (b_id, b) = s.member();
    let (c_id, c) = s.member();
    s.delegate(&a, b_id, None).await;
    s.delegate(&b, c_id, None).await;
    assert_eq!(s.vote(&p, &c, "FOR").await["state"], "done");

    let t = s.tally(&p).await;
    assert_eq!(
        counts(&t, ["for", "direct_votes", "delegated_weight"]),
        [Some(3), Some(1), Some(2)]
    );

    s.vote(&p, &b, "AGAINST").await;
    let t = s.tally(&p).await;
    assert_eq!(counts(&t, ["for", "against"]), [Some(1), Some(2)]);
    assert_eq!(t["outcome"], "fails");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delegation_that_would_close_a_cycle_is_refused_with_its_reason() {
    let s = Scene::start(Role::Council).await;
    let (a_id, a) = s.member();
    let (b_id, b) = s.member();
    let (c_id, c) = s.member();
    s.delegate(&a, b_id, None).await;
    s.delegate(&b, c_id, None).await;
    let refused = s.delegate(&c, a_id, None).await;
    assert_dead_because(&refused["status"], "cycle");
    assert_eq!(refused["status"]["attempts"], 1);

    let self_delegation = s
        .app
        .post_json("/v1/delegations", Some(&a), &json!({"delegate_id": a_id}))
        .await;
    assert_eq!(self_delegation.status().as_u16(), 422);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_delegation_stops_counting_and_a_proposal_delegation_beats_the_global_one() {
    let s = Scene::start(Role::Council).await;
    let p = s.active_proposal(0.0).await;
    let (_, a) = s.member();
    let (b_id, b) = s.member();
    let (c_id, c) = s.member();
    s.vote(&p, &b, "FOR").await;
    s.vote(&p, &c, "AGAINST").await;

    let global = s.delegate(&a, b_id, None).await;
    assert_eq!(s.tally(&p).await["for"], 2);
    s.delegate(&a, c_id, Some(&p)).await;
    let t = s.tally(&p).await;
    assert_eq!(
        counts(&t, ["for", "against"]),
        [Some(1), Some(2)],
        "the proposal's delegation wins"
    );

    let specific: Value = s.app.get_json("/v1/activity?limit=1").await;
    assert_eq!(specific["items"][0]["action_type"], "DELEGATION_CREATED");
    let delegation_id = global["accepted"]["delegation_id"].as_str().expect("id");
    let revoke = s
        .app
        .client
        .delete(format!("{}/v1/delegations/{delegation_id}", s.app.address))
        .bearer_auth(&a)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoke.status().as_u16(), 202);
    let accepted: Value = revoke.json().await.expect("json");
    assert_eq!(s.app.settled(&accepted).await["state"], "done");
    let t = s.tally(&p).await;
    assert_eq!(counts(&t, ["for", "against"]), [Some(1), Some(2)]);

    // Revoking someone else's delegation is refused.
    let other = s
        .app
        .client
        .delete(format!("{}/v1/delegations/{delegation_id}", s.app.address))
        .bearer_auth(&b)
        .send()
        .await
        .expect("revoke");
    let accepted: Value = other.json().await.expect("json");
    let status = s.app.settled(&accepted).await;
    assert_eq!(status["state"], "dead");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_vote_replaces_the_first_and_votes_after_close_are_refused() {
    let s = Scene::start(Role::Council).await;
    let p = s.active_proposal(0.5).await;
    let (voter, token) = s.member();
    s.vote(&p, &token, "AGAINST").await;
    s.vote(&p, &token, "FOR").await;
    let t = s.tally(&p).await;
    assert_eq!(
        counts(&t, ["for", "against", "direct_votes"]),
        [Some(1), Some(0), Some(1)]
    );

    s.app
        .applied(&format!("/v1/proposals/{p}/close"), s.council(), &json!({}))
        .await;
    let closed = s.app.get_json(&format!("/v1/proposals/{p}")).await;
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["tally"]["for"], 1);
    // Eligible members: the council member, the voter.
    assert_eq!(closed["tally"]["eligible"], 2);
    assert_eq!(closed["tally"]["quorum_reached"], true);
    assert_eq!(closed["tally"]["outcome"], "passes");

    let late = s.vote(&p, &token, "AGAINST").await;
    assert_dead_because(&late, "CLOSED");
    let votes: i64 = sqlx::query_scalar("SELECT count(*) FROM votes WHERE voter_user_id = $1")
        .bind(voter)
        .fetch_one(&s.app.db.pool)
        .await
        .expect("count");
    assert_eq!(votes, 1);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn illegal_transitions_fail_permanently_and_roles_are_enforced() {
    let s = Scene::start(Role::Council).await;
    let p = s.app.proposal(s.council(), "T", "D").await;
    let accepted = s
        .app
        .accepted(&format!("/v1/proposals/{p}/close"), s.council(), &json!({}))
        .await;
    assert_dead_because(&s.app.settled(&accepted).await, "from DRAFT to CLOSED");

    let (_, member) = s.member();
    let forbidden = s
        .app
        .post_json(
            "/v1/proposals",
            Some(&member),
            &json!({"title": "T", "description": "D"}),
        )
        .await;
    assert_eq!(forbidden.status().as_u16(), 403);
    let bad = s
        .app
        .post_json(
            "/v1/proposals",
            Some(s.council()),
            &json!({"title": "x".repeat(256), "description": "D", "required_quorum": 1.5}),
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(error_fields(&body), ["title", "required_quorum"]);

    let service = s.app.token(Uuid::now_v7(), Role::Service);
    let vote = s
        .app
        .post_json(
            &format!("/v1/proposals/{p}/votes"),
            Some(&service),
            &json!({"choice": "FOR"}),
        )
        .await;
    assert_eq!(vote.status().as_u16(), 403, "a service cannot vote");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn council_members_are_added_and_ended_by_operators_only() {
    let s = Scene::start(Role::Council).await;
    let operator = s.app.token(Uuid::now_v7(), Role::Operator);
    let user = Uuid::now_v7();
    let added = s
        .app
        .applied(
            "/v1/council-members",
            &operator,
            &json!({"user_id": user, "role": "CHAIR"}),
        )
        .await;
    let member_id = added["member_id"].as_str().expect("member id");
    s.app
        .applied(
            &format!("/v1/council-members/{member_id}/end"),
            &operator,
            &json!({}),
        )
        .await;
    let (role, ended): (String, bool) = sqlx::query_as(
        "SELECT role::text, end_date IS NOT NULL FROM council_members WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(&s.app.db.pool)
    .await
    .expect("row");
    assert_eq!((role.as_str(), ended), ("CHAIR", true));
    let refused = s
        .app
        .post_json(
            "/v1/council-members",
            Some(s.council()),
            &json!({"user_id": user}),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 403);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repeated_idempotency_key_replays_the_answer_with_one_effect_and_a_changed_body_is_refused()
 {
    let s = Scene::start(Role::Council).await;
    let (user, token) = s.member();
    let post = |body: Value, key: &'static str| {
        let (app, token) = (&s.app, token.clone());
        async move {
            app.client
                .post(format!("{}/v1/goodwill-actions", app.address))
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .expect("response")
        }
    };
    let body =
        json!({"action_type": "cooking", "description": "Soup for neighbours", "loves_value": 12});
    let first = post(body.clone(), "key-1").await;
    assert_eq!(first.status().as_u16(), 202);
    let first: Value = first.json().await.expect("json");
    let again = post(body.clone(), "key-1").await;
    assert_eq!(again.status().as_u16(), 202);
    assert_eq!(header(&again, "idempotent-replayed"), Some("true"));
    let again: Value = again.json().await.expect("json");
    assert_eq!(first, again);
    s.app.settled(&first).await;

    let changed = post(
        json!({"action_type": "cooking", "description": "Soup", "loves_value": 99}),
        "key-1",
    )
    .await;
    assert_eq!(changed.status().as_u16(), 422);

    let balance = s.app.get_json(&format!("/v1/users/{user}/wallet")).await;
    assert_eq!(balance["balance"], 12);
    let user_view = s.app.get_json(&format!("/v1/users/{user}")).await;
    assert_eq!(
        user_view["recent_actions"].as_array().map(Vec::len),
        Some(1)
    );
    s.finish().await;
}

#[tokio::test]
async fn a_caller_over_its_rate_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(|settings| settings.rate_limit_per_minute = 3)
        .await
        .expect("app");
    let token = app.token(Uuid::now_v7(), Role::Member);
    let body = json!({"action_type": "x", "description": "y", "loves_value": 1});
    for _ in 0..3 {
        let ok = app
            .post_json("/v1/goodwill-actions", Some(&token), &body)
            .await;
        assert_eq!(ok.status().as_u16(), 202);
    }
    let limited = app
        .post_json("/v1/goodwill-actions", Some(&token), &body)
        .await;
    assert_eq!(limited.status().as_u16(), 429);
    let retry_after: u64 = header(&limited, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after));
    let other = app.token(Uuid::now_v7(), Role::Member);
    let fine = app
        .post_json("/v1/goodwill-actions", Some(&other), &body)
        .await;
    assert_eq!(fine.status().as_u16(), 202, "limits are per caller");
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_batch_endpoint_answers_per_item_and_enqueues_the_valid_ones() {
    let s = Scene::start(Role::Council).await;
    let service = s.app.token(Uuid::now_v7(), Role::Service);
    let users: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let mut actions: Vec<Value> = (0..200)
        .map(|i| json!({"user_id": users[i % 5], "action_type": "mentoring", "description": "An hour", "loves_value": 2}))
        .collect();
    actions[7] =
        json!({"user_id": users[0], "action_type": "x", "description": "y", "loves_value": 0});
    actions[9] =
        json!({"user_id": users[0], "action_type": "x", "description": "y", "loves_value": "many"});
    let body = s.app.batch(&service, &actions).await;
    assert_eq!(
        counts(&body, ["accepted", "rejected"]),
        [Some(198), Some(2)]
    );
    assert_eq!(
        batch_refusals(&body),
        ["actions[7].loves_value", "actions[9].loves_value"]
    );
    let last = &body["results"][199];
    s.app.settled(last).await;
    coin_tests::wait_for(
        std::time::Duration::from_secs(30),
        "198 actions",
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM goodwill_actions")
                .fetch_one(&s.app.db.pool)
                .await?;
            Ok((n == 198).then_some(()))
        },
    )
    .await
    .expect("all committed");

    let too_many = s
        .app
        .post_json(
            "/v1/goodwill-actions:batch",
            Some(&service),
            &json!({"actions": vec![json!({}); 1001]}),
        )
        .await;
    assert_eq!(too_many.status().as_u16(), 422);
    s.finish().await;
}

#[tokio::test]
async fn the_tally_read_over_http_equals_an_independent_recomputation_for_2000_members() {
    let app = spawn_app().await.expect("app");
    let pool = &app.db.pool;
    let members: Vec<Uuid> = (0..2_000).map(|_| Uuid::new_v4()).collect();
    sqlx::query("INSERT INTO users (id) SELECT unnest($1::uuid[])")
        .bind(&members)
        .execute(pool)
        .await
        .expect("users");
    let proposal = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO proposals (id, title, description, status) VALUES ($1, 't', 'd', 'ACTIVE')",
    )
    .bind(proposal)
    .execute(pool)
    .await
    .expect("proposal");
    // A deterministic pseudo-random graph: each member votes, delegates to a later member
    // (globally or for this proposal), or does nothing.
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let choices = ["FOR", "AGAINST", "ABSTAIN"];
    let mut votes: HashMap<Uuid, &str> = HashMap::new();
    let mut global: HashMap<Uuid, Uuid> = HashMap::new();
    let mut specific: HashMap<Uuid, Uuid> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        let later = |r: usize| members[(i + 1 + r % 40).min(members.len() - 1)];
        match next() % 10 {
            0..=2 => {
                votes.insert(*m, choices[next() % 3]);
            }
            3..=6 if i + 1 < members.len() => {
                global.insert(*m, later(next()));
            }
            7..=8 if i + 1 < members.len() => {
                specific.insert(*m, later(next()));
                if next() % 2 == 0 {
                    global.insert(*m, later(next()));
                }
            }
            _ => {}
        }
    }
    for (voter, choice) in &votes {
        sqlx::query("INSERT INTO votes (id, proposal_id, voter_user_id, vote_value) VALUES ($1, $2, $3, $4::vote_value)")
            .bind(Uuid::now_v7()).bind(proposal).bind(voter).bind(*choice)
            .execute(pool).await.expect("vote");
    }
    for (scope, edges) in [(None, &global), (Some(proposal), &specific)] {
        for (from, to) in edges {
            sqlx::query("INSERT INTO delegations (id, delegator_user_id, delegate_user_id, proposal_id) VALUES ($1, $2, $3, $4)")
                .bind(Uuid::now_v7()).bind(from).bind(to).bind(scope)
                .execute(pool).await.expect("delegation");
        }
    }

    // Independent recomputation: every member walks its own chain hop by hop.
    let effective = |m: &Uuid| specific.get(m).or_else(|| global.get(m)).copied();
    let mut expected: HashMap<&str, u64> = HashMap::new();
    for m in &members {
        let mut cur = *m;
        for _ in 0..=members.len() {
            if let Some(choice) = votes.get(&cur) {
                *expected.entry(choice).or_default() += 1;
                break;
            }
            match effective(&cur) {
                Some(next) => cur = next,
                None => break,
            }
        }
    }

    let tally = app.get_json(&format!("/v1/proposals/{proposal}")).await["tally"].clone();
    assert_eq!(
        tally["for"].as_u64().unwrap_or_default(),
        expected.get("FOR").copied().unwrap_or(0)
    );
    assert_eq!(
        tally["against"].as_u64().unwrap_or_default(),
        expected.get("AGAINST").copied().unwrap_or(0)
    );
    assert_eq!(
        tally["abstain"].as_u64().unwrap_or_default(),
        expected.get("ABSTAIN").copied().unwrap_or(0)
    );
    assert_eq!(tally["direct_votes"].as_u64(), Some(votes.len() as u64));
    assert_eq!(tally["eligible"], 2_000);
    app.teardown().await.expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proposals_are_listed_newest_first_with_their_tallies_and_pages() {
    let s = Scene::start(Role::Council).await;
    for title in ["first", "second", "third"] {
        s.app
            .applied(
                "/v1/proposals",
                s.council(),
                &json!({"title": title, "description": "d"}),
            )
            .await;
    }
    let page = s.app.get_json("/v1/proposals?limit=2").await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert_eq!(titles, ["third", "second"]);
    assert_eq!(page["items"][0]["tally"]["direct_votes"], 0);
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let rest = s
        .app
        .get_json(&format!("/v1/proposals?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["items"][0]["title"], "first");
    assert!(rest["next_cursor"].is_null());
    assert_eq!(
        s.app.get("/v1/proposals?limit=0").await.status().as_u16(),
        422
    );
    assert_eq!(
        s.app
            .get("/v1/proposals?status=bogus")
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(
        s.app.get("/v1/proposals?limit=abc").await.status().as_u16(),
        400
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_counted_vote_delivered_again_after_the_close_changes_nothing_and_does_not_die() {
    let s = Scene::start(Role::Council).await;
    let proposal = s.active_proposal(0.0).await;
    let (voter, token) = s.member();
    let accepted = s
        .app
        .applied(
            &format!("/v1/proposals/{proposal}/votes"),
            &token,
            &json!({"choice": "FOR"}),
        )
        .await;
    let vote_id: Uuid = accepted["vote_id"]
        .as_str()
        .expect("vote_id")
        .parse()
        .expect("uuid");
    let (cast_at,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT cast_at FROM votes WHERE id = $1")
            .bind(vote_id)
            .fetch_one(&s.app.db.pool)
            .await
            .expect("the vote is stored");
    s.app
        .applied(
            &format!("/v1/proposals/{proposal}/close"),
            s.council(),
            &json!({}),
        )
        .await;
    // The same job once more, as an Idempotency-Key retry pushes it after its record expired.
    let again = coin_shared::jobs::CastVote {
        vote_id,
        proposal_id: proposal.parse().expect("uuid"),
        voter_id: voter,
        choice: coin_shared::jobs::Choice::For,
        rationale: None,
        cast_at,
    };
    let job = s.app.queue.enqueue(&again).await.expect("enqueue");
    let status = s
        .app
        .settled(&json!({"status_url": format!("/v1/jobs/{job}")}))
        .await;
    assert_eq!(status["state"], "done", "{status}");
    let audits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action_type = 'VOTE_CAST'")
            .fetch_one(&s.app.db.pool)
            .await
            .expect("count");
    assert_eq!(audits, 1, "one vote, one audit row");
    s.finish().await;
}
