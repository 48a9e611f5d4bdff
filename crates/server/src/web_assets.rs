//! The dashboard front end: the pages and files Vite builds from `web/` into
//! `web/dist` (see `build.rs`), embedded in the binary so `glasshouse serve`
//! needs nothing beside it.
//!
//! - `page("dashboard.html")`, `page("login.html")`: the built HTML, for the
//!   handlers that fill in their markers (`<!--glasshouse:context-->`,
//!   `<!--glasshouse:csrf-->`, `<!--glasshouse:error-->`).
//! - `GET /static/*`: scripts, styles and other files. Their names carry a
//!   content hash, so they are cached for a year as immutable.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use std::borrow::Cow;

#[derive(RustEmbed)]
#[folder = "../../web/dist"]
#[include = "*.html"]
#[include = "static/*"]
struct Dist;

/// A built HTML page ("dashboard.html" or "login.html").
pub fn page(name: &str) -> Option<Cow<'static, str>> {
    if !name.ends_with(".html") || name.contains('/') {
        return None;
    }
    match Dist::get(name)?.data {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

/// Router serving GET /static/* with the right content types, long immutable
/// cache headers (file names are hashed) and nosniff.
pub fn register(r: &mut crate::routes::Registrar) {
    r.public("/static/{*path}", get(asset));
}

async fn asset(Path(path): Path<String>) -> Response {
    let file = if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        None
    } else {
        Dist::get(&format!("static/{path}"))
    };
    let Some(file) = file else {
        return (
            StatusCode::NOT_FOUND,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            "not found\n",
        )
            .into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        file.data,
    )
        .into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_built_with_their_markers() {
        let dashboard = page("dashboard.html").expect("web/dist/dashboard.html is embedded");
        assert!(dashboard.contains("<!--glasshouse:context-->"));
        assert!(dashboard.contains("/static/"));
        let login = page("login.html").expect("web/dist/login.html is embedded");
        assert!(login.contains("<!--glasshouse:csrf-->"));
        assert!(login.contains("<!--glasshouse:error-->"));
        assert!(page("../Cargo.toml").is_none());
        assert!(page("static/x.js").is_none());
    }

    #[test]
    fn every_file_the_pages_name_is_embedded() {
        for name in ["dashboard.html", "login.html"] {
            let html = page(name).unwrap();
            for part in html.split("/static/").skip(1) {
                let file = part.split('"').next().unwrap();
                assert!(
                    Dist::get(&format!("static/{file}")).is_some(),
                    "{name} names static/{file}"
                );
            }
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a-1.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a-1.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("a"), "application/octet-stream");
    }
}
