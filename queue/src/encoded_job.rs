//! A job in the form the push script takes it (id, encoded payload, due time, attempt limit),
//! and the stored form of a payload: `<enqueued_at_ms>|<payload>`, stamped by the push script.
//!
//! Its own module because the push script wrapper and the coalescer (which sit below the queue
//! handle), the producer API (above it), the fetch path and the job search all need it.

/// A job ready to be written.
#[derive(Debug, Clone, Default)]
pub(crate) struct EncodedJob {
    pub(crate) id: String,
    pub(crate) payload: Vec<u8>,
    /// `None` or past: ready now.
    pub(crate) run_at_ms: Option<i64>,
    pub(crate) max_attempts: Option<usize>,
}

/// Splits a stored payload into its enqueue stamp and the payload the producer gave. A payload
/// stored before stamps existed (no `<digits>|` in front: JSON never starts that way) is
/// returned whole, without a stamp.
pub(crate) fn split_stamp(stored: &[u8]) -> (Option<i64>, &[u8]) {
    let digits = stored.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 16 || stored.get(digits) != Some(&b'|') {
        return (None, stored);
    }
    let stamp = std::str::from_utf8(&stored[..digits])
        .ok()
        .and_then(|s| s.parse().ok());
    match stamp {
        Some(ms) => (Some(ms), &stored[digits + 1..]),
        None => (None, stored),
    }
}

/// A fetched payload without its stamp (no copy: the stamp is drained off the front).
pub(crate) fn strip_stamp(mut stored: Vec<u8>) -> Vec<u8> {
    let stamp = stored.len() - split_stamp(&stored).1.len();
    stored.drain(..stamp);
    stored
}

#[cfg(test)]
mod tests {
    use super::{split_stamp, strip_stamp};

    #[test]
    fn stamps_are_split_off_and_unstamped_payloads_pass_through() {
        assert_eq!(
            split_stamp(b"1733140000000|{\"a\":1}"),
            (Some(1_733_140_000_000), &b"{\"a\":1}"[..])
        );
        assert_eq!(split_stamp(b"17|42"), (Some(17), &b"42"[..]));
        // Stored before stamps: a JSON number, object or string.
        assert_eq!(split_stamp(b"42"), (None, &b"42"[..]));
        assert_eq!(
            split_stamp(b"{\"a\":\"1|2\"}"),
            (None, &b"{\"a\":\"1|2\"}"[..])
        );
        assert_eq!(split_stamp(b"\"7|x\""), (None, &b"\"7|x\""[..]));
        assert_eq!(split_stamp(b""), (None, &b""[..]));
        assert_eq!(split_stamp(b"|x"), (None, &b"|x"[..]));
        assert_eq!(strip_stamp(b"5|[1]".to_vec()), b"[1]");
        assert_eq!(strip_stamp(b"[1]".to_vec()), b"[1]");
    }
}
