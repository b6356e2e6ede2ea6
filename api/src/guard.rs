//! The one layer in front of every authenticated route, [`guard`]: 401 unless a valid bearer
//! token (the [`Caller`] goes into the request's extensions and its role into the request
//! span), then 429 with `Retry-After` when the caller is over its budget (one pipelined Redis
//! round trip). One `from_fn` layer rather than two: each layer is a boxed future per request.
//! Handlers only read the `Caller`.

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{auth::Caller, state::AppState};

/// Verifies the bearer token, counts the request against its caller's budget, and puts the
/// [`Caller`] in the request's extensions.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let caller = match Caller::from_authorization(
        request.headers().get(header::AUTHORIZATION),
        &state.verifier,
    )
    .await
    {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    tracing::Span::current().record("role", tracing::field::display(caller.role.as_str()));
    if let Err(e) = state.rate_limiter.check(caller.user_id).await {
        return e.into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}
