//! Sign-in with an operator JWT (the API's tokens, verified with the same `JWT_SECRET`), the
//! signed-in operator as an extractor, and the CSRF check every state-changing form passes.

use axum::{
    extract::{FromRequest, FromRequestParts, Request, State},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::{Deserialize, de::DeserializeOwned};

use super::{
    error::ConsoleError,
    layout,
    session::{self, COOKIE, Session},
    state::ConsoleState,
};

/// The signed-in operator of a request. A page without a session is sent to `/login`; any
/// other method without one answers 403.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The session id (the cookie's value).
    pub session_id: String,
    /// The session.
    pub session: Session,
}

impl Operator {
    /// The page `title` for this operator, with the flash message its last action left.
    pub fn page(&self, state: &ConsoleState, title: &str, body: Markup) -> Html<String> {
        let flash = state.sessions.take_flash(&self.session_id);
        Html(layout::page(title, Some(&self.session), flash, body).into_string())
    }

    /// The actor an audit entry names.
    pub fn actor(&self) -> String {
        coin_shared::operations::user_actor(self.session.user_id)
    }

    /// 403 unless `given` is this session's CSRF token.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), ConsoleError> {
        if session::csrf_matches(&self.session, given.filter(|g| !g.is_empty())) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "this form's CSRF token is missing or out of date; reload the page and try again"
                    .into(),
            ))
        }
    }

    /// The hidden field every state-changing form carries.
    pub fn csrf_field(&self) -> Markup {
        self.session.csrf_field()
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie(h, COOKIE).map(str::to_owned))
}

impl FromRequestParts<ConsoleState> for Operator {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, ConsoleError> {
        let found = session_id(&parts.headers)
            .and_then(|id| state.sessions.get(&id).map(|session| (id, session)));
        match found {
            Some((session_id, session)) => Ok(Self {
                session_id,
                session,
            }),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(ConsoleError::SignedOut)
            }
            None => Err(ConsoleError::Forbidden(
                "you are signed out (or your session expired); sign in again".into(),
            )),
        }
    }
}

/// A form body; a malformed one answers 400 with the reason.
pub struct ConsoleForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ConsoleForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ConsoleError> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|axum::Form(value)| Self(value))
            .map_err(|e| ConsoleError::BadInput(e.body_text()))
    }
}

/// A form's CSRF token.
#[derive(Debug, Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: Option<String>,
}

/// A form that carries nothing but its CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// The signed-in operator of a state-changing request whose form carried the session's CSRF
/// token (field `csrf`), with the form's other fields as `F`: a missing, wrong or unreadable
/// token answers 403 before the handler runs; fields that do not parse answer 400.
pub struct Confirmed<F = NoFields>(pub Operator, pub F);

impl<F: DeserializeOwned + Send> FromRequest<ConsoleState> for Confirmed<F> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = request.into_parts();
        let operator = Operator::from_request_parts(&mut parts, state).await?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .unwrap_or_default();
        let csrf = is_form
            .then(|| serde_urlencoded::from_bytes::<CsrfOnly>(&bytes).ok())
            .flatten()
            .and_then(|form| form.csrf);
        operator.check_csrf(csrf.as_deref())?;
        let fields = serde_urlencoded::from_bytes::<F>(&bytes)
            .map_err(|e| ConsoleError::BadInput(format!("the form does not read: {e}")))?;
        Ok(Self(operator, fields))
    }
}

/// The sign-in form's body.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `GET /login`.
pub async fn login_page(State(state): State<ConsoleState>, headers: HeaderMap) -> Response {
    if session_id(&headers).is_some_and(|id| state.sessions.get(&id).is_some()) {
        return Redirect::to("/").into_response();
    }
    axum::response::Html(login_form(None).into_string()).into_response()
}

fn login_form(message: Option<&str>) -> Markup {
    layout::page(
        "Sign in",
        None,
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form method="post" action="/login" {
                label for="token" { "Operator token" }
                p.hint { "As " code { "coin-api token --role operator" } " prints it." }
                textarea id="token" name="token" rows="4" cols="60" required autocomplete="off" {}
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

/// `POST /login`: an operator token starts a session; anything else answers 403.
pub async fn login(
    State(state): State<ConsoleState>,
    ConsoleForm(form): ConsoleForm<LoginForm>,
) -> Result<Response, ConsoleError> {
    if form.token.trim().is_empty() {
        return Err(ConsoleError::BadInput("paste an operator token".into()));
    }
    let (user_id, token_left) = match state.verifier.operator(&form.token).await {
        Ok(found) => found,
        Err(ConsoleError::Forbidden(why)) => {
            let page = login_form(Some(&why)).into_string();
            return Ok((StatusCode::FORBIDDEN, axum::response::Html(page)).into_response());
        }
        Err(other) => return Err(other),
    };
    let (id, ttl) = state.sessions.create_within(user_id, token_left);
    tracing::info!(user.id = %user_id, session_secs = ttl.as_secs(), "an operator signed in to the console");
    Ok((
        [(header::SET_COOKIE, session::set_cookie(&id, ttl))],
        Redirect::to("/"),
    )
        .into_response())
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<ConsoleState>,
    Confirmed(operator, _): Confirmed,
) -> Result<Response, ConsoleError> {
    state.sessions.remove(&operator.session_id);
    Ok((
        [(header::SET_COOKIE, session::clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response())
}
