//! What a connection accepted beyond the connection cap gets (see [`crate::connections`]): a
//! bare `503` with `Retry-After: 1`, then the close — or, when it holds a reserved slot and its
//! first bytes are `GET /livez`, the liveness answer. Written straight to the socket: no HTTP
//! server state, no router, no task beyond the short sniffing window.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::connections::Slot;

/// How long a reserved connection may take to show whether it asks for `/livez`.
pub const SNIFF_WINDOW: Duration = Duration::from_secs(1);

/// The answer to everything over the cap.
pub const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
    content-length: 0\r\nconnection: close\r\n\r\n";

/// The request line prefix a liveness probe starts with.
const LIVEZ: &[u8] = b"GET /livez";

/// What the first bytes of a connection say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstBytes {
    /// A `GET /livez` (possibly with a query).
    Livez,
    /// Anything else.
    Other,
    /// Too few bytes to tell.
    Undecided,
}

/// Tells a liveness probe from anything else by its first bytes.
pub fn classify(prefix: &[u8]) -> FirstBytes {
    let common = prefix.len().min(LIVEZ.len());
    if prefix[..common] != LIVEZ[..common] {
        FirstBytes::Other
    } else if prefix.len() <= LIVEZ.len() {
        FirstBytes::Undecided
    } else if matches!(prefix[LIVEZ.len()], b' ' | b'?') {
        FirstBytes::Livez
    } else {
        FirstBytes::Other
    }
}

/// Sheds a connection over the cap and the reserve: the 503 if the socket takes it now, then
/// the close. Never waits.
pub fn shed(stream: TcpStream) {
    let _ = stream.try_write(OVERLOADED);
}

/// Answers a connection in a reserved slot: the liveness body of `service` if it asks for
/// `/livez` within [`SNIFF_WINDOW`], else the 503; then closes it.
pub async fn probe(mut stream: TcpStream, slot: Slot, liveness: &[u8]) {
    let mut prefix = [0u8; 16];
    let mut read = 0;
    let verdict = tokio::time::timeout(SNIFF_WINDOW, async {
        loop {
            match stream.read(&mut prefix[read..]).await {
                Ok(0) | Err(_) => return FirstBytes::Other,
                Ok(n) => read += n,
            }
            match classify(&prefix[..read]) {
                FirstBytes::Undecided if read < prefix.len() => continue,
                FirstBytes::Undecided => return FirstBytes::Other,
                decided => return decided,
            }
        }
    })
    .await
    .unwrap_or(FirstBytes::Other);
    let answer = match verdict {
        FirstBytes::Livez => liveness,
        _ => OVERLOADED,
    };
    let _ = tokio::time::timeout(SNIFF_WINDOW, stream.write_all(answer)).await;
    let _ = stream.shutdown().await;
    drop(slot);
}

/// The full HTTP answer to `GET /livez` carrying `body` (JSON), sent over the cap.
pub fn liveness_answer(body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

#[cfg(test)]
mod tests {
    use crate::shed::{FirstBytes, classify, liveness_answer};

    #[test]
    fn a_liveness_probe_is_told_apart_from_its_first_bytes() {
        for livez in [&b"GET /livez HTTP/1.1\r\n"[..], b"GET /livez?x=1 HTTP/1.1"] {
            assert_eq!(classify(livez), FirstBytes::Livez, "{livez:?}");
        }
        for other in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /v1/goodwill-actions HTTP/1.1",
            b"GET /livezz HTTP/1.1",
            b"G\x00",
            b"\x16\x03\x01",
        ] {
            assert_eq!(classify(other), FirstBytes::Other, "{other:?}");
        }
        for undecided in [&b""[..], b"G", b"GET /liv", b"GET /livez"] {
            assert_eq!(classify(undecided), FirstBytes::Undecided, "{undecided:?}");
        }
    }

    #[test]
    fn the_liveness_answer_is_a_complete_response() {
        let answer = liveness_answer(br#"{"status":"alive"}"#);
        let text = String::from_utf8(answer).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("content-length: 18\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n{\"status\":\"alive\"}"), "{text}");
    }
}
