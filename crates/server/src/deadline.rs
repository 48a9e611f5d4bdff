//! Every request answered in time: a 408 with a JSON reason after
//! `listen::REQUEST_TIMEOUT`, or after `listen::EXCHANGE_TIMEOUT` for a
//! partner node's message (a set intersection may take minutes).
//!
//! One layer outside routing that picks the time by path, rather than a
//! timeout layer on each router: axum wraps every route of a layered router
//! in one more box and clones that box for each request, and the collector
//! answers tens of thousands of requests a second.

use crate::ApiError;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The time every request gets, and the longer time of a few paths.
#[derive(Clone)]
pub struct Layer {
    limit: Duration,
    long: Duration,
    long_paths: Arc<[&'static str]>,
}

impl Layer {
    /// Requests to `long_paths` (exact paths) get `long`; all others `limit`.
    pub fn new(limit: Duration, long: Duration, long_paths: Vec<&'static str>) -> Layer {
        Layer {
            limit,
            long,
            long_paths: long_paths.into(),
        }
    }

    fn limit_for(&self, path: &str) -> Duration {
        if self.long_paths.contains(&path) {
            self.long
        } else {
            self.limit
        }
    }
}

impl<S> tower::Layer<S> for Layer {
    type Service = Deadline<S>;
    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            times: self.clone(),
        }
    }
}

/// `S`, each of its answers cut off at its time ([`Layer`]).
#[derive(Clone)]
pub struct Deadline<S> {
    inner: S,
    times: Layer,
}

impl<S> tower::Service<Request> for Deadline<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Timed<S::Future> {
        let limit = self.times.limit_for(request.uri().path());
        Timed {
            inner: self.inner.call(request),
            sleep: tokio::time::sleep(limit),
            limit,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of a [`Deadline`] service: the inner answer, or a 408.
    pub struct Timed<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
        limit: Duration,
    }
}

impl<F, E> Future for Timed<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(answer) = this.inner.poll(cx) {
            return Poll::Ready(answer);
        }
        if this.sleep.poll(cx).is_pending() {
            return Poll::Pending;
        }
        let error = ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            message: format!(
                "the request was not answered within {} s",
                this.limit.as_secs_f64()
            ),
            audited: None,
        };
        Poll::Ready(Ok(error.into_response()))
    }
}

#[cfg(test)]
mod tests {
    use super::Layer;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::StatusCode;
    use axum::response::Response;
    use std::convert::Infallible;
    use std::time::{Duration, Instant};
    use tower::{Layer as _, ServiceExt};

    /// A service that answers 200 after `after`.
    fn slow(
        after: Duration,
    ) -> impl tower::Service<Request, Response = Response, Error = Infallible> {
        tower::service_fn(move |_: Request| async move {
            tokio::time::sleep(after).await;
            Ok::<_, Infallible>(Response::new(Body::from("done")))
        })
    }

    fn request(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    /// Requests wait 100 ms, or 5 s on `/node`.
    fn layer() -> Layer {
        Layer::new(
            Duration::from_millis(100),
            Duration::from_secs(5),
            vec!["/node"],
        )
    }

    /// The answer to `path` from a service that takes `after`.
    async fn answer(after: Duration, path: &str) -> Response {
        layer()
            .layer(slow(after))
            .oneshot(request(path))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_request_not_answered_in_time_gets_a_408_with_a_reason() {
        let started = Instant::now();
        let answer = answer(Duration::from_secs(30), "/api/event").await;
        let waited = started.elapsed();
        assert_eq!(answer.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        let body = axum::body::to_bytes(answer.into_body(), 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "the request was not answered within 0.1 s");
    }

    #[tokio::test]
    async fn the_long_paths_get_the_long_time_and_others_are_answered() {
        let long = Duration::from_millis(400);
        assert_eq!(answer(long, "/node").await.status(), StatusCode::OK);
        // Only the exact path: another under it gets the short time.
        assert_eq!(
            answer(long, "/node/other").await.status(),
            StatusCode::REQUEST_TIMEOUT
        );
        let quick = Duration::from_millis(1);
        assert_eq!(answer(quick, "/api/event").await.status(), StatusCode::OK);
    }
}
