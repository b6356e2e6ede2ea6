//! An issuer's JSON Web Key Set, from a URL or a file, kept in memory by `kid`: read again when
//! it is older than its cache time, and at once (at most every [`MIN_REFETCH`]) when a token
//! names a key it does not hold, so a rotated key is accepted without a restart and a flood
//! of made-up key ids cannot turn into a flood of fetches. When a read fails, the keys
//! already held keep working.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm},
};

use super::error::{IdentityError, IdentitySetupError};

/// Shortest time between two reads of the key set caused by unknown key ids.
pub const MIN_REFETCH: Duration = Duration::from_secs(5);
/// How long one read of the key set may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the key set comes from.
enum Source {
    Url {
        client: reqwest::Client,
        url: String,
    },
    Path(PathBuf),
}

/// One usable key.
#[derive(Clone)]
struct Key {
    algorithm: Algorithm,
    key: Arc<DecodingKey>,
}

#[derive(Default)]
struct Held {
    keys: HashMap<String, Key>,
    read_at: Option<Instant>,
    /// The last read an unknown key id asked for.
    unknown_read_at: Option<Instant>,
    /// The last read tried, successful or not.
    tried_at: Option<Instant>,
}

/// The key set, cached.
pub struct KeySet {
    source: Source,
    cache_for: Duration,
    held: RwLock<Held>,
    reading: tokio::sync::Mutex<()>,
}

impl KeySet {
    /// A key set at `url`.
    pub fn url(url: &str, cache_for: Duration) -> Result<Self, IdentitySetupError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(IdentitySetupError::BadKeySetUrl(url.to_owned()));
        }
        let client = reqwest::Client::builder()
            .timeout(READ_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IdentitySetupError::Client(e.to_string()))?;
        Ok(Self::from_source(
            Source::Url {
                client,
                url: url.to_owned(),
            },
            cache_for,
        ))
    }

    /// A key set in the file at `path`.
    pub fn path(path: PathBuf, cache_for: Duration) -> Self {
        Self::from_source(Source::Path(path), cache_for)
    }

    fn from_source(source: Source, cache_for: Duration) -> Self {
        Self {
            source,
            cache_for,
            held: RwLock::new(Held::default()),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads the key set now; returns how many usable keys it holds.
    pub async fn refresh(&self) -> Result<usize, IdentityError> {
        let _one_reader = self.reading.lock().await;
        self.read_now().await
    }

    /// The key `kid` for a token signed with `algorithm`.
    pub(super) async fn key(
        &self,
        kid: &str,
        algorithm: Algorithm,
    ) -> Result<Arc<DecodingKey>, IdentityError> {
        let (found, stale) = self.lookup(kid);
        let key = match found {
            Some(key) if !stale => key,
            _ => {
                self.read_if_due(found.is_none()).await?;
                self.lookup(kid)
                    .0
                    .ok_or_else(|| IdentityError::UnknownKey(kid.to_owned()))?
            }
        };
        if key.algorithm != algorithm {
            return Err(IdentityError::AlgorithmMismatch {
                kid: kid.to_owned(),
                key: key.algorithm,
                token: algorithm,
            });
        }
        Ok(key.key)
    }

    /// The key held under `kid`, and whether the set is older than its cache time.
    fn lookup(&self, kid: &str) -> (Option<Key>, bool) {
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        let stale = held.read_at.is_none_or(|at| at.elapsed() > self.cache_for);
        (held.keys.get(kid).cloned(), stale)
    }

    /// Reads the set again unless another task just did, or, for an unknown key, unless an
    /// unknown key read it under [`MIN_REFETCH`] ago. A failed read keeps the keys held and is
    /// an error only when none are.
    async fn read_if_due(&self, unknown_key: bool) -> Result<(), IdentityError> {
        let _one_reader = self.reading.lock().await;
        let (skip, never_read) = {
            let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
            let never_read = held.read_at.is_none();
            // The first read of all is not an unknown key's, whatever the token named.
            let unknown_key = unknown_key && held.read_at.is_some();
            let skip = if unknown_key {
                held.unknown_read_at
                    .is_some_and(|at| at.elapsed() < MIN_REFETCH)
            } else {
                // Fresh, or a failed read under MIN_REFETCH ago: the held keys serve meanwhile.
                held.read_at
                    .is_some_and(|at| at.elapsed() <= self.cache_for)
                    || held.tried_at.is_some_and(|at| at.elapsed() < MIN_REFETCH)
            };
            if unknown_key && !skip {
                held.unknown_read_at = Some(Instant::now());
            }
            (skip, never_read)
        };
        if skip && never_read {
            // The last read failed moments ago and none has succeeded: say so, not "no key".
            return Err(IdentityError::KeySetUnavailable(format!(
                "no read has succeeded yet (the next is tried {} s after the last)",
                MIN_REFETCH.as_secs()
            )));
        }
        if skip {
            return Ok(());
        }
        match self.read_now().await {
            Ok(_) => Ok(()),
            Err(e) if self.is_empty() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the key set again; keeping the keys held");
                Ok(())
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .is_empty()
    }

    async fn read_now(&self) -> Result<usize, IdentityError> {
        self.held
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .tried_at = Some(Instant::now());
        let set = self
            .load()
            .await
            .map_err(IdentityError::KeySetUnavailable)?;
        let keys: HashMap<String, Key> = set.keys.iter().filter_map(usable).collect();
        let count = keys.len();
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        held.keys = keys;
        held.read_at = Some(Instant::now());
        Ok(count)
    }

    async fn load(&self) -> Result<JwkSet, String> {
        let body = match &self.source {
            Source::Url { client, url } => {
                let response = client
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("GET {url} answered {status}"));
                }
                response
                    .bytes()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?
                    .to_vec()
            }
            Source::Path(path) => tokio::fs::read(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?,
        };
        serde_json::from_slice(&body).map_err(|e| format!("not a JSON Web Key Set: {e}"))
    }
}

/// A key of the set we can verify with: it has a `kid`, and an algorithm (stated, or the one
/// its type implies) among RS256, ES256 and EdDSA. Others are skipped.
fn usable(jwk: &Jwk) -> Option<(String, Key)> {
    let kid = jwk.common.key_id.clone()?;
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    };
    let algorithm = match jwk.common.key_algorithm {
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(_) => return None,
        None => implied?,
    };
    if Some(algorithm) != implied {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((
        kid,
        Key {
            algorithm,
            key: Arc::new(key),
        },
    ))
}
