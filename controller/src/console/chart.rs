//! The overview's chart of the last hour: its points as JSON for `console.js` (uPlot, which
//! appends the live stream's `chart` events and draws a marker on the desired replicas at each
//! decision the timeline marks), and under it those decisions, newest first, each a
//! `<details>` with its inputs, reason and notes. A marker opens its entry; without a mouse or
//! JavaScript the entries are the list itself. The stream's `decision` events carry the new
//! entries as this module renders them.

use maud::{Markup, PreEscaped, html};

use super::{
    layout::{self, or_dash},
    state::ConsoleState,
};
use crate::timeline::Point;

/// The chart's section of the overview.
pub async fn section(state: &ConsoleState) -> Markup {
    let observed = state.observed.read().await;
    let points: Vec<&Point> = observed.timeline.points().collect();
    let summary = match (points.first(), points.last()) {
        (Some(first), Some(last)) => format!(
            "{} ticks since {}; now a backlog of {} jobs, {} replicas wanted, {} running.",
            points.len(),
            layout::time(first.time()),
            or_dash(last.backlog),
            last.desired,
            or_dash(last.current),
        ),
        _ => "No tick yet.".to_owned(),
    };
    let decided = points.iter().any(|p| p.mark.is_some());
    html! {
        section aria-labelledby="chart-title" {
            h2 id="chart-title" { "Last hour" }
            div.chart-box {
                div id="chart" role="img" aria-label={"Backlog, oldest wait and replicas over the last hour. " (summary)} {}
            }
            script type="application/json" id="chart-data" { (json_script(&points)) }
            p id="chart-reason" class="muted" aria-live="polite" { (summary) }
            h3 id="decisions-title" { "Decisions this hour" }
            p.muted {
                "Each decision that changed the desired replicas or the reason is a marker on the "
                "chart's desired replicas; a marker opens its entry here."
            }
            p.muted id="decisions-none" hidden[decided] { "No decision changed anything this hour." }
            ul id="decisions" aria-labelledby="decisions-title" { (entries(points.iter().copied())) }
        }
    }
}

/// The entries of the marked points among `points` (oldest first), newest first.
pub fn entries<'a>(points: impl DoubleEndedIterator<Item = &'a Point>) -> Markup {
    html! {
        @for point in points.rev() { @if let Some(mark) = &point.mark { (entry(point, mark)) } }
    }
}

/// One decision: when, from the running to the desired replicas, the reason in the summary;
/// opened, what it saw, its notes and a link to its row in the decision log.
fn entry(point: &Point, mark: &str) -> Markup {
    html! {
        li data-at=(point.at) {
            details id=(mark) {
                summary {
                    (layout::time(point.time())) ": " (or_dash(point.current)) " → "
                    (point.desired) " replicas, " code { (point.reason) }
                }
                p {
                    "Saw a backlog of " (or_dash(point.backlog)) " jobs, the oldest waiting "
                    (point.latency_secs.map_or_else(|| "–".to_owned(), layout::seconds))
                    ", " (or_dash(point.current)) " replicas running."
                }
                @if point.notes.is_empty() { p.muted { "No notes." } }
                @else { ul.notes { @for note in &point.notes { li { (note) } } } }
                @if let Some(id) = point.id {
                    p { a href={"/autoscaler?before=" (id.saturating_add(1)) "#decision-" (id)} { "This decision in the log" } }
                }
            }
        }
    }
}

/// `value` as JSON safe inside a `<script>` element.
pub fn json_script(value: &impl serde::Serialize) -> PreEscaped<String> {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned());
    PreEscaped(json.replace("</", "<\\/"))
}

#[cfg(test)]
mod tests {
    use crate::{console::chart::entries, timeline::Point};

    fn point(at: f64, mark: Option<&str>, notes: &[&str]) -> Point {
        Point {
            at,
            backlog: Some(40),
            latency_secs: Some(2.5),
            current: Some(1),
            desired: 3,
            reason: "ScaleUpLimit".into(),
            notes: notes.iter().map(|n| (*n).to_owned()).collect(),
            id: Some(41),
            mark: mark.map(str::to_owned),
        }
    }

    #[test]
    fn only_marked_points_get_an_entry_newest_first_with_their_reason_and_escaped_notes() {
        let points = [
            point(
                1.0,
                Some("mark-1000"),
                &["scale-up policy allows 3 now; wanted 5"],
            ),
            point(2.0, None, &[]),
            point(3.0, Some("mark-3000"), &["<script>"]),
        ];
        let html = entries(points.iter()).into_string();
        let newer = html.find(r#"id="mark-3000""#).expect("the newer entry");
        let older = html.find(r#"id="mark-1000""#).expect("the older entry");
        assert!(newer < older, "newest first: {html}");
        assert_eq!(html.matches("<details").count(), 2, "{html}");
        for part in [
            "1 → 3 replicas",
            "<code>ScaleUpLimit</code>",
            "scale-up policy allows 3 now; wanted 5",
            "&lt;script&gt;",
            "a backlog of 40 jobs",
            r#"href="/autoscaler?before=42#decision-41""#,
        ] {
            assert!(html.contains(part), "{part}: {html}");
        }
    }
}
