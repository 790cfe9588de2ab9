//! Accepting connections: HTTP/1.1 and h2c on the main listener, `/metrics` alone on its
//! own when configured, graceful shutdown. The service itself is [`super::service`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::route::Routes;
use super::{service, stack, App, HttpService};

/// How long in-flight requests may take to finish once shutdown has begun.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` (and `/metrics` alone on `metrics`, when given) until
/// `shutdown` resolves, then lets in-flight requests finish and closes the browser.
pub async fn serve(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let metrics_task = metrics.map(|l| {
        let service = stack(app.clone(), Routes::metrics_only());
        tokio::spawn(accept(l, service, std::future::pending()))
    });
    accept(listener, service(app.clone()), shutdown).await;
    if let Some(task) = metrics_task {
        task.abort();
    }
    app.shutdown().await;
    Ok(())
}

/// Accepts connections until `shutdown` resolves, then waits up to [`DRAIN`] for the open
/// ones.
async fn accept(
    listener: TcpListener,
    service: impl HttpService<Incoming>,
    shutdown: impl Future<Output = ()>,
) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection_with_upgrades(
            TokioIo::new(stream),
            TowerToHyperService::new(service.clone()),
        );
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; exiting anyway");
    }
}
