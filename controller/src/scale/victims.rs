//! Which workers a scale-down removes: the idlest. Both scalers ask this one pure function, the
//! Kubernetes scaler for pods (which it then marks with a low deletion cost) and the process
//! scaler for child processes (which it then sends SIGTERM), so a busy worker is the last to go.

/// Positions (into `inflight`, one entry per candidate worker) of the `remove` workers to stop,
/// idlest first: fewest jobs in flight; among equals, the earlier candidate (the caller orders
/// its candidates by its own tie-break). A worker the registry does not know is given 0 in
/// flight by the caller. At most `inflight.len()` positions.
pub fn idlest(inflight: &[u64], remove: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..inflight.len()).collect();
    // Stable: equals keep the caller's order.
    order.sort_by_key(|&i| inflight[i]);
    order.truncate(remove);
    order
}

#[cfg(test)]
mod tests {
    //! The choice table: counts in flight → who goes.

    use crate::scale::victims::idlest;

    #[test]
    fn the_fewest_jobs_in_flight_go_first() {
        assert_eq!(idlest(&[5, 0, 3, 1], 2), vec![1, 3]);
        assert_eq!(idlest(&[5, 0, 3, 1], 3), vec![1, 3, 2]);
    }

    #[test]
    fn equals_go_in_the_callers_order() {
        assert_eq!(idlest(&[2, 0, 0, 0], 2), vec![1, 2]);
        assert_eq!(idlest(&[0, 0, 0], 1), vec![0]);
    }

    #[test]
    fn a_busy_worker_goes_only_when_every_idler_one_went() {
        assert_eq!(idlest(&[7, 0], 1), vec![1]);
        assert_eq!(idlest(&[7, 0], 2), vec![1, 0]);
    }

    #[test]
    fn nothing_to_remove_or_more_than_there_are() {
        assert!(idlest(&[1, 2], 0).is_empty());
        assert!(idlest(&[], 3).is_empty());
        assert_eq!(idlest(&[4, 1], 5), vec![1, 0]);
    }
}
