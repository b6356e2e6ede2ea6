//! `WORKER_QUEUES`: the queues of the shared catalogue (`coin_shared::jobs::ALL_QUEUES`) one
//! worker process serves, so a deployment can run a pool of workers per queue. Every process
//! still runs every schedule (each tick takes effect once, whoever runs it).

use std::{fmt, str::FromStr};

use coin_shared::jobs::{ALL_QUEUES, queue_named};

/// The queues a process serves, in the catalogue's order; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSelection {
    queues: Vec<&'static str>,
}

impl Default for QueueSelection {
    fn default() -> Self {
        Self::all()
    }
}

impl QueueSelection {
    /// Every queue (`WORKER_QUEUES=all`, the default).
    pub fn all() -> Self {
        Self {
            queues: ALL_QUEUES.to_vec(),
        }
    }

    /// Whether this process takes jobs of `queue`.
    pub fn serves(&self, queue: &str) -> bool {
        self.queues.contains(&queue)
    }

    /// The queues served, in the catalogue's order.
    pub fn queues(&self) -> &[&'static str] {
        &self.queues
    }
}

impl FromStr for QueueSelection {
    type Err = String;

    /// `all` (or nothing) for every queue, else comma-separated queue names; an unknown name
    /// is refused with the list of queues.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let names: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() || names.iter().any(|n| n.eq_ignore_ascii_case("all")) {
            return if names.len() > 1 {
                Err("`all` cannot be combined with queue names".to_owned())
            } else {
                Ok(Self::all())
            };
        }
        if let Some(unknown) = names.iter().find(|n| queue_named(n).is_none()) {
            return Err(format!(
                "unknown queue {unknown:?} (queues: {}, or all)",
                ALL_QUEUES.join(", ")
            ));
        }
        let queues = ALL_QUEUES
            .iter()
            .copied()
            .filter(|q| names.contains(q))
            .collect();
        Ok(Self { queues })
    }
}

impl fmt::Display for QueueSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.queues.len() == ALL_QUEUES.len() {
            f.write_str("all")
        } else {
            f.write_str(&self.queues.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use coin_shared::jobs::ALL_QUEUES;

    use crate::queue_selection::QueueSelection;

    #[test]
    fn all_or_nothing_serves_every_queue() {
        for raw in ["all", "", " ALL ", ","] {
            let selection: QueueSelection = raw.parse().expect("valid");
            assert_eq!(selection.queues(), ALL_QUEUES, "{raw:?}");
            assert_eq!(selection.to_string(), "all");
        }
    }

    #[test]
    fn named_queues_are_served_in_the_catalogues_order_once() {
        let selection: QueueSelection = " votes, goodwill ,votes".parse().expect("valid");
        assert_eq!(selection.queues(), ["goodwill", "votes"]);
        assert!(selection.serves("goodwill") && !selection.serves("distribution"));
        assert_eq!(selection.to_string(), "goodwill,votes");
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_list_of_queues() {
        let e = "goodwill,godwill"
            .parse::<QueueSelection>()
            .expect_err("unknown");
        assert!(e.contains("unknown queue \"godwill\""), "{e}");
        assert!(e.contains("goodwill, votes, governance"), "{e}");
        let e = "all,votes".parse::<QueueSelection>().expect_err("mixed");
        assert!(e.contains("cannot be combined"), "{e}");
    }
}
