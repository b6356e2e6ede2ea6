//! The route table: every route is declared once, as its handler in a `routes!(…)` below.
//! The handler's `#[utoipa::path]` gives its method and path to both the router and the OpenAPI
//! document (utoipa-axum's [`OpenApiRouter`]), so neither can list a route the other lacks.
//! A route declared in [`authenticated`] is put behind the authentication and rate-limit layers
//! and documented as asking for the bearer token; the rest are declared in [`public`].

/// Declares one POST route per value of a step (a proposal's open, close and reject; a
/// webhook endpoint's disable and enable; a queue's pause and resume), each `#[utoipa::path]`
/// with the tag, parameters, responses and trailing docs given once, and its own path,
/// operation id and leading docs. Two forms:
/// - `command(roles, action, entity) -> T = build`: a command on the entity the path names,
///   answered by [`crate::commands::Command::step`] with the job `build(entity id, draft
///   carrying the value)`;
/// - `fn(arguments…) -> T = run`: a handler that calls `run(arguments…, value)`.
macro_rules! step_routes {
    (
        tag = $tag:literal,
        params $params:tt,
        responses $responses:tt,
        docs $docs:tt,
        command($roles:expr, $action:literal, $entity:literal) -> $ret:ty = $build:path;
        $($(#[$doc:meta])* $name:ident = $value:expr, $path:literal, $operation:literal;)*
    ) => {$(
        step_routes!(@attributes [$(#[$doc])*] $docs, $tag, $params, $responses, $path, $operation,
            pub async fn $name(command: $crate::commands::Command) -> $ret {
                command
                    .step($roles, $action, $entity, |id, draft| $build(id, draft.carrying($value)))
                    .await
            });
    )*};
    (
        tag = $tag:literal,
        params $params:tt,
        responses $responses:tt,
        docs $docs:tt,
        fn $args:tt -> $ret:ty = $run:path;
        $($(#[$doc:meta])* $name:ident = $value:expr, $path:literal, $operation:literal;)*
    ) => {$(
        step_routes!(@fn [$(#[$doc])*] $docs, $tag, $params, $responses, $path, $operation,
            $name, $value, $args, $ret, $run);
    )*};
    (
        @fn $docs:tt $shared:tt, $tag:literal, $params:tt, $responses:tt, $path:literal,
        $operation:literal, $name:ident, $value:expr, ($($arg:ident: $ty:ty),*), $ret:ty,
        $run:path
    ) => {
        step_routes!(@attributes $docs $shared, $tag, $params, $responses, $path, $operation,
            pub async fn $name($($arg: $ty),*) -> $ret {
                $run($($arg,)* $value).await
            });
    };
    (
        @attributes [$(#[$doc:meta])*] ($(#[$shared:meta])*), $tag:literal, $params:tt,
        $responses:tt, $path:literal, $operation:literal, $handler:item
    ) => {
        $(#[$doc])*
        $(#[$shared])*
        #[utoipa::path(post, path = $path, operation_id = $operation, tag = $tag,
            params $params, responses $responses)]
        $handler
    };
}

mod activity;
pub mod council;
mod dead_jobs;
pub mod delegations;
pub mod goodwill;
mod jobs;
mod openapi;
pub mod proposals;
mod queues;
mod users;
pub(crate) mod wallets;
pub mod webhooks;

use std::sync::Arc;

use axum::{
    Extension, Router, extract::DefaultBodyLimit, http::Uri, middleware, response::IntoResponse,
};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::{OpenApi, openapi::security::SecurityRequirement};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    body_limits::BodyLimitsLayer,
    guard,
    openapi::{ApiDoc, OpsDoc},
    problem::ApiError,
    request_id,
    state::AppState,
};

/// The routes anyone may call.
fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::document))
        .routes(routes!(proposals::list))
        .routes(routes!(proposals::get))
        .routes(routes!(users::get))
        .routes(routes!(users::wallet))
        .routes(routes!(activity::list))
        .routes(routes!(jobs::status))
}

/// The routes that need a bearer token (their operations say so: [`bearer_required`]).
fn authenticated() -> OpenApiRouter<AppState> {
    let mut routes = OpenApiRouter::new()
        .routes(routes!(goodwill::record))
        .routes(routes!(goodwill::record_batch))
        .routes(routes!(proposals::create))
        .routes(routes!(proposals::open))
        .routes(routes!(proposals::close))
        .routes(routes!(proposals::reject))
        .routes(routes!(proposals::vote))
        .routes(routes!(delegations::create))
        .routes(routes!(delegations::revoke))
        .routes(routes!(council::add))
        .routes(routes!(council::end))
        .routes(routes!(dead_jobs::list))
        .routes(routes!(dead_jobs::replay))
        .routes(routes!(dead_jobs::replay_all))
        .routes(routes!(queues::list))
        .routes(routes!(queues::pause))
        .routes(routes!(queues::resume))
        .routes(routes!(jobs::search))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::bulk))
        .routes(routes!(webhooks::create))
        .routes(routes!(webhooks::disable))
        .routes(routes!(webhooks::enable));
    bearer_required(routes.get_openapi_mut());
    routes
}

/// Marks every operation of `doc` as asking for the bearer token.
fn bearer_required(doc: &mut utoipa::openapi::OpenApi) {
    let bearer = SecurityRequirement::new(crate::openapi::BEARER, Vec::<String>::new());
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            operation.security = Some(vec![bearer.clone()]);
        }
    }
}

/// The OpenAPI document of every route: the operations routes of `coin_shared::ops`, and the
/// declarations above.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(OpsDoc::openapi());
    doc.merge(public().into_openapi());
    doc.merge(authenticated().into_openapi());
    doc
}

/// The name the API's operations routes answer with.
pub const SERVICE: &str = "coin-api";

/// Every route of the API, its request bodies bounded by `bodies`.
pub fn router(state: AppState, bodies: BodyLimitsLayer) -> Router {
    let ops = coin_shared::ops::Ops {
        service: SERVICE,
        pool: state.read_pool.clone(),
        queue: state.queue.clone(),
        metrics: state.metrics.clone(),
        details: None,
        // The API accepts commands with Redis alone (nothing on the command path reads
        // Postgres): a Postgres outage degrades reads, not readiness.
        readiness: coin_shared::health::Readiness::Redis,
    };
    let guarded =
        authenticated().route_layer(middleware::from_fn_with_state(state.clone(), guard::guard));
    let (routes, _) = public()
        .merge(guarded)
        .merge(OpenApiRouter::from(coin_shared::ops::router(ops)))
        .split_for_parts();
    let document = openapi::Document::of(&document());
    layered(routes.with_state(state), bodies, Arc::new(document))
}

/// What every route gets: problem+json fallbacks, then one stack of layers — outermost the
/// request span, `X-Request-Id` and the request metrics (outside the panic layer, so they
/// count that 500 too), a caught panic answered as a 500 problem+json, the bounds on request
/// bodies (size, the in-flight budget and the deadline: [`BodyLimitsLayer`]) with axum's body
/// limit of the same size, and the OpenAPI document its route serves.
///
/// One `Router::layer` call with a [`ServiceBuilder`], not one call per layer: axum boxes every
/// route again at each call, and clones each box on every request (measured with `perf` on
/// single POSTs: three boxed clones a request where one will do).
fn layered<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    bodies: BodyLimitsLayer,
    document: Arc<openapi::Document>,
) -> Router<S> {
    let max_body_bytes = bodies.max_body();
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(request_id::RequestSpanLayer)
                .layer(CatchPanicLayer::custom(|_panic| {
                    ApiError::Panicked.into_response()
                }))
                .layer(bodies)
                .layer(DefaultBodyLimit::max(max_body_bytes))
                .layer(Extension(document)),
        )
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests;
