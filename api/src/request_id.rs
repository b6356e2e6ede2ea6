//! The request span and `X-Request-Id`: every request runs in a `request` span naming its
//! method, matched route, request id and (once authenticated) the caller's role, so every log
//! line of a request names it; the id is the client's (a visible-ASCII value of at most
//! [`MAX_LEN`] characters) or a fresh UUID, and is echoed on every answer, errors and 404s
//! included.

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

/// The header, in and out.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longest client id kept; a longer (or otherwise unusable) one is replaced.
pub const MAX_LEN: usize = 128;

/// The client's id when it is sane, else a fresh UUID.
fn request_id(request: &Request) -> HeaderValue {
    request
        .headers()
        .get(&HEADER)
        .filter(|v| {
            let bytes = v.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_LEN
                && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            let mut buffer = uuid::Uuid::encode_buffer();
            let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
            HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
        })
}

/// Runs the request in its span and echoes (or mints) its `X-Request-Id`. The outermost layer.
pub async fn span(mut request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %id.to_str().unwrap_or_default(),
        role = tracing::field::Empty,
    );
    request.headers_mut().insert(HEADER.clone(), id.clone());
    let mut response = next.run(request).instrument(span).await;
    response.headers_mut().insert(HEADER.clone(), id);
    response
}

#[cfg(test)]
mod tests {
    use std::{
        io::Write,
        sync::{Arc, Mutex},
    };

    use axum::{body::Body, http::Request, response::Response};
    use chrono::Duration;
    use secrecy::SecretString;
    use tower::ServiceExt;
    use uuid::Uuid;

    use super::MAX_LEN;
    use crate::{
        auth::{Role, TokenVerifier},
        test_support,
    };

    async fn send(request: Request<Body>) -> Response {
        test_support::router()
            .oneshot(request)
            .await
            .expect("an answer")
    }

    fn echoed(response: &Response) -> &str {
        response.headers()["x-request-id"]
            .to_str()
            .expect("visible ASCII")
    }

    #[tokio::test]
    async fn a_sane_client_id_is_echoed_even_on_a_404() {
        let request = Request::get("/no/such/route")
            .header("x-request-id", "client-id_42.a:b")
            .body(Body::empty())
            .expect("request");
        let response = send(request).await;
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(echoed(&response), "client-id_42.a:b");
    }

    #[tokio::test]
    async fn a_missing_or_unusable_id_is_replaced_by_a_fresh_uuid() {
        let long = "x".repeat(MAX_LEN + 1);
        for sent in [None, Some(""), Some("has space"), Some(long.as_str())] {
            let mut request = Request::post("/v1/proposals");
            if let Some(value) = sent {
                request = request.header("x-request-id", value);
            }
            let response = send(request.body(Body::empty()).expect("request")).await;
            assert_eq!(response.status().as_u16(), 401, "an error answer too");
            let id = echoed(&response);
            assert!(id.parse::<Uuid>().is_ok(), "{sent:?} gave {id}");
        }
        let exactly = "y".repeat(MAX_LEN);
        let request = Request::get("/livez")
            .header("x-request-id", exactly.as_str())
            .body(Body::empty())
            .expect("request");
        assert_eq!(echoed(&send(request).await), exactly);
    }

    /// Collects what a fmt subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_log_line_of_a_failing_request_names_its_request_id_route_and_role() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        // Global, not scoped: a scoped subscriber races with the other tests' threads over the
        // callsites' cached interest. Only this test installs one.
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

        // Postgres is unreachable: a 503, logged as a warning.
        let request = Request::get(format!("/v1/users/{}", Uuid::now_v7()))
            .header("x-request-id", "read-req-1")
            .body(Body::empty())
            .expect("request");
        assert_eq!(send(request).await.status().as_u16(), 503);
        // Redis is unreachable: the command's push fails, logged as a warning.
        let token = TokenVerifier::new(&SecretString::from(test_support::SECRET.to_owned()))
            .expect("verifier")
            .issue(Uuid::now_v7(), Role::Member, Duration::hours(1))
            .expect("token");
        let request = Request::post("/v1/goodwill-actions")
            .header("x-request-id", "command-req-2")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"action_type":"help","description":"a neighbour","loves_value":5}"#,
            ))
            .expect("request");
        assert_eq!(send(request).await.status().as_u16(), 503);

        let logs = String::from_utf8(captured.0.lock().expect("not poisoned").clone())
            .expect("UTF-8 logs");
        let line = |needle: &str| {
            logs.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no log line with {needle}:\n{logs}"))
                .to_owned()
        };
        let read = line("request_id=read-req-1");
        assert!(read.contains("database unavailable"), "{read}");
        assert!(read.contains("route=/v1/users/{id}"), "{read}");
        let command = line("request_id=command-req-2");
        assert!(command.contains("job queue unavailable"), "{command}");
        assert!(command.contains("role=member"), "{command}");
        assert!(command.contains("method=POST"), "{command}");
    }
}
