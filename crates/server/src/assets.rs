//! Files served as they are: the tracker, the opt-out page and its parts.
//! They are compiled into the binary, so `glasshouse serve` needs nothing
//! beside it. Pages are sent with a Content-Security-Policy that allows only
//! our own scripts and styles.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const TRACKER: &str = include_str!("../assets/glasshouse.js");
const PLAUSIBLE_OBJECTION: &str = include_str!("../assets/plausible-objection.js");
const OPTOUT_HTML: &str = include_str!("../assets/optout.html");
const OPTOUT_JS: &str = include_str!("../assets/optout.js");
const PAGE_CSS: &str = include_str!("../assets/page.css");

/// Allows our own files only: no inline script, no third parties.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn register(r: &mut crate::routes::Registrar) {
    r.public("/js/glasshouse.js", get(|| async { script(TRACKER) }))
        .public(
            "/js/plausible-objection.js",
            get(|| async { script(PLAUSIBLE_OBJECTION) }),
        )
        .public(
            "/js/optout.js",
            get(|| async {
                file(
                    "text/javascript; charset=utf-8",
                    OPTOUT_JS,
                    "public, max-age=3600",
                )
            }),
        )
        .public(
            "/assets/page.css",
            get(|| async { file("text/css; charset=utf-8", PAGE_CSS, "public, max-age=3600") }),
        )
        .public("/optout", get(optout));
}

fn file(content_type: &'static str, body: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A script any site may load: the tracker, or the objection hand-off
/// for sites on Plausible's tracker.
fn script(body: &'static str) -> Response {
    let mut r = file(
        "text/javascript; charset=utf-8",
        body,
        "public, max-age=3600",
    );
    // Any site may load the tracker.
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

async fn optout() -> Response {
    let mut r = file("text/html; charset=utf-8", OPTOUT_HTML, "no-cache");
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}
