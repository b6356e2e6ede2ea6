//! The page shell every console page shares (navigation, sign-out form, the flash message), the
//! error page, and small formatting helpers. Pages read without JavaScript; the scripts only
//! add live updates and partial swaps.

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use super::{
    assets::{CSS_PATH, HTMX_PATH, JS_PATH, UPLOT_CSS_PATH, UPLOT_PATH},
    session::Session,
};

const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/queues", "Queues"),
    ("/jobs", "Jobs"),
    ("/workers", "Workers"),
    ("/autoscaler", "Autoscaler"),
    ("/schedules", "Schedules"),
    ("/webhooks", "Webhooks"),
    ("/governance", "Governance"),
];

/// A full page titled `title`; with the operator's `session` the navigation and a sign-out form.
pub fn page(
    title: &str,
    operator: Option<&Session>,
    flash: Option<String>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
                title { (title) " · People's Coin console" }
                link rel="stylesheet" href=(UPLOT_CSS_PATH);
                link rel="stylesheet" href=(CSS_PATH);
                script src=(HTMX_PATH) defer {}
                script src=(UPLOT_PATH) defer {}
                script src=(JS_PATH) defer {}
            }
            body {
                header {
                    a.brand href="/" { "People's Coin console" }
                    @if let Some(op) = operator {
                        nav aria-label="Console" {
                            ul { @for (href, name) in NAV { li { a href=(href) { (name) } } } }
                        }
                        form.logout method="post" action="/logout" {
                            (op.csrf_field())
                            span.who { "operator " code { (op.user_id) } }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" {
                    @if let Some(message) = flash { p.flash role="status" { (message) } }
                    (body)
                }
            }
        }
    }
}

/// The page of an error: its status and a message safe to show.
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let reason = status.canonical_reason().unwrap_or("Error");
    page(
        reason,
        None,
        None,
        html! {
            h1 { (status.as_u16()) " " (reason) }
            p.error role="alert" { (message) }
            p { a href="/" { "Back to the overview" } " · " a href="/login" { "Sign in" } }
        },
    )
}

/// A table's header row: one `th scope="col"` a column, numeric columns (their label starting
/// with `#`, which is not shown) right-aligned like their cells.
pub fn head(columns: &[&str]) -> Markup {
    html! {
        thead { tr { @for column in columns {
            @match column.strip_prefix('#') {
                Some(label) => th.num scope="col" { (label) },
                None => th scope="col" { (column) },
            }
        } } }
    }
}

/// A count or a measurement, or a dash when it is unknown.
pub fn or_dash(value: Option<impl std::fmt::Display>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// A rate per second, or a dash before two reads exist.
pub fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}/s"))
}

/// Seconds, readable.
pub fn seconds(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else if secs < 120.0 {
        format!("{secs:.1} s")
    } else {
        format!("{:.1} min", secs / 60.0)
    }
}

/// A time, to the second, in UTC.
pub fn time(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "–".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// `value` escaped for a URL query.
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::console::layout::*;

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(query_escape("goodwill|1700:abc"), "goodwill%7C1700%3Aabc");
        assert_eq!(query_escape("a b&c"), "a%20b%26c");
    }

    #[test]
    fn durations_and_rates_read_well() {
        assert_eq!(seconds(0.25), "250 ms");
        assert_eq!(seconds(12.0), "12.0 s");
        assert_eq!(seconds(600.0), "10.0 min");
        assert_eq!(rate(None), "–");
        assert_eq!(rate(Some(2.0)), "2.0/s");
    }
}
