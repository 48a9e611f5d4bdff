//! An id for every request: in the `x-request-id` answer header, in every
//! error answer's JSON (`request_id`), and on every log line written while
//! the request runs, so a person quoting an error can be matched to the log
//! without the log holding who they are.
//!
//! A proxy's `x-request-id` is kept when it is a plain token (letters,
//! digits, `-`, `_`, at most 64), so the proxy's log and ours share it;
//! anything else is replaced by a random one.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header, in and out.
pub const HEADER: &str = "x-request-id";

/// The id of the request being answered, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn plain(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The middleware around every route.
pub async fn layer(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| plain(v))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let span = tracing::info_span!("request", id = %id);
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_ids_are_kept() {
        assert!(super::plain("3f2a-9c_01"));
        for bad in ["", "a b", "x\u{e9}", "<script>", &"a".repeat(65)] {
            assert!(!super::plain(bad), "{bad}");
        }
    }
}
