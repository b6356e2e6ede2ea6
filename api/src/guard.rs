//! The two layers in front of every authenticated route: [`authenticate`] (401 unless a valid
//! bearer token; the [`Caller`] goes into the request's extensions and its role into the
//! request span) and, inside it, [`rate_limit`] (429 with `Retry-After` when the caller is over
//! its budget). Handlers only read the `Caller`.

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{auth::Caller, state::AppState};

/// Verifies the bearer token and puts its [`Caller`] in the request's extensions.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match Caller::from_authorization(
        request.headers().get(header::AUTHORIZATION),
        &state.verifier,
    ) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    tracing::Span::current().record("role", tracing::field::display(caller.role.as_str()));
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Counts the request against its caller's per-minute budget (one pipelined Redis round trip),
/// answering 429 when it is spent. Runs inside [`authenticate`].
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().copied() else {
        // Only behind `authenticate`; without a caller there is nothing to count.
        return next.run(request).await;
    };
    if let Err(e) = state.rate_limiter.check(caller.user_id).await {
        return e.into_response();
    }
    next.run(request).await
}
