//! The shared token verifier against tokens signed with real RS256, ES256 and EdDSA keys
//! (`coin_tests::jwks`), their public halves served as a key set from a file and over HTTP on
//! loopback: what is accepted, each refusal, and a rotation without a restart.

use std::sync::{Arc, RwLock};

use chrono::Utc;
use coin_shared::identity::{IdentityError, IdentitySettings, TokenIssuer, Verifier};
use coin_tests::jwks::{KeyFile, claims, key, key_set, sign};
use jsonwebtoken::{Algorithm, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = "identity-test-secret-0123456789";

/// Whether a refusal is the one a case expects.
type Expected = fn(&IdentityError) -> bool;

fn settings(file: &KeyFile) -> IdentitySettings {
    IdentitySettings {
        jwt_jwks_path: Some(file.0.clone()),
        jwt_issuer: Some(coin_tests::jwks::ISSUER.into()),
        jwt_audience: Some(coin_tests::jwks::AUDIENCE.into()),
        ..IdentitySettings::secret(SecretString::from(SECRET.to_owned()))
    }
}

#[tokio::test]
async fn tokens_signed_by_each_kind_of_key_in_the_set_are_accepted() {
    let file = KeyFile::new(&[key("rsa-1"), key("ec-1"), key("ed-1")]);
    let verifier = Verifier::new(&settings(&file)).expect("verifier");
    for key in [key("rsa-1"), key("ec-1"), key("ed-1")] {
        let sub = Uuid::now_v7();
        let token = sign(&key, &claims(json!({ "sub": sub, "role": "council" })));
        let identity = verifier.verify(&token).await.unwrap_or_else(|e| {
            panic!("{:?} token refused: {e}", key.alg);
        });
        assert_eq!(identity.subject, sub);
        assert_eq!(identity.roles, vec!["council".to_owned()]);
    }
}

#[tokio::test]
async fn every_broken_rule_is_refused_with_its_reason() {
    let file = KeyFile::new(&[key("rsa-1"), key("ec-1")]);
    let verifier = Verifier::new(&settings(&file)).expect("verifier");
    let now = Utc::now().timestamp();
    let forged = {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("ec-1".into());
        jsonwebtoken::encode(&header, &claims(json!({})), &key("rsa-1").key).expect("sign")
    };
    let unsigned = {
        let b64 = |v: &Value| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&claims(json!({})))
        )
    };
    let signed = |extra: Value| sign(&key("rsa-1"), &claims(extra));
    let rejected: Expected = |e| matches!(e, IdentityError::Rejected(_));
    let too_long: Expected = |e| matches!(e, IdentityError::LifetimeTooLong { .. });
    let cases: Vec<(&str, String, Expected)> = vec![
        (
            "wrong audience",
            signed(json!({ "aud": "someone-else" })),
            rejected,
        ),
        (
            "wrong issuer",
            signed(json!({ "iss": "https://evil.example" })),
            rejected,
        ),
        (
            "no issuer while one is required",
            signed(json!({ "iss": null })),
            rejected,
        ),
        (
            "not valid for another hour",
            signed(json!({ "nbf": now + 3_600 })),
            rejected,
        ),
        (
            "expired",
            signed(json!({ "iat": now - 7_200, "exp": now - 3_600 })),
            rejected,
        ),
        (
            "valid until 2500",
            signed(json!({ "exp": 16_725_225_600_i64 })),
            too_long,
        ),
        (
            "two days, no iat",
            signed(json!({ "iat": null, "exp": now + 172_800 })),
            too_long,
        ),
        (
            "a subject not a user id",
            signed(json!({ "sub": "alice" })),
            |e| matches!(e, IdentityError::BadSubject),
        ),
        ("no role", signed(json!({ "role": null })), |e| {
            matches!(e, IdentityError::MissingRole(_))
        }),
        (
            "an unknown key",
            sign(&key("rsa-2").renamed("not-in-the-set"), &claims(json!({}))),
            |e| matches!(e, IdentityError::UnknownKey(k) if k == "not-in-the-set"),
        ),
        (
            "signed by another key than it names",
            sign(&key("rsa-2").renamed("rsa-1"), &claims(json!({}))),
            rejected,
        ),
        ("alg none", unsigned, |e| {
            matches!(
                e,
                IdentityError::Malformed(_) | IdentityError::AlgorithmNotAccepted(_)
            )
        }),
        ("an RS256 token naming the EC key", forged, |e| {
            matches!(e, IdentityError::AlgorithmMismatch { .. })
        }),
    ];
    for (name, token, expected) in cases {
        match verifier.verify(&token).await {
            Ok(identity) => panic!("{name}: accepted as {identity:?}"),
            Err(e) => assert!(expected(&e), "{name}: refused for another reason: {e}"),
        }
    }
}

#[tokio::test]
async fn the_development_secret_and_a_key_set_work_alone_or_together() {
    let file = KeyFile::new(&[key("rsa-1")]);
    let secret = SecretString::from(SECRET.to_owned());
    let dev = TokenIssuer::new(&secret)
        .expect("issuer")
        .issue(Uuid::now_v7(), "operator", chrono::Duration::hours(1))
        .expect("sign");
    let issuer_token = sign(&key("rsa-1"), &claims(json!({ "iss": null, "aud": null })));

    let secret_only = Verifier::new(&IdentitySettings::secret(secret.clone())).expect("verifier");
    assert_eq!(
        secret_only.verify(&dev).await.expect("dev token").roles,
        vec!["operator".to_owned()]
    );
    assert!(matches!(
        secret_only.verify(&issuer_token).await,
        Err(IdentityError::AlgorithmNotAccepted(Algorithm::RS256))
    ));

    let set_only = Verifier::new(&IdentitySettings {
        jwt_secret: None,
        jwt_jwks_path: Some(file.0.clone()),
        ..IdentitySettings::secret(secret.clone())
    })
    .expect("verifier");
    assert!(set_only.verify(&issuer_token).await.is_ok());
    assert!(matches!(
        set_only.verify(&dev).await,
        Err(IdentityError::AlgorithmNotAccepted(Algorithm::HS256))
    ));

    let both = Verifier::new(&IdentitySettings {
        jwt_jwks_path: Some(file.0.clone()),
        ..IdentitySettings::secret(secret)
    })
    .expect("verifier");
    assert!(both.verify(&dev).await.is_ok());
    assert!(both.verify(&issuer_token).await.is_ok());
}

#[tokio::test]
async fn the_role_can_come_from_a_nested_claim_holding_a_list() {
    let file = KeyFile::new(&[key("ed-1")]);
    let verifier = Verifier::new(&IdentitySettings {
        jwt_role_claim: "realm_access.roles".into(),
        ..settings(&file)
    })
    .expect("verifier");
    let token = sign(
        &key("ed-1"),
        &claims(json!({ "role": null, "realm_access": { "roles": ["offline", "operator"] } })),
    );
    let identity = verifier.verify(&token).await.expect("accepted");
    assert_eq!(
        identity.roles,
        vec!["offline".to_owned(), "operator".to_owned()]
    );
}

#[tokio::test]
async fn a_rotated_key_in_the_file_is_accepted_without_a_new_verifier() {
    let file = KeyFile::new(&[key("rsa-1")]);
    let verifier = Verifier::new(&settings(&file)).expect("verifier");
    assert!(
        verifier
            .verify(&sign(&key("rsa-1"), &claims(json!({}))))
            .await
            .is_ok()
    );
    file.write(&[key("rsa-2")]);
    let rotated = sign(&key("rsa-2"), &claims(json!({})));
    assert!(verifier.verify(&rotated).await.is_ok(), "the new key");
    // Made-up key ids read the set at most once per MIN_REFETCH: a key added right after an
    // unknown one read it is not seen yet.
    let third = key("rsa-1").renamed("rsa-3");
    assert!(matches!(
        verifier.verify(&sign(&third, &claims(json!({})))).await,
        Err(IdentityError::UnknownKey(_))
    ));
    file.write(&[key("rsa-2"), key("rsa-1").renamed("rsa-3")]);
    assert!(matches!(
        verifier.verify(&sign(&third, &claims(json!({})))).await,
        Err(IdentityError::UnknownKey(_))
    ));
}

#[tokio::test]
async fn a_key_set_served_over_http_is_fetched_and_rotated_without_a_restart() {
    let served = Arc::new(RwLock::new(key_set(&[key("rsa-1")])));
    let body = served.clone();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let body = body.read().map(|b| b.clone()).unwrap_or_default();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let verifier = Verifier::new(&IdentitySettings {
        jwt_secret: None,
        jwt_jwks_url: Some(format!("http://{addr}/jwks.json")),
        ..IdentitySettings::secret(SecretString::from(SECRET.to_owned()))
    })
    .expect("verifier");
    assert_eq!(
        verifier
            .key_set()
            .expect("a key set")
            .refresh()
            .await
            .expect("read"),
        1
    );
    assert!(
        verifier
            .verify(&sign(&key("rsa-1"), &claims(json!({}))))
            .await
            .is_ok()
    );
    if let Ok(mut body) = served.write() {
        *body = key_set(&[key("rsa-2")]);
    }
    assert!(
        verifier
            .verify(&sign(&key("rsa-2"), &claims(json!({}))))
            .await
            .is_ok()
    );
    server.abort();
}

#[tokio::test]
async fn a_key_set_that_cannot_be_read_is_named_as_the_reason_not_an_unknown_key() {
    let missing = std::env::temp_dir().join(format!("coin-jwks-missing-{}.json", Uuid::now_v7()));
    let verifier = Verifier::new(&IdentitySettings {
        jwt_secret: None,
        jwt_jwks_path: Some(missing),
        ..IdentitySettings::secret(SecretString::from(SECRET.to_owned()))
    })
    .expect("verifier");
    let token = sign(&key("rsa-1"), &claims(json!({})));
    for attempt in ["the first read", "a retry within MIN_REFETCH"] {
        assert!(
            matches!(
                verifier.verify(&token).await,
                Err(IdentityError::KeySetUnavailable(_))
            ),
            "{attempt}"
        );
    }
}

#[test]
fn settings_that_cannot_verify_anything_are_refused() {
    let none = IdentitySettings {
        jwt_secret: None,
        ..IdentitySettings::secret(SecretString::from(SECRET.to_owned()))
    };
    assert!(Verifier::new(&none).is_err());
    assert!(
        Verifier::new(&IdentitySettings::secret(SecretString::from(
            "short".to_owned()
        )))
        .is_err()
    );
    assert!(
        Verifier::new(&IdentitySettings {
            jwt_jwks_url: Some("ftp://id.example/jwks".into()),
            ..none.clone()
        })
        .is_err()
    );
    assert!(
        Verifier::new(&IdentitySettings {
            jwt_jwks_url: Some("https://id.example/jwks".into()),
            jwt_jwks_path: Some("/etc/jwks.json".into()),
            ..none
        })
        .is_err()
    );
}
