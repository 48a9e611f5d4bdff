//! Accepting connections with the timeouts hyper leaves off by default.
//!
//! hyper enforces a header-read timeout only when it is given a timer, and
//! `axum::serve` gives it none: a client that sends its headers one byte a
//! minute would hold a connection (and its memory) for ever. Here every
//! connection gets a timer and [`HEADER_READ_TIMEOUT`], and every request
//! at most [`REQUEST_TIMEOUT`] to be answered (408 after it, `deadline`).
//! Shutdown stops accepting, then lets the connections in flight finish.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;

/// Longest a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a request may take to be answered.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a partner node's message may take to be answered: a set
/// intersection of `glasshouse_federation::node::MAX_SET` elements, at low
/// priority on a busy machine (docs/benchmarks.md, "Federation").
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Longest shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `service` (a router, or the reloader's switch between routers)
/// on `listener` until `shutdown` resolves.
pub async fn serve<S>(
    listener: tokio::net::TcpListener,
    service: S,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let inner = service.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            inner.clone().oneshot(request.map(Body::new))
        });
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}
