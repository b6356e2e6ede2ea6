//! The console's one error type, mapped once to a status and an HTML page. Messages are safe to
//! show; driver errors are logged here and answered 503 without details.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use coin_shared::queue::QueueError;

use super::layout;

/// What a page handler answers: the page, or the error page.
pub type PageResult = Result<axum::response::Html<String>, ConsoleError>;

/// Why a console request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session on a page: sent to the sign-in form.
    #[error("sign in first")]
    SignedOut,
    /// Signed out, a role other than operator, or a missing or wrong CSRF token.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is wrong (a malformed id, an unknown state).
    #[error("{0}")]
    BadInput(String),
    /// No such job or queue.
    #[error("{0}")]
    NotFound(String),
    /// The action was done but its audit entry could not be queued.
    #[error("{0} was done, but its audit entry could not be queued; the job queue is unavailable")]
    AuditFailed(String, #[source] QueueError),
    /// Redis failed.
    #[error("the job queue is unavailable")]
    Queue(#[source] QueueError),
    /// Postgres failed.
    #[error("the database is unavailable")]
    Database(#[from] sqlx::Error),
}

impl From<QueueError> for ConsoleError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::UnknownQueue(name) => Self::NotFound(format!("there is no queue {name:?}")),
            QueueError::Backend(coin_queue::QueueError::InvalidCursor(_)) => {
                Self::BadInput("that page cursor is not valid; start the search again".into())
            }
            other => Self::Queue(other),
        }
    }
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            Self::SignedOut | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadInput(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Queue(_) | Self::Database(_) | Self::AuditFailed(..) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match &self {
            Self::SignedOut => return Redirect::to("/login").into_response(),
            Self::Queue(e) => tracing::warn!(error = %e, "a console request's queue call failed"),
            Self::AuditFailed(what, e) => {
                tracing::error!(error = %e, action = %what, "a console action's audit entry was lost")
            }
            Self::Database(e) => tracing::warn!(error = %e, "a console request's query failed"),
            _ => {}
        }
        let status = self.status();
        (
            status,
            axum::response::Html(layout::error_page(status, &self.to_string()).into_string()),
        )
            .into_response()
    }
}
