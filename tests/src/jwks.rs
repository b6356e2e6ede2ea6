//! Keys and tokens of a real issuer for tests: the test-only RS256, ES256 and EdDSA keys in
//! `tests/fixtures/jwt/`, their public halves as a JSON Web Key Set (a file, or served),
//! and tokens signed with them.

use std::path::PathBuf;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use uuid::Uuid;

/// The `iss` of [`claims`].
pub const ISSUER: &str = "https://id.example";
/// The `aud` of [`claims`].
pub const AUDIENCE: &str = "peoples-coin";

/// A test key: its id, algorithm and private half.
pub struct TestKey {
    /// Its key id.
    pub kid: &'static str,
    /// Its algorithm.
    pub alg: Algorithm,
    /// Its private half.
    pub key: EncodingKey,
}

impl TestKey {
    /// `key` under `kid` for `alg`.
    fn new(kid: &'static str, alg: Algorithm, key: EncodingKey) -> Self {
        Self { kid, alg, key }
    }

    /// The same private key under another key id (an impostor, or a key the set lacks).
    pub fn renamed(mut self, kid: &'static str) -> Self {
        self.kid = kid;
        self
    }
}

/// The fixtures by key id: two RSA keys (`rsa-1`, `rsa-2`, for rotations), a P-256 key
/// (`ec-1`) and an Ed25519 key (`ed-1`).
const FIXTURES: [(&str, Algorithm, &[u8]); 4] = [
    (
        "rsa-1",
        Algorithm::RS256,
        include_bytes!("../fixtures/jwt/rsa1.der"),
    ),
    (
        "rsa-2",
        Algorithm::RS256,
        include_bytes!("../fixtures/jwt/rsa2.der"),
    ),
    (
        "ec-1",
        Algorithm::ES256,
        include_bytes!("../fixtures/jwt/ec.der"),
    ),
    (
        "ed-1",
        Algorithm::EdDSA,
        include_bytes!("../fixtures/jwt/ed.der"),
    ),
];

/// The fixture key `kid` (one of [`FIXTURES`]; another id is a bug in the test).
pub fn key(kid: &str) -> TestKey {
    let (kid, alg, der) = FIXTURES
        .into_iter()
        .find(|(k, _, _)| *k == kid)
        .unwrap_or_else(|| panic!("no fixture key {kid:?}"));
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(der),
        Algorithm::ES256 => EncodingKey::from_ec_der(der),
        _ => EncodingKey::from_ed_der(der),
    };
    TestKey::new(kid, alg, key)
}

/// The public key set of `keys`, as an issuer publishes it.
pub fn key_set(keys: &[TestKey]) -> String {
    let keys: Vec<Jwk> = keys
        .iter()
        .map(|k| {
            let mut jwk = match k.alg {
                // jsonwebtoken cannot derive an Ed25519 public key: the fixture holds it.
                Algorithm::EdDSA => public_ed25519(),
                alg => Jwk::from_encoding_key(&k.key, alg).expect("a public JWK"),
            };
            jwk.common.key_id = Some(k.kid.to_owned());
            jwk
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

/// The public half of `ed()` as a JWK (`openssl pkey -pubout`, its last 32 bytes).
fn public_ed25519() -> Jwk {
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(include_bytes!("../fixtures/jwt/ed.pub"));
    serde_json::from_value(json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": x }))
        .expect("an OKP JWK")
}

/// `claims` signed by `key` (its `kid` in the header).
pub fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key.key).expect("sign")
}

/// Claims for a member, valid for an hour, from issuer [`ISSUER`] to audience [`AUDIENCE`],
/// with `extra` merged in (`null` removes nothing; it sets the claim to null).
pub fn claims(extra: Value) -> Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({
        "sub": Uuid::now_v7(),
        "role": "member",
        "iat": now,
        "exp": now + 3_600,
        "iss": ISSUER,
        "aud": AUDIENCE,
    });
    if let (Some(map), Some(more)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            map.insert(k.clone(), v.clone());
        }
    }
    claims
}

/// A key set file holding `keys`, removed when dropped.
pub struct KeyFile(pub PathBuf);

impl KeyFile {
    /// A new file holding `keys`.
    pub fn new(keys: &[TestKey]) -> Self {
        let path = std::env::temp_dir().join(format!("coin-jwks-{}.json", Uuid::now_v7()));
        let file = Self(path);
        file.write(keys);
        file
    }

    /// Replaces its keys with `keys` (a rotation).
    pub fn write(&self, keys: &[TestKey]) {
        std::fs::write(&self.0, key_set(keys)).expect("write the key set");
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
