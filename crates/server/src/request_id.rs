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
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::task::futures::TaskLocalFuture;
use tower::util::Oneshot;
use tracing::instrument::Instrumented;
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

/// The id to answer `request` under: the proxy's, or a new one.
fn id_of(request: &Request) -> String {
    request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| plain(v))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()))
}

/// Gives every request an id, outside all routing. A plain tower layer
/// rather than a middleware function: that would box the rest of the stack
/// and its future again for each request, and the collector answers tens
/// of thousands a second.
#[derive(Clone, Copy, Default)]
pub struct Layer;

impl<S> tower::Layer<S> for Layer {
    type Service = WithId<S>;
    fn layer(&self, inner: S) -> WithId<S> {
        WithId { inner }
    }
}

/// `S`, its requests answered under an id ([`Layer`]).
#[derive(Clone)]
pub struct WithId<S> {
    inner: S,
}

impl<S> tower::Service<Request> for WithId<S>
where
    S: tower::Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Answer<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Answer<S> {
        let id = id_of(&request);
        let header = HeaderValue::from_str(&id).ok();
        let span = tracing::info_span!("request", id = %id);
        // The inner service is called when first polled, within the id's
        // scope, so whatever it logs while routing carries the id too.
        let inner = Oneshot::new(self.inner.clone(), request);
        Answer {
            inner: REQUEST_ID.scope(id, inner.instrument(span)),
            header,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of a [`WithId`] service: the inner answer, carrying the
    /// id in its header.
    pub struct Answer<S: tower::Service<Request>> {
        #[pin]
        inner: TaskLocalFuture<String, Instrumented<Oneshot<S, Request>>>,
        header: Option<HeaderValue>,
    }
}

impl<S> Future for Answer<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(v) = this.header.take() {
            response.headers_mut().insert(HEADER, v);
        }
        Poll::Ready(Ok(response))
    }
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
