//! Who is calling: bearer JWTs verified against a real issuer's key set (`JWT_JWKS_URL` or
//! `JWT_JWKS_PATH`; RS256, ES256 and EdDSA keys by `kid`, cached, fetched again when a token
//! names an unknown key, so a rotation needs no restart) or the development HS256 secret
//! (`JWT_SECRET`), with `iss`, `aud`, `nbf` and a maximum lifetime enforced and the role read
//! from a configurable claim. The API's guard and the console's sign-in both verify through
//! the one [`Verifier`]; [`TokenIssuer`] signs the development tokens `coin-api token` prints.
//! Tested against real keys in `tests/tests/identity.rs`.

mod claims;
mod error;
mod issuer;
mod keys;
mod settings;
mod verifier;

pub use claims::Identity;
pub use error::{IdentityError, IdentitySetupError};
pub use issuer::TokenIssuer;
pub use keys::KeySet;
pub use settings::{IdentitySettings, MIN_SECRET_BYTES};
pub use verifier::Verifier;
