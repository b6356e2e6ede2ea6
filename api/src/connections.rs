//! The connection cap: how many connections the server holds open, and what a connection
//! accepted beyond it gets.
//!
//! At most `max` connections are served (HTTP/1.1 with its header, body and idle timeouts).
//! Beyond that a connection is shed: it gets a bare `503` with `Retry-After: 1` and is closed,
//! without a task of its own. A few more, `reserve`, are kept for liveness: such a connection
//! may show its first bytes (for a short window) and, if they are `GET /livez`, gets the
//! liveness answer instead (see [`crate::shed`]). So a flood of half-open connections (a
//! slowloris) fills the served slots, then is shed as it arrives, but never takes the liveness
//! probe with it: a probe sends its request line at once and is told apart in microseconds,
//! while the reserve only holds connections for that short window.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// Connections kept for `GET /livez` beyond the cap.
pub const LIVEZ_RESERVE: usize = 64;

/// Counts the open connections of one server.
#[derive(Debug)]
pub struct ConnectionLimit {
    max: usize,
    reserve: usize,
    served: AtomicUsize,
    probing: AtomicUsize,
}

/// What a newly accepted connection gets.
#[derive(Debug)]
pub enum Admission {
    /// Served in full; the slot frees on drop.
    Serve(Slot),
    /// Over the cap: may be a liveness probe; the reserved slot frees on drop.
    Probe(Slot),
    /// Over the cap and the reserve: answer 503 and close.
    Shed,
}

/// One taken slot of a [`ConnectionLimit`]; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    limit: Arc<ConnectionLimit>,
    reserved: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let counter = if self.reserved {
            &self.limit.probing
        } else {
            &self.limit.served
        };
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionLimit {
    /// At most `max` served connections and `reserve` liveness probes beyond them.
    pub fn new(max: usize, reserve: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            reserve,
            served: AtomicUsize::new(0),
            probing: AtomicUsize::new(0),
        })
    }

    /// Takes a slot for a newly accepted connection, if any is left.
    pub fn admit(self: &Arc<Self>) -> Admission {
        if take(&self.served, self.max) {
            Admission::Serve(Slot {
                limit: self.clone(),
                reserved: false,
            })
        } else if take(&self.probing, self.reserve) {
            Admission::Probe(Slot {
                limit: self.clone(),
                reserved: true,
            })
        } else {
            Admission::Shed
        }
    }

    /// Connections being served now.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::Acquire)
    }
}

/// Increments `counter` unless it is at `max`.
fn take(counter: &AtomicUsize, max: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use crate::connections::{Admission, ConnectionLimit};

    #[test]
    fn beyond_the_cap_the_reserve_is_for_probes_then_connections_are_shed() {
        let limit = ConnectionLimit::new(2, 1);
        let first = limit.admit();
        let second = limit.admit();
        assert!(matches!(first, Admission::Serve(_)));
        assert!(matches!(second, Admission::Serve(_)));
        let probe = limit.admit();
        assert!(matches!(probe, Admission::Probe(_)), "{probe:?}");
        assert!(matches!(limit.admit(), Admission::Shed));
        assert_eq!(limit.served(), 2);

        drop(probe);
        let probe = limit.admit();
        assert!(
            matches!(probe, Admission::Probe(_)),
            "the reserve slot is back"
        );
        drop(first);
        assert_eq!(limit.served(), 1);
        assert!(
            matches!(limit.admit(), Admission::Serve(_)),
            "a served slot is back"
        );
    }

    #[test]
    fn slots_are_counted_exactly_under_contention() {
        let limit = ConnectionLimit::new(100, 0);
        let slots: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let limit = limit.clone();
                    scope.spawn(move || (0..50).map(|_| limit.admit()).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let served = slots
            .iter()
            .filter(|a| matches!(a, Admission::Serve(_)))
            .count();
        assert_eq!((served, limit.served()), (100, 100));
        drop(slots);
        assert_eq!(limit.served(), 0);
    }
}
