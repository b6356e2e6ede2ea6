//! One PNG per run: four panels over the run's seconds — arrivals (jobs/s accepted), backlog
//! (jobs waiting and held by workers), goodwill latency with its SLO, and worker replicas.
//! Drawn with plotters' bitmap backend; text goes through ab_glyph with a TrueType font found
//! at run time (`COIN_BENCH_FONT`, else DejaVu Sans or Liberation Sans where Debian puts
//! them), never through fontconfig. Without a font the panels are drawn without text, in the
//! order above, top to bottom.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use crate::autoscale::metrics::Second;

/// Where Debian and friends keep a usable sans-serif font.
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a font for plotters' "sans-serif" once; whether text can be drawn.
fn font() -> bool {
    static FONT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FONT.get_or_init(|| {
        let candidates = std::env::var("COIN_BENCH_FONT")
            .ok()
            .into_iter()
            .chain(FONTS.iter().map(|p| (*p).to_owned()));
        for path in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// The value a line takes in a second.
type Value<'a> = Box<dyn Fn(&Second) -> f64 + 'a>;

/// One panel: its name (with the unit), its lines as (label, colour, value).
struct Panel<'a> {
    name: &'a str,
    lines: Vec<(&'a str, RGBColor, Value<'a>)>,
}

/// Draws `series` of the run titled `title` to `path`; `slo_secs` is drawn on the latency
/// panel, `trace_secs` marks the end of the trace (the drain follows).
pub fn draw(
    path: &Path,
    title: &str,
    series: &[Second],
    slo_secs: f64,
    trace_secs: u64,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let text = font();
    let root = BitMapBackend::new(path, (1200, 1000)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = if text {
        root.titled(title, ("sans-serif", 22))?
    } else {
        root
    };
    let panels = [
        Panel {
            name: "arrivals (jobs/s) over the run's seconds",
            lines: vec![("accepted", BLUE, Box::new(|s| s.arrivals as f64))],
        },
        Panel {
            name: "goodwill jobs",
            lines: vec![
                ("waiting", RED, Box::new(|s| s.backlog as f64)),
                ("held by workers", MAGENTA, Box::new(|s| s.inflight as f64)),
            ],
        },
        Panel {
            name: "latency (s)",
            lines: vec![
                (
                    "oldest waiting / slowest commit",
                    RED,
                    Box::new(Second::latency_secs),
                ),
                ("SLO", BLACK, Box::new(move |_| slo_secs)),
            ],
        },
        Panel {
            name: "worker replicas",
            lines: vec![("live processes", GREEN, Box::new(|s| f64::from(s.replicas)))],
        },
    ];
    let end = series.last().map_or(1, |s| s.t.max(1)) as f64;
    for (area, panel) in root.split_evenly((panels.len(), 1)).iter().zip(&panels) {
        let top = series
            .iter()
            .flat_map(|s| panel.lines.iter().map(move |(_, _, f)| f(s)))
            .fold(1.0_f64, f64::max)
            * 1.1;
        let mut builder = ChartBuilder::on(area);
        builder.margin(8);
        if text {
            builder
                .caption(panel.name, ("sans-serif", 16))
                .x_label_area_size(24)
                .y_label_area_size(60);
        }
        let mut chart = builder.build_cartesian_2d(0.0..end, 0.0..top)?;
        if text {
            chart
                .configure_mesh()
                .label_style(("sans-serif", 12))
                .draw()?;
        } else {
            chart.configure_mesh().x_labels(0).y_labels(0).draw()?;
        }
        let trace_end = trace_secs as f64;
        chart.draw_series(LineSeries::new(
            [(trace_end, 0.0), (trace_end, top)],
            BLACK.mix(0.3),
        ))?;
        for (label, colour, value) in &panel.lines {
            let drawn = chart.draw_series(LineSeries::new(
                series.iter().map(|s| (s.t as f64, value(s))),
                colour.stroke_width(2),
            ))?;
            if text {
                let colour = *colour;
                drawn
                    .label(*label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            }
        }
        if text {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()?;
        }
    }
    root.present()
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}
