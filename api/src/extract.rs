//! A JSON body extractor whose every rejection is a problem+json naming the field at fault,
//! and the parsing of UUID path segments.
//!
//! The body is read into one buffer of its declared size (not collected as chunks and copied
//! again), so a body costs its size once while it is parsed.

use std::marker::PhantomData;

use axum::{
    RequestExt,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request},
    http::{header, request::Parts},
};
use bytes::BytesMut;
use http_body_util::{BodyExt, LengthLimitError};
use serde::de::DeserializeOwned;

use crate::{
    body_limits::BodyTimedOut,
    problem::{ApiError, ApiResult},
};

/// Most bytes reserved up front for a body of declared size (a larger one grows the buffer).
const PREALLOCATE_AT_MOST: u64 = 8 * 1024 * 1024;

/// Like `axum::Json`, but errors are [`ApiError`]s with the JSON path of the bad field; it also
/// keeps the raw body, which idempotency fingerprints.
#[derive(Debug, Clone, Default)]
pub struct ApiJson<T>(pub T, pub Bytes);

impl<T> std::ops::Deref for ApiJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> ApiResult<Self> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = read_body(req).await?;
        parse(&bytes).map(|value| ApiJson(value, bytes))
    }
}

/// Reads the body of `req` within axum's body limit into one buffer.
async fn read_body(req: Request) -> ApiResult<Bytes> {
    let declared = http_body::Body::size_hint(req.body()).lower();
    let capacity = usize::try_from(declared.min(PREALLOCATE_AT_MOST)).unwrap_or(0);
    let mut body = req.into_limited_body();
    let mut buffer = BytesMut::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| body_error(&e))?;
        if let Some(data) = frame.data_ref() {
            buffer.extend_from_slice(data);
        }
    }
    Ok(buffer.freeze())
}

/// What a failed body read answers: 413 over the limit, 408 past the body's deadline, else 400.
fn body_error(e: &axum::Error) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = cause {
        if error.is::<LengthLimitError>() {
            return ApiError::PayloadTooLarge;
        }
        if error.is::<BodyTimedOut>() {
            return ApiError::BodyTimeout;
        }
        cause = error.source();
    }
    ApiError::BadRequest {
        detail: format!("could not read the request body: {e}"),
        field: None,
    }
}

/// A kind of entity a path's `{id}` names: how a 404 calls it.
pub trait Named {
    /// E.g. `user`, as in "no user has the id `x`".
    const NAME: &'static str;
}

macro_rules! named {
    ($($(#[$doc:meta])* $kind:ident = $name:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $kind;

        impl Named for $kind {
            const NAME: &'static str = $name;
        }
    )*};
}

named! {
    /// A user.
    User = "user";
    /// A proposal.
    Proposal = "proposal";
    /// A job.
    Job = "job";
}

/// The `{id}` path segment of a read, as a UUID; extracting it answers 404 naming `K` when it
/// is not one.
#[derive(Debug)]
pub struct PathId<K>(pub uuid::Uuid, pub PhantomData<K>);

impl<S: Send + Sync, K: Named> FromRequestParts<S> for PathId<K> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest {
                detail: e.body_text(),
                field: None,
            })?;
        parse_id(&raw, K::NAME).map(|id| PathId(id, PhantomData))
    }
}

/// Parses a UUID path segment, answering 404 (not 500, not a plain-text 400) when it is not one.
pub fn parse_id(raw: &str, what: &str) -> ApiResult<uuid::Uuid> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no {what} has the id `{raw}`")))
}

/// Deserializes `bytes` (one JSON document and nothing after it but white space), reporting the
/// JSON path of the first bad field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = (path != "." && path != "?").then_some(path);
        ApiError::BadRequest {
            detail: match &field {
                Some(field) => format!("invalid value at `{field}`: {inner}"),
                None => format!("invalid JSON body: {inner}"),
            },
            field,
        }
    })?;
    de.end().map_err(|err| ApiError::BadRequest {
        detail: format!("invalid JSON body: data after the JSON document ({err})"),
        field: None,
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        loves_value: i64,
    }

    #[test]
    fn a_wrongly_typed_field_is_named_in_the_error() {
        let Err(ApiError::BadRequest { field, .. }) = parse::<Body>(br#"{"loves_value":"x"}"#)
        else {
            panic!("expected a bad request");
        };
        assert_eq!(field.as_deref(), Some("loves_value"));
    }

    #[test]
    fn data_after_the_document_is_a_bad_request() {
        for body in [
            &br#"{"loves_value":1}xyz"#[..],
            br#"{"loves_value":1}{"loves_value":2}"#,
            br#"{"loves_value":1} ]"#,
        ] {
            let Err(ApiError::BadRequest { field, detail }) = parse::<Body>(body) else {
                panic!("expected a bad request for {body:?}");
            };
            assert_eq!(field, None);
            assert!(detail.contains("after the JSON document"), "{detail}");
        }
        assert!(parse::<Body>(b"{\"loves_value\":1} \n\t").is_ok());
    }

    #[test]
    fn broken_json_is_a_bad_request_without_a_field() {
        let Err(ApiError::BadRequest { field, .. }) = parse::<Body>(b"{not json") else {
            panic!("expected a bad request");
        };
        assert_eq!(field, None);
    }
}
