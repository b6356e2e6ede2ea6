//! Scaling policy presets (`SCALING_POLICY`): ours, KEDA's redis-lists scaler under HPA's
//! defaults, and a fixed fleet at the maximum. Each is the same [`super::decide`] with other
//! knobs, so a comparison measures the policies, not two implementations.

use std::{fmt, str::FromStr, time::Duration};

use super::{
    policy::{Policy, Signal},
    slo::LatencySlo,
};

/// A scaling policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Our controller: pending work, measured throughput, latency SLO per queue, knee
    /// detection and safe scale to zero, evaluated every tick.
    #[default]
    Coin,
    /// KEDA's redis-lists scaler with HPA's defaults: every 30 s, the length of the ready list
    /// only, AverageValue target per replica, tolerance 0.1, scale-up max(+100 %, +4) per 15 s,
    /// scale-down stabilization 300 s.
    KedaHpa,
    /// `MAX_WORKERS` all the time.
    StaticMax,
}

impl Preset {
    /// Every preset, in the order reports list them.
    pub const ALL: [Preset; 3] = [Preset::Coin, Preset::KedaHpa, Preset::StaticMax];

    /// The name `SCALING_POLICY` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coin => "coin",
            Self::KedaHpa => "keda-hpa",
            Self::StaticMax => "static-max",
        }
    }

    /// The policy this preset runs, from the operator's `configured` one (its bounds, target
    /// and, for `coin`, every knob); `keda-hpa` resets what KEDA and HPA fix themselves.
    pub fn policy(self, configured: &Policy) -> Policy {
        match self {
            Self::Coin => configured.clone(),
            Self::KedaHpa => {
                let hpa = Policy::default();
                Policy {
                    signal: Signal::ReadyOnly,
                    evaluation_period: Duration::from_secs(30),
                    latency_slo: LatencySlo::none(),
                    min_marginal_gain: 0.0,
                    // KEDA sees the ready list only: no schedule is known ahead.
                    prescale_lead: Duration::ZERO,
                    tolerance: hpa.tolerance,
                    scale_up_pods: hpa.scale_up_pods,
                    scale_up_fraction: hpa.scale_up_fraction,
                    scale_up_period: hpa.scale_up_period,
                    scale_up_stabilization: hpa.scale_up_stabilization,
                    scale_down_stabilization: hpa.scale_down_stabilization,
                    ..configured.clone()
                }
            }
            Self::StaticMax => Policy {
                min_replicas: configured.max_replicas,
                ..configured.clone()
            },
        }
    }
}

impl FromStr for Preset {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| {
                format!("unknown scaling policy {raw:?} (expected coin, keda-hpa or static-max)")
            })
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
