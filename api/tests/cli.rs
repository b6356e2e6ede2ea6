//! The `coin-api` command line: `token` prints a JWT the API accepts; bad input is a clear error.

use std::process::Command;

use coin_shared::identity::{IdentitySettings, Verifier};
use secrecy::SecretString;

const SECRET: &str = "cli-test-secret-0123456789";

fn coin_api(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coin-api"))
        .args(args)
        .env("JWT_SECRET", SECRET)
        .env_remove("DATABASE_URL")
        .output()
        .expect("coin-api runs")
}

#[tokio::test]
async fn token_prints_on_its_last_line_a_jwt_signed_with_the_secret() {
    let sub = uuid::Uuid::now_v7().to_string();
    let output = coin_api(&["token", "--sub", &sub, "--role", "operator", "--ttl", "2h"]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let token = stdout.lines().last().expect("a line");
    let identity = Verifier::new(&IdentitySettings::secret(SecretString::from(
        SECRET.to_owned(),
    )))
    .expect("verifier")
    .verify(token)
    .await
    .expect("valid token");
    assert_eq!(identity.subject.to_string(), sub);
    assert_eq!(identity.roles, vec!["operator".to_owned()]);
    let lifetime = identity.expires_at - chrono::Utc::now().timestamp();
    assert!((lifetime - 7_200).abs() <= 5, "{lifetime}");
}

#[test]
fn token_with_a_bad_role_or_id_fails_with_a_clear_message() {
    let member = uuid::Uuid::now_v7().to_string();
    let bad_role = coin_api(&["token", "--sub", &member, "--role", "king"]);
    assert!(!bad_role.status.success());
    let stderr = String::from_utf8_lossy(&bad_role.stderr);
    assert!(
        stderr.contains("member") && stderr.contains("service"),
        "{stderr}"
    );

    let bad_sub = coin_api(&["token", "--sub", "nobody", "--role", "member"]);
    assert!(!bad_sub.status.success());
    assert!(String::from_utf8_lossy(&bad_sub.stderr).contains("--sub"));

    let too_long = coin_api(&["token", "--sub", &member, "--role", "member", "--ttl", "7d"]);
    assert!(!too_long.status.success());
    assert!(
        String::from_utf8_lossy(&too_long.stderr).contains("JWT_MAX_LIFETIME_SECS"),
        "{too_long:?}"
    );
}

#[test]
fn serving_without_any_way_to_verify_tokens_fails_with_a_clear_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_coin-api"))
        .env_remove("JWT_SECRET")
        .env("RUN_MIGRATIONS", "false")
        .env("API_PORT", "0")
        .output()
        .expect("coin-api runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_JWKS_URL") && stderr.contains("JWT_SECRET"),
        "{stderr}"
    );
}
