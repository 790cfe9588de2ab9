//! The forward proxy every browser context of the renderer connects through: the one place
//! where a page's connections (documents, subresources, fetch/XHR, workers, WebSockets)
//! meet the `?url=` policy with the address actually connected to.
//!
//! Checking URLs in the DevTools Fetch domain alone would leave two gaps: the browser
//! resolves a name again after the check (DNS rebinding), and WebSockets, also those a
//! worker opens, never pass through the Fetch domain. Behind this proxy the browser
//! resolves nothing: it hands over the name, the proxy resolves it, checks every address
//! and connects to a checked one.
//!
//! HTTPS and WebSockets arrive as `CONNECT host:port` and become a byte tunnel (TLS stays
//! between the page and the site); plain HTTP arrives in absolute form and is forwarded on
//! a fresh connection per request, so a kept-alive proxy connection never carries a
//! request to a host that was not checked.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::source::guard::{Policy, Refusal};

type Body = BoxBody<Bytes, hyper::Error>;

/// Connecting to a checked address: a site that does not accept within this is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct GuardProxy {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl GuardProxy {
    /// Listens on a free loopback port until dropped.
    pub async fn start(policy: Arc<Policy>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let policy = policy.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let policy = policy.clone();
                        async move { Ok::<_, Infallible>(handle(&policy, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// The value of a browser context's `proxyServer`.
    pub fn server(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for GuardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(policy: &Policy, req: Request<Incoming>) -> Response<Body> {
    let result = if req.method() == Method::CONNECT {
        tunnel(policy, req).await
    } else {
        forward(policy, req).await
    };
    result.unwrap_or_else(|(status, why)| {
        if status == StatusCode::FORBIDDEN {
            tracing::info!(%why, "page connection blocked by policy");
        }
        Response::builder()
            .status(status)
            .header("connection", "close")
            .body(Full::new(Bytes::from(why)).map_err(|e| match e {}).boxed())
            .unwrap_or_default()
    })
}

type Failure = (StatusCode, String);

/// `CONNECT host:port`: checked, connected, then bytes both ways until either side closes.
async fn tunnel(policy: &Policy, req: Request<Incoming>) -> Result<Response<Body>, Failure> {
    let authority = req
        .uri()
        .authority()
        .ok_or((StatusCode::BAD_REQUEST, "CONNECT without host:port".into()))?
        .to_string();
    // The scheme only selects the default port, which CONNECT always states.
    let url = parse(&format!("https://{authority}/"))?;
    let mut upstream = connect(policy, &url).await?;
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(upgraded), &mut upstream).await;
        }
    });
    Ok(Response::new(Empty::new().map_err(|e| match e {}).boxed()))
}

/// `GET http://host/path`: checked, sent on its own connection in origin form.
async fn forward(policy: &Policy, mut req: Request<Incoming>) -> Result<Response<Body>, Failure> {
    let url = parse(&req.uri().to_string())?;
    if url.scheme() != "http" {
        return Err((StatusCode::BAD_REQUEST, "only http:// is forwarded".into()));
    }
    let upstream = connect(policy, &url).await?;
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|_| (StatusCode::BAD_REQUEST, "bad request target".into()))?;
    *req.uri_mut() = path;
    let headers = req.headers_mut();
    headers.remove("proxy-connection");
    headers.remove("proxy-authorization");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(upstream))
        .await
        .map_err(bad_gateway)?;
    tokio::spawn(conn);
    let response = sender.send_request(req).await.map_err(bad_gateway)?;
    Ok(response.map(BodyExt::boxed))
}

fn parse(url: &str) -> Result<Url, Failure> {
    Url::parse(url).map_err(|_| (StatusCode::BAD_REQUEST, format!("bad target {url:?}")))
}

/// A connection to `url`'s host, only ever to an address the policy allows: the allow-list
/// and literal addresses first, then every address the name resolves to.
async fn connect(policy: &Policy, url: &Url) -> Result<TcpStream, Failure> {
    policy.check_url(url).map_err(refused)?;
    let port = url
        .port_or_known_default()
        .ok_or((StatusCode::BAD_REQUEST, "no port".into()))?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Domain(name)) => policy
            .resolve(name)
            .await
            .map_err(refused)?
            .into_iter()
            .map(|a| SocketAddr::new(a.ip(), port))
            .collect(),
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
        None => Vec::new(),
    };
    if addrs.is_empty() {
        return Err((StatusCode::BAD_GATEWAY, format!("{url} does not resolve")));
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addrs[..])).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(bad_gateway(e)),
        Err(_) => Err((StatusCode::GATEWAY_TIMEOUT, "connect timed out".into())),
    }
}

fn refused(r: Refusal) -> Failure {
    (StatusCode::FORBIDDEN, r.to_string())
}

fn bad_gateway(e: impl std::fmt::Display) -> Failure {
    (StatusCode::BAD_GATEWAY, e.to_string())
}
