//! The header and idle timeouts of one served connection: what it is doing (reading a
//! request's headers, running a request, idle between requests) and when it is due to be
//! closed.
//!
//! hyper's own `header_read_timeout` also runs while a kept-alive connection waits for its
//! next request, so it cannot tell a slow header from an idle connection; this watchdog does:
//! a new connection must finish its first headers within the header timeout of its accept, a
//! kept-alive one may wait the idle timeout for its next request, whose headers then have the
//! header timeout from their first byte. A request in flight is never cut here: its body has
//! its own deadline ([`crate::body_limits`]).

use std::{
    io,
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The header and idle timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a request's headers.
    pub header: Duration,
    /// For a kept-alive connection's next request.
    pub idle: Duration,
}

/// The origin of the watchdog's clock.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Milliseconds of the watchdog's clock.
fn now_ms() -> u64 {
    u64::try_from(origin().elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The instant `ms` of the watchdog's clock.
pub fn instant_of(ms: u64) -> Instant {
    origin() + Duration::from_millis(ms)
}

/// What one connection is doing, updated by its I/O and its requests.
#[derive(Debug)]
pub struct Activity {
    /// A request is being answered.
    busy: AtomicBool,
    /// No request has started yet.
    fresh: AtomicBool,
    /// When the connection was accepted or its last request ended.
    idle_since: AtomicU64,
    /// When the next request's first byte arrived, plus one (0: none yet).
    first_byte: AtomicU64,
}

/// What the watchdog decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Look again at this instant (of the watchdog's clock).
    WaitUntil(u64),
    /// Close the connection: its headers or its idle time ran out.
    Expired,
}

impl Activity {
    /// A connection accepted now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            busy: AtomicBool::new(false),
            fresh: AtomicBool::new(true),
            idle_since: AtomicU64::new(now_ms()),
            first_byte: AtomicU64::new(0),
        })
    }

    /// Bytes arrived.
    fn read(&self) {
        if self.first_byte.load(Ordering::Relaxed) == 0 && !self.busy.load(Ordering::Relaxed) {
            self.first_byte.store(now_ms() + 1, Ordering::Relaxed);
        }
    }

    /// A request's headers are in: it is being answered until the guard drops.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.busy.store(true, Ordering::Relaxed);
        self.fresh.store(false, Ordering::Relaxed);
        self.first_byte.store(0, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Whether a request is being answered.
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed)
    }

    /// When this connection is due to close, as of now.
    pub fn verdict(&self, timeouts: Timeouts) -> Verdict {
        verdict(
            Snapshot {
                busy: self.busy.load(Ordering::Relaxed),
                fresh: self.fresh.load(Ordering::Relaxed),
                idle_since: self.idle_since.load(Ordering::Relaxed),
                first_byte: self.first_byte.load(Ordering::Relaxed).checked_sub(1),
            },
            timeouts,
            now_ms(),
        )
    }
}

/// Marks its connection busy while alive.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(now_ms(), Ordering::Relaxed);
        self.0.first_byte.store(0, Ordering::Relaxed);
        self.0.busy.store(false, Ordering::Relaxed);
    }
}

/// One reading of an [`Activity`].
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// A request is being answered.
    pub busy: bool,
    /// No request has started yet.
    pub fresh: bool,
    /// When it was accepted or its last request ended.
    pub idle_since: u64,
    /// When the next request's first byte arrived.
    pub first_byte: Option<u64>,
}

/// The decision on `s` at `now` (milliseconds of one clock).
pub fn verdict(s: Snapshot, timeouts: Timeouts, now: u64) -> Verdict {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let due = if s.busy {
        // Looked at again later; a request is not cut here.
        return Verdict::WaitUntil(now.saturating_add(ms(timeouts.header.min(timeouts.idle))));
    } else if s.fresh {
        s.idle_since.saturating_add(ms(timeouts.header))
    } else if let Some(first) = s.first_byte {
        first.saturating_add(ms(timeouts.header))
    } else {
        s.idle_since.saturating_add(ms(timeouts.idle))
    };
    if now >= due {
        Verdict::Expired
    } else {
        Verdict::WaitUntil(due)
    }
}

/// A connection's stream, telling its [`Activity`] when bytes arrive.
#[derive(Debug)]
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    /// Watches `inner` for `activity`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::watchdog::{Snapshot, Timeouts, Verdict, verdict};

    const T: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    fn snapshot(fresh: bool, first_byte: Option<u64>) -> Snapshot {
        Snapshot {
            busy: false,
            fresh,
            idle_since: 1_000,
            first_byte,
        }
    }

    /// Checks the verdict on `s` at each instant of `expected`.
    fn verdicts(s: Snapshot, expected: &[(u64, Verdict)]) {
        for &(now, verdict_then) in expected {
            assert_eq!(verdict(s, T, now), verdict_then, "{s:?} at {now}");
        }
    }

    #[test]
    fn a_new_connection_has_the_header_timeout_from_its_accept() {
        let waiting = (5_000, Verdict::WaitUntil(11_000));
        verdicts(snapshot(true, None), &[waiting, (11_000, Verdict::Expired)]);
        // A first byte does not restart it.
        verdicts(snapshot(true, Some(10_000)), &[(11_000, Verdict::Expired)]);
    }

    #[test]
    fn a_kept_alive_connection_idles_up_to_the_idle_timeout_then_has_the_header_timeout() {
        let idle = [
            (30_000, Verdict::WaitUntil(61_000)),
            (61_000, Verdict::Expired),
        ];
        verdicts(snapshot(false, None), &idle);
        let started = [
            (59_000, Verdict::WaitUntil(60_000)),
            (60_000, Verdict::Expired),
        ];
        verdicts(snapshot(false, Some(50_000)), &started);
    }

    #[test]
    fn a_request_in_flight_is_never_expired() {
        let busy = Snapshot {
            busy: true,
            ..snapshot(true, None)
        };
        assert_eq!(verdict(busy, T, 1_000_000), Verdict::WaitUntil(1_010_000));
    }
}
