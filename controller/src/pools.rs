//! `WORKER_POOLS`: the worker pools the controller manages, each a set of queues with its own
//! replica bounds, decided, scaled and recorded on its own (one Deployment or process group a
//! pool). Unset, there is one pool, `default`, of every queue within `MIN_WORKERS..MAX_WORKERS`.
//!
//! The format is `name=queue+queue@min-max` entries separated by `;`, e.g.
//! `goodwill=goodwill@0-20;rest=*@1-4`, where `*` stands for every queue of
//! [`ALL_QUEUES`] that no other pool names. Every queue ends up in exactly one pool; anything
//! else (an unknown or repeated queue, a repeated name, `min > max`, queues left over without a
//! `*` pool, bad syntax) is refused at startup with the reason.

use std::{fmt, str::FromStr};

use coin_shared::jobs::{ALL_QUEUES, queue_named};

/// The name of the pool used when `WORKER_POOLS` is unset. A pool of that name scales
/// `WORKER_DEPLOYMENT` itself; every other pool `<WORKER_DEPLOYMENT>-<name>`.
pub const DEFAULT_POOL: &str = "default";

/// One pool: the queues its workers serve and its replica bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// Its name (lowercase letters, digits and `-`), in records, metrics and Deployment names.
    pub name: String,
    /// The queues it serves, in the catalogue's order; never empty.
    pub queues: Vec<&'static str>,
    /// Fewest replicas.
    pub min: u32,
    /// Most replicas.
    pub max: u32,
}

impl PoolSpec {
    /// The single pool of every queue, as without `WORKER_POOLS`.
    pub fn default_pool(min: u32, max: u32) -> Self {
        Self {
            name: DEFAULT_POOL.to_owned(),
            queues: ALL_QUEUES.to_vec(),
            min,
            max: max.max(min),
        }
    }

    /// Whether it serves every queue (its workers then need no `WORKER_QUEUES`).
    pub fn serves_all(&self) -> bool {
        ALL_QUEUES.iter().all(|q| self.queues.contains(q))
    }

    /// The Deployment the Kubernetes scaler scales for it: `base` for the `default` pool,
    /// `<base>-<name>` for every other.
    pub fn deployment(&self, base: &str) -> String {
        if self.name == DEFAULT_POOL {
            base.to_owned()
        } else {
            format!("{base}-{}", self.name)
        }
    }

    /// Its queues as `WORKER_QUEUES` takes them: comma-separated.
    pub fn worker_queues(&self) -> String {
        self.queues.join(",")
    }
}

/// The pools `WORKER_POOLS` describes, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPools(Vec<PoolSpec>);

impl WorkerPools {
    /// The pools, in the order given.
    pub fn specs(&self) -> &[PoolSpec] {
        &self.0
    }
}

/// Why `WORKER_POOLS` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolsError {
    /// No entry at all.
    #[error("WORKER_POOLS names no pool (expected name=queue+queue@min-max;...)")]
    Empty,
    /// An entry not of the form `name=queue+queue@min-max`.
    #[error("pool entry {0:?} is not of the form name=queue+queue@min-max")]
    Syntax(String),
    /// A name with characters a Deployment name cannot hold.
    #[error(
        "pool name {0:?} must be 1 to 40 lowercase letters, digits or '-', not starting or ending with '-'"
    )]
    BadName(String),
    /// Bounds that are not two whole numbers.
    #[error("pool {pool:?}: bounds {bounds:?} are not min-max whole numbers")]
    BadBounds {
        /// The pool.
        pool: String,
        /// What was given.
        bounds: String,
    },
    /// `min > max`.
    #[error("pool {pool:?}: min {min} is above max {max}")]
    MinAboveMax {
        /// The pool.
        pool: String,
        /// Its min.
        min: u32,
        /// Its max.
        max: u32,
    },
    /// Two pools of one name.
    #[error("pool {0:?} is given twice")]
    DuplicateName(String),
    /// A queue the platform does not run.
    #[error("pool {pool:?}: unknown queue {queue:?} (queues: {known}, or *)", known = ALL_QUEUES.join(", "))]
    UnknownQueue {
        /// The pool.
        pool: String,
        /// The queue.
        queue: String,
    },
    /// A queue in two pools (or twice in one).
    #[error(
        "queue {queue:?} is in pool {first:?} and in pool {second:?}; a queue belongs to one pool"
    )]
    QueueTwice {
        /// The queue.
        queue: String,
        /// The pool that named it first.
        first: String,
        /// The other.
        second: String,
    },
    /// `*` in two pools.
    #[error("both pool {first:?} and pool {second:?} take the rest (*); only one may")]
    TwoWildcards {
        /// The first.
        first: String,
        /// The other.
        second: String,
    },
    /// Queues no pool serves, and no `*` pool to take them.
    #[error("queues {} are in no pool: name them in a pool or give one pool *", .0.join(", "))]
    LeftOver(Vec<&'static str>),
    /// A pool left with no queue (its `*` found none left).
    #[error("pool {0:?} serves no queue (every queue is in another pool)")]
    NoQueue(String),
}

/// One entry as written, before `*` is resolved.
struct Entry {
    name: String,
    named: Vec<&'static str>,
    rest: bool,
    min: u32,
    max: u32,
}

fn valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn entry(raw: &str) -> Result<Entry, PoolsError> {
    let syntax = || PoolsError::Syntax(raw.to_owned());
    let (name, rest) = raw.split_once('=').ok_or_else(syntax)?;
    let (queues, bounds) = rest.rsplit_once('@').ok_or_else(syntax)?;
    let name = name.trim();
    if !valid_name(name) {
        return Err(PoolsError::BadName(name.to_owned()));
    }
    let bad_bounds = || PoolsError::BadBounds {
        pool: name.to_owned(),
        bounds: bounds.to_owned(),
    };
    let (min, max) = bounds.split_once('-').ok_or_else(bad_bounds)?;
    let min: u32 = min.trim().parse().map_err(|_| bad_bounds())?;
    let max: u32 = max.trim().parse().map_err(|_| bad_bounds())?;
    if min > max {
        return Err(PoolsError::MinAboveMax {
            pool: name.to_owned(),
            min,
            max,
        });
    }
    let mut parsed = Entry {
        name: name.to_owned(),
        named: Vec::new(),
        rest: false,
        min,
        max,
    };
    for queue in queues.split('+').map(str::trim) {
        if queue == "*" {
            parsed.rest = true;
        } else if queue.is_empty() {
            return Err(syntax());
        } else {
            parsed
                .named
                .push(queue_named(queue).ok_or_else(|| PoolsError::UnknownQueue {
                    pool: name.to_owned(),
                    queue: queue.to_owned(),
                })?);
        }
    }
    Ok(parsed)
}

impl FromStr for WorkerPools {
    type Err = PoolsError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let entries = raw
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(entry)
            .collect::<Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Err(PoolsError::Empty);
        }
        // Who serves each queue, and who takes the rest.
        let mut owner: Vec<(&'static str, &str)> = Vec::new();
        let mut rest: Option<&str> = None;
        for (i, e) in entries.iter().enumerate() {
            if entries[..i].iter().any(|before| before.name == e.name) {
                return Err(PoolsError::DuplicateName(e.name.clone()));
            }
            if e.rest {
                if let Some(first) = rest {
                    return Err(PoolsError::TwoWildcards {
                        first: first.to_owned(),
                        second: e.name.clone(),
                    });
                }
                rest = Some(&e.name);
            }
            for queue in &e.named {
                if let Some((_, first)) = owner.iter().find(|(q, _)| q == queue) {
                    return Err(PoolsError::QueueTwice {
                        queue: (*queue).to_owned(),
                        first: (*first).to_owned(),
                        second: e.name.clone(),
                    });
                }
                owner.push((queue, &e.name));
            }
        }
        let left: Vec<&'static str> = ALL_QUEUES
            .iter()
            .copied()
            .filter(|q| !owner.iter().any(|(owned, _)| owned == q))
            .collect();
        if rest.is_none() && !left.is_empty() {
            return Err(PoolsError::LeftOver(left));
        }
        let specs = entries
            .iter()
            .map(|e| {
                let queues: Vec<&'static str> = ALL_QUEUES
                    .iter()
                    .copied()
                    .filter(|q| e.named.contains(q) || (e.rest && left.contains(q)))
                    .collect();
                if queues.is_empty() {
                    return Err(PoolsError::NoQueue(e.name.clone()));
                }
                Ok(PoolSpec {
                    name: e.name.clone(),
                    queues,
                    min: e.min,
                    max: e.max,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(specs))
    }
}

impl fmt::Display for WorkerPools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> = self
            .0
            .iter()
            .map(|p| format!("{}={}@{}-{}", p.name, p.queues.join("+"), p.min, p.max))
            .collect();
        f.write_str(&entries.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use coin_shared::jobs::ALL_QUEUES;

    use crate::pools::{PoolSpec, PoolsError, WorkerPools};

    fn spec(name: &str, queues: &[&'static str], min: u32, max: u32) -> PoolSpec {
        PoolSpec {
            name: name.to_owned(),
            queues: queues.to_vec(),
            min,
            max,
        }
    }

    #[test]
    fn valid_pools_parse_with_the_rest_resolved_in_catalogue_order() {
        let rest = [
            "votes",
            "governance",
            "webhooks",
            "distribution",
            "operations",
        ];
        assert_eq!(
            &ALL_QUEUES[1..],
            rest,
            "the catalogue this test was written for"
        );
        for (raw, expected) in [
            (
                "goodwill=goodwill@0-20;rest=*@1-4",
                vec![
                    spec("goodwill", &["goodwill"], 0, 20),
                    spec("rest", &rest, 1, 4),
                ],
            ),
            // Spaces and a trailing `;` are fine; `*` may come first and mix with names.
            (
                " rest = votes+* @ 2-2 ; goodwill=goodwill@0-20;",
                vec![
                    spec("rest", &rest, 2, 2),
                    spec("goodwill", &["goodwill"], 0, 20),
                ],
            ),
            ("all=*@1-10", vec![spec("all", ALL_QUEUES, 1, 10)]),
            (
                "a=distribution+goodwill@0-1;b=votes+governance+webhooks+operations@1-1",
                vec![
                    spec("a", &["goodwill", "distribution"], 0, 1),
                    spec(
                        "b",
                        &["votes", "governance", "webhooks", "operations"],
                        1,
                        1,
                    ),
                ],
            ),
        ] {
            let parsed: WorkerPools = raw.parse().unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(parsed.specs(), expected, "{raw:?}");
            let again: WorkerPools = parsed.to_string().parse().expect("round trip");
            assert_eq!(again, parsed, "{raw:?}");
        }
    }

    #[test]
    fn bad_pools_are_refused_with_the_reason() {
        let left = vec![
            "votes",
            "governance",
            "webhooks",
            "distribution",
            "operations",
        ];
        for (raw, expected) in [
            ("", PoolsError::Empty),
            (" ; ", PoolsError::Empty),
            ("goodwill", PoolsError::Syntax("goodwill".into())),
            (
                "goodwill=goodwill",
                PoolsError::Syntax("goodwill=goodwill".into()),
            ),
            (
                "g=goodwill+@0-1",
                PoolsError::Syntax("g=goodwill+@0-1".into()),
            ),
            ("Good=*@0-1", PoolsError::BadName("Good".into())),
            ("=*@0-1", PoolsError::BadName(String::new())),
            ("-g=*@0-1", PoolsError::BadName("-g".into())),
            (
                "g=*@1",
                PoolsError::BadBounds {
                    pool: "g".into(),
                    bounds: "1".into(),
                },
            ),
            (
                "g=*@one-2",
                PoolsError::BadBounds {
                    pool: "g".into(),
                    bounds: "one-2".into(),
                },
            ),
            (
                "g=*@-1-2",
                PoolsError::BadBounds {
                    pool: "g".into(),
                    bounds: "-1-2".into(),
                },
            ),
            (
                "g=*@5-2",
                PoolsError::MinAboveMax {
                    pool: "g".into(),
                    min: 5,
                    max: 2,
                },
            ),
            (
                "g=godwill@0-1;r=*@1-2",
                PoolsError::UnknownQueue {
                    pool: "g".into(),
                    queue: "godwill".into(),
                },
            ),
            (
                "g=goodwill@0-1;g=*@1-2",
                PoolsError::DuplicateName("g".into()),
            ),
            (
                "g=goodwill@0-1;h=goodwill+votes@1-2;r=*@1-1",
                PoolsError::QueueTwice {
                    queue: "goodwill".into(),
                    first: "g".into(),
                    second: "h".into(),
                },
            ),
            (
                "g=goodwill+goodwill@0-1;r=*@1-1",
                PoolsError::QueueTwice {
                    queue: "goodwill".into(),
                    first: "g".into(),
                    second: "g".into(),
                },
            ),
            (
                "a=*@0-1;b=*@1-2",
                PoolsError::TwoWildcards {
                    first: "a".into(),
                    second: "b".into(),
                },
            ),
            ("g=goodwill@0-1", PoolsError::LeftOver(left)),
            (
                "a=goodwill+votes+governance@1-1;b=webhooks+distribution+operations@1-1;r=*@1-1",
                PoolsError::NoQueue("r".into()),
            ),
        ] {
            let error = raw.parse::<WorkerPools>().err();
            assert_eq!(error.as_ref(), Some(&expected), "{raw:?}");
        }
        let said = "g=goodwill@0-1"
            .parse::<WorkerPools>()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            said.as_deref(),
            Some(
                "queues votes, governance, webhooks, distribution, operations are in no pool: \
                 name them in a pool or give one pool *"
            )
        );
    }

    #[test]
    fn the_default_pool_keeps_the_deployment_and_serves_every_queue() {
        let default = PoolSpec::default_pool(3, 2);
        assert_eq!((default.min, default.max), (3, 3), "max is raised to min");
        assert!(default.serves_all());
        assert_eq!(default.deployment("coin-worker"), "coin-worker");
        let goodwill = spec("goodwill", &["goodwill"], 0, 20);
        assert!(!goodwill.serves_all());
        assert_eq!(goodwill.deployment("coin-worker"), "coin-worker-goodwill");
        assert_eq!(
            spec("x", &["votes", "governance"], 0, 1).worker_queues(),
            "votes,governance"
        );
    }
}
