//! The one place where errors become HTTP responses: RFC 7807 `application/problem+json`.
//!
//! Handlers return `ApiError`; a 500 is logged here once, with its cause, and the client sees
//! only a generic detail.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use coin_shared::{domain::FieldError, queue::QueueError};
use serde::Serialize;

/// What a handler, an extractor or a step of one returns.
pub type ApiResult<T> = Result<T, ApiError>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request (bad JSON, wrong type); `field` names the part at fault when known.
    #[error("{detail}")]
    BadRequest {
        /// What is wrong.
        detail: String,
        /// The JSON path at fault, if known.
        field: Option<String>,
    },
    /// Well-formed but breaks domain rules.
    #[error("the request breaks {} rule(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// Missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// No such route.
    #[error("no route matches {0}")]
    RouteNotFound(String),
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with the current state (e.g. an idempotent twin still in flight).
    #[error("{0}")]
    Conflict(String),
    /// An `Idempotency-Key` was reused with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// Too many requests for this token; retry after the given seconds.
    #[error("rate limit exceeded: retry in {retry_after} s")]
    TooManyRequests {
        /// Seconds until the window resets.
        retry_after: u64,
    },
    /// The body is over the size limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The body did not arrive in full within the body timeout; the connection is closed.
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    /// The server holds as many request bodies as it may (the in-flight body budget); the
    /// client should retry.
    #[error("the server is busy with other request bodies; retry shortly")]
    Overloaded,
    /// Content-Type is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The job queue cannot take the command now; the client should retry.
    #[error("the job queue is unavailable")]
    QueueUnavailable(#[source] QueueError),
    /// The read database cannot answer now.
    #[error("the database is unavailable")]
    DatabaseUnavailable(#[source] sqlx::Error),
    /// A bug or an unexpected failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// A handler panicked; the process' panic hook has logged it (see
    /// `coin_shared::telemetry::init_tracing`), so the answer does not log again.
    #[error("a handler panicked")]
    Panicked,
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Encode(e) => ApiError::Internal(e.into()),
            unknown @ QueueError::UnknownQueue(_) => ApiError::NotFound(unknown.to_string()),
            other => ApiError::QueueUnavailable(other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => ApiError::DatabaseUnavailable(e),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// The problem document (RFC 7807) with our `errors` extension for field-level detail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "https://peoples-coin.dev/problems/validation",
    "title": "Invalid input",
    "status": 422,
    "detail": "the request breaks the rules listed in `errors`",
    "errors": [{"field": "loves_value", "message": "must be an integer from 1 to 100"}]
}))]
pub struct Problem {
    /// A URI naming the problem kind: `https://peoples-coin.dev/problems/<slug>`, the slug one
    /// of `bad-request`, `validation`, `unauthorized`, `forbidden`, `not-found`, `no-route`,
    /// `method-not-allowed`, `conflict`, `idempotency-key-reused`, `rate-limited`,
    /// `payload-too-large`, `body-timeout`, `overloaded`, `unsupported-media-type`,
    /// `queue-unavailable`, `database-unavailable` or `internal`.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened here.
    pub detail: String,
    /// Field-level errors, when the input is at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::QueueUnavailable(_)
            | ApiError::DatabaseUnavailable(_)
            | ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) | ApiError::Panicked => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("bad-request", "Malformed request"),
            ApiError::Validation(_) => ("validation", "Invalid input"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::RouteNotFound(_) => ("no-route", "No such route"),
            ApiError::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::IdempotencyKeyReused => ("idempotency-key-reused", "Idempotency-Key reused"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::PayloadTooLarge => ("payload-too-large", "Request body too large"),
            ApiError::BodyTimeout => ("body-timeout", "Request body timed out"),
            ApiError::Overloaded => ("overloaded", "Server busy"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::QueueUnavailable(_) => ("queue-unavailable", "Job queue unavailable"),
            ApiError::DatabaseUnavailable(_) => ("database-unavailable", "Database unavailable"),
            ApiError::Internal(_) | ApiError::Panicked => ("internal", "Internal error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (slug, title) = self.slug_and_title();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after } => Some(*retry_after),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        };
        let (detail, errors) = match &self {
            ApiError::Validation(errors) => (
                "the request breaks the rules listed in `errors`".to_owned(),
                errors.clone(),
            ),
            ApiError::BadRequest {
                detail,
                field: Some(field),
            } => (
                detail.clone(),
                vec![FieldError::new(field.clone(), detail.clone())],
            ),
            ApiError::QueueUnavailable(e) => {
                tracing::warn!(error = %e, "job queue unavailable; answering 503");
                (
                    "the job queue is unavailable; retry shortly".to_owned(),
                    vec![],
                )
            }
            ApiError::DatabaseUnavailable(e) => {
                tracing::warn!(error = %e, "database unavailable; answering 503");
                (
                    "the database is unavailable; retry shortly".to_owned(),
                    vec![],
                )
            }
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "request failed with an internal error");
                ("an internal error occurred".to_owned(), vec![])
            }
            ApiError::Panicked => ("an internal error occurred".to_owned(), vec![]),
            other => (other.to_string(), vec![]),
        };
        let body = Problem {
            kind: format!("https://peoples-coin.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still come: the connection cannot carry another request.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
