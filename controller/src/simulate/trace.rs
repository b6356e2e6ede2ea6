//! Arrival traces: jobs per second over a (compressible) day.

/// The shape of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `base`, then `peak` from a quarter to three quarters of the day, then `base` again.
    Step,
    /// Between `base` and `peak` and back, six times a day.
    Sine,
    /// `base`, with twenty minutes at `peak` in the middle of every four hours (a burst stays
    /// longer than a controller tick when the day is compressed into minutes).
    Burst,
    /// One daily wave: `base` at night, `peak` at noon.
    Diurnal,
}

impl Shape {
    /// Every shape, in the order reports list them.
    pub const ALL: [Shape; 4] = [Shape::Step, Shape::Sine, Shape::Burst, Shape::Diurnal];

    /// The name `--trace` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Step => "step",
            Self::Sine => "sine",
            Self::Burst => "burst",
            Self::Diurnal => "diurnal",
        }
    }
}

/// Jobs per second over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trace {
    /// The shape.
    pub shape: Shape,
    /// Lowest rate, jobs per second.
    pub base: f64,
    /// Highest rate, jobs per second.
    pub peak: f64,
    /// How many times faster than real time the day runs (1: a day lasts 86,400 s).
    pub compression: f64,
}

/// Seconds in an uncompressed day.
const DAY: f64 = 86_400.0;

impl Trace {
    /// Seconds the trace lasts.
    pub fn duration_secs(&self) -> u64 {
        (DAY / self.compression.max(1e-9)).round() as u64
    }

    /// Arrivals per second at `secs` from the start.
    pub fn rate_at(&self, secs: f64) -> f64 {
        let day = secs * self.compression / DAY;
        let phase = day.fract();
        let amplitude = self.peak - self.base;
        let wave = |cycles: f64| (1.0 - (std::f64::consts::TAU * phase * cycles).cos()) / 2.0;
        let share = match self.shape {
            Shape::Step => f64::from(u8::from((0.25..0.75).contains(&phase))),
            Shape::Sine => wave(6.0),
            // Each four hours' burst starts halfway through them.
            Shape::Burst => f64::from(u8::from(
                (0.5..0.5 + 1.0 / 12.0).contains(&(phase * 6.0).fract()),
            )),
            Shape::Diurnal => wave(1.0).powi(2),
        };
        self.base + amplitude * share
    }
}
