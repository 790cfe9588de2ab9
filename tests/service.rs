//! The whole tower stack called in process, without a port (`http::service` +
//! `tower::ServiceExt::oneshot`): routing, the signature and expiry refusals and their
//! order, 304/ETag and the success headers, error bodies and their caching. What needs a
//! process (restarts, signals, nginx, Chromium) stays in the other test files.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferrotype::config::Config;
use ferrotype::http::{service, App};
use ferrotype::signature::{Algorithm, Signer};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use tower::{Service, ServiceExt};

const KEY: &str = "in-process-key";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// API.md §5: an error is one line of text/plain.
    fn assert_one_line_error(&self, status: u16, cache_control: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(self.header("content-type"), "text/plain; charset=utf-8");
        assert_eq!(self.header("cache-control"), cache_control, "{status}");
        let text = self.text();
        assert!(
            text.ends_with('\n') && text.trim_end().lines().count() == 1 && text.len() > 1,
            "one line: {text:?}"
        );
    }
}

/// The service over the repository's corpus as source `corpus`, with `env` on top.
struct Stack {
    svc: Box<dyn FnMut(Request<Empty<Bytes>>) -> ReplyFuture>,
    signer: Signer,
    _cache: tempfile::TempDir,
}

type ReplyFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Reply>>>;

impl Stack {
    async fn new(env: &[(&str, &str)]) -> Self {
        let cache = tempfile::tempdir().unwrap();
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut vars = vec![
            ("FERROTYPE_KEYS".to_owned(), KEY.to_owned()),
            (
                "FERROTYPE_SOURCES".to_owned(),
                format!("corpus=file://{}", corpus.display()),
            ),
            (
                "FERROTYPE_CACHE_DIR".to_owned(),
                cache.path().display().to_string(),
            ),
            // No browser: these tests are about HTTP, not rendering.
            (
                "FERROTYPE_CHROMIUM".to_owned(),
                "/nonexistent/chromium".to_owned(),
            ),
        ];
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_parts(None, &vars).expect("configuration");
        Self::with_config(config, cache).await
    }

    /// The service of `config`, whose cache directory is `cache`.
    async fn with_config(config: Config, cache: tempfile::TempDir) -> Self {
        ferrotype::imaging::init().expect("libvips starts");
        let app = Arc::new(App::new(config).await.expect("app"));
        let svc = service::<Empty<Bytes>>(app);
        Self {
            svc: Box::new(move |req| {
                let call = svc.clone().oneshot(req);
                Box::pin(async move {
                    let resp = call.await.unwrap_or_else(|e| match e {});
                    let (parts, body) = resp.into_parts();
                    Reply {
                        status: parts.status,
                        headers: parts.headers,
                        body: body.collect().await.expect("body").to_bytes(),
                    }
                })
            }),
            signer: Signer::new(Algorithm::Sha1, vec![KEY.as_bytes().to_vec()]),
            _cache: cache,
        }
    }

    async fn request(&mut self, method: Method, target: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = Request::builder().method(method).uri(target);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        (self.svc)(req.body(Empty::new()).unwrap()).await
    }

    async fn get_raw(&mut self, target: &str) -> Reply {
        self.request(Method::GET, target, &[]).await
    }

    async fn get(&mut self, target: &str) -> Reply {
        let signed = self.signer.signed_url(target);
        self.get_raw(&signed).await
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn routes_are_decided_once() {
    let mut s = Stack::new(&[]).await;
    let health = s.get_raw("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body.as_ref(), b"ok");
    assert_eq!(health.header("cache-control"), "no-store");
    assert!(!health.header("x-request-id").is_empty(), "a request id");

    // Not endpoints: 404 whether or not they are signed, never a signature refusal.
    for target in [
        "/",
        "/nope",
        "/transformer/a.jpg",
        "/screenshot/x",
        "/health/x",
        "/info2",
    ] {
        s.get_raw(target)
            .await
            .assert_one_line_error(404, "public, max-age=60");
        s.get(target)
            .await
            .assert_one_line_error(404, "public, max-age=60");
    }

    // The endpoints that need a signature, and only those, refuse an unsigned URL.
    for target in [
        "/transform/corpus/photo/rocket.jpg?w=10",
        "/transform?url=http%3A%2F%2Fexample.com%2Fa.jpg",
        "/info/corpus/photo/rocket.jpg",
        "/screenshot?url=http%3A%2F%2Fexample.com%2F",
    ] {
        s.get_raw(target)
            .await
            .assert_one_line_error(403, "no-store");
    }
    assert_eq!(s.get_raw("/ready").await.status, 200);
    let metrics = s.get_raw("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.text().contains("ferrotype_http_requests_total"));

    // Methods: signature first on signed routes, then 405 with Allow.
    let post = s.request(Method::POST, "/health", &[]).await;
    post.assert_one_line_error(405, "public, max-age=60");
    assert_eq!(post.header("allow"), "GET, HEAD");
    let signed_post = s.signer.signed_url("/transform/corpus/photo/rocket.jpg");
    assert_eq!(s.request(Method::POST, &signed_post, &[]).await.status, 405);
    assert_eq!(
        s.request(Method::POST, "/transform/corpus/photo/rocket.jpg", &[])
            .await
            .status,
        403
    );

    // A request id given by the front is kept.
    let given = s
        .request(Method::GET, "/health", &[("x-request-id", "nginx-7")])
        .await;
    assert_eq!(given.header("x-request-id"), "nginx-7");
}

#[tokio::test]
async fn the_root_is_a_page_in_demo_mode_only() {
    // Configured: `/` is no endpoint, whatever the method.
    let mut s = Stack::new(&[]).await;
    s.get_raw("/")
        .await
        .assert_one_line_error(404, "public, max-age=60");
    let head = s.request(Method::HEAD, "/", &[]).await;
    assert_eq!(head.status, 404);
    assert_eq!(head.header("content-type"), "text/plain; charset=utf-8");

    // Nothing configured (demo mode): the gallery, never cached, never signed.
    let cache = tempfile::tempdir().unwrap();
    let mut config = Config::from_parts(None, &[]).expect("demo configuration");
    assert!(config.demo);
    config.cache_dir = cache.path().to_path_buf();
    config.chromium = "/nonexistent/chromium".into();
    let mut demo = Stack::with_config(config, cache).await;
    for method in [Method::GET, Method::HEAD] {
        let page = demo.request(method.clone(), "/", &[]).await;
        assert_eq!(page.status, 200, "{method}");
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        assert_eq!(page.header("cache-control"), "no-store");
        assert_eq!(page.header("content-length"), page.body.len().to_string());
        assert!(page.text().starts_with("<!doctype html>"), "{method}");
    }
    demo.get_raw("/index.html")
        .await
        .assert_one_line_error(404, "public, max-age=60");
    assert_eq!(demo.request(Method::POST, "/", &[]).await.status, 405);
}

#[tokio::test]
async fn metrics_on_their_own_address_are_not_on_the_main_one() {
    let mut s = Stack::new(&[("FERROTYPE_METRICS_BIND", "127.0.0.1:0")]).await;
    s.get_raw("/metrics")
        .await
        .assert_one_line_error(404, "public, max-age=60");
}

#[tokio::test]
async fn signature_then_expiry_then_options() {
    let mut s = Stack::new(&[]).await;
    let base = "/transform/corpus/photo/rocket.jpg";

    // Wrong, missing, doubled, or made with another key: 403, nothing else revealed.
    let good = s.signer.signed_url(&format!("{base}?w=10"));
    let other = Signer::new(Algorithm::Sha1, vec![b"other".to_vec()]);
    for target in [
        format!("{base}?w=10"),
        format!("{base}?w=10&s=0000000000000000000000000000000000000000"),
        format!("{good}&{}", &good[good.find("s=").unwrap()..]),
        other.signed_url(&format!("{base}?w=10")),
        // A signed URL with one option changed.
        good.replace("w=10", "w=11"),
    ] {
        let r = s.get_raw(&target).await;
        r.assert_one_line_error(403, "no-store");
        assert!(!r.text().contains(&good[good.len() - 40..]), "no hint");
    }
    // Unsigned, an expired or malformed URL still learns only "403".
    s.get_raw(&format!("{base}?exp=1&w=0"))
        .await
        .assert_one_line_error(403, "no-store");

    // Signed: expiry comes next, before the options.
    s.get(&format!("{base}?w=0&exp=1"))
        .await
        .assert_one_line_error(410, "no-store");
    assert_eq!(
        s.get(&format!("{base}?w=10&exp={}", now() + 3600))
            .await
            .status,
        200
    );
    // Then the options, each error naming its option.
    for (query, name) in [
        ("w=0", "\"w\""),
        ("fit=crop", "\"fit\""),
        ("zoom=2", "\"zoom\""),
    ] {
        let r = s.get(&format!("{base}?{query}")).await;
        r.assert_one_line_error(400, "public, max-age=60");
        assert!(r.text().contains(name), "{query}: {}", r.text());
    }
    // Then the source.
    s.get("/transform/corpus/photo/missing.jpg")
        .await
        .assert_one_line_error(404, "public, max-age=60");
    s.get("/transform/nowhere/a.jpg")
        .await
        .assert_one_line_error(404, "public, max-age=60");
    // A directory of the source is not an image of it.
    s.get("/transform/corpus/photo?w=10")
        .await
        .assert_one_line_error(404, "public, max-age=60");
    s.get("/transform/corpus/hostile/html-named.jpg")
        .await
        .assert_one_line_error(415, "public, max-age=60");
    s.get("/transform/corpus/hostile/truncated-40pct.jpg")
        .await
        .assert_one_line_error(422, "public, max-age=60");
    // `?url=` is off without allowed hosts: a policy refusal.
    s.get("/transform?url=http%3A%2F%2Fexample.com%2Fa.jpg")
        .await
        .assert_one_line_error(403, "no-store");
    // No browser here: 503 with Retry-After.
    let shot = s.get("/screenshot?url=http%3A%2F%2Fexample.com%2F").await;
    shot.assert_one_line_error(503, "no-store");
    assert_eq!(shot.header("retry-after"), "1");

    // `exp` that is not a number is the option parser's (signed, so checked after it).
    s.get(&format!("{base}?w=32&exp=tomorrow"))
        .await
        .assert_one_line_error(400, "public, max-age=60");

    // SHA-256 signatures when configured; SHA-1 ones then fail.
    let mut s256 = Stack::new(&[("FERROTYPE_SIGNATURE", "sha256")]).await;
    assert_eq!(s256.get(&format!("{base}?w=10")).await.status, 403);
    s256.signer = Signer::new(Algorithm::Sha256, vec![KEY.as_bytes().to_vec()]);
    assert_eq!(s256.get(&format!("{base}?w=10")).await.status, 200);
}

#[tokio::test]
async fn options_in_any_order_s_anywhere_in_any_case() {
    let mut s = Stack::new(&[]).await;
    let img = "/transform/corpus/photo/rocket.jpg";
    let signed = s.signer.signed_url(&format!("{img}?w=64&fm=png&h=64"));
    let sig = signed.rsplit_once("s=").unwrap().1.to_owned();
    for target in [
        format!("{img}?w=64&fm=png&h=64&s={sig}"),
        format!("{img}?s={sig}&h=64&w=64&fm=png"),
        format!("{img}?fm=png&s={sig}&w=64&h=64"),
        format!("{img}?fm=png&s={}&w=64&h=64", sig.to_uppercase()),
    ] {
        let r = s.get_raw(&target).await;
        assert_eq!(r.status, 200, "{target}: {}", r.text());
    }
}

#[tokio::test]
async fn any_configured_key_verifies() {
    let mut s = Stack::new(&[("FERROTYPE_KEYS", "new-key,old-key")]).await;
    for (key, status) in [("new-key", 200), ("old-key", 200), ("retired-key", 403)] {
        s.signer = Signer::new(Algorithm::Sha1, vec![key.as_bytes().to_vec()]);
        let r = s.get("/transform/corpus/photo/rocket.jpg?w=32").await;
        assert_eq!(r.status, status, "{key}");
    }
}

#[tokio::test]
async fn api_md_worked_example_verifies() {
    let photos = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/photo");
    let mut s = Stack::new(&[
        ("FERROTYPE_KEYS", "secret"),
        (
            "FERROTYPE_SOURCES",
            &format!("images=file://{}", photos.display()),
        ),
    ])
    .await;
    // The example signs cat.jpg, which the corpus does not have: a correct signature for a
    // missing file is a 404, not a 403.
    let r = s
        .get_raw("/transform/images/cat.jpg?w=600&h=600&s=a553f3414679280a38bea2bb3795608c1eecbf9e")
        .await;
    r.assert_one_line_error(404, "public, max-age=60");
}

#[tokio::test]
async fn success_headers_etag_and_304() {
    let mut s = Stack::new(&[]).await;
    let target = "/transform/corpus/photo/rocket.jpg?w=64&fm=webp&filename=moon&dl=1";
    let first = s.get(target).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("content-type"), "image/webp");
    assert_eq!(
        first.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        first.header("content-disposition"),
        "attachment; filename=\"moon.webp\""
    );
    assert_eq!(first.header("vary"), "");
    assert_eq!(&first.body[..4], b"RIFF");
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10);

    let signed = s.signer.signed_url(target);
    for matching in [etag.as_str(), "\"x\", W/\"y\"", "*"] {
        let inm = if matching.starts_with("\"x\"") {
            format!("{matching}, {etag}")
        } else {
            matching.to_owned()
        };
        let again = s
            .request(Method::GET, &signed, &[("if-none-match", &inm)])
            .await;
        assert_eq!(again.status, 304, "{inm}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), etag);
        assert_eq!(
            again.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
    }
    let other = s
        .request(Method::GET, &signed, &[("if-none-match", "\"other\"")])
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body, first.body);

    // Negotiated formats vary on Accept; each variant has its own ETag.
    let auto = s
        .signer
        .signed_url("/transform/corpus/photo/rocket.jpg?w=64&fm=auto");
    let webp = s
        .request(Method::GET, &auto, &[("accept", "image/webp,*/*")])
        .await;
    let jpeg = s.request(Method::GET, &auto, &[("accept", "*/*")]).await;
    assert_eq!(webp.header("content-type"), "image/webp");
    assert_eq!(jpeg.header("content-type"), "image/jpeg");
    assert_eq!(webp.header("vary"), "Accept");
    assert_eq!(jpeg.header("vary"), "Accept");
    assert_ne!(webp.header("etag"), jpeg.header("etag"));

    // Configured Cache-Control.
    let mut short = Stack::new(&[("FERROTYPE_CACHE_CONTROL", "public, max-age=60")]).await;
    let r = short.get("/info/corpus/photo/rocket.jpg").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("cache-control"), "public, max-age=60");
    assert_eq!(
        r.header("content-disposition"),
        "inline; filename=\"info.json\""
    );
}

#[tokio::test]
async fn a_service_is_cheap_to_clone_and_shares_its_result_cache() {
    let mut s = Stack::new(&[]).await;
    let target = "/transform/corpus/photo/rocket.jpg?w=32";
    let a = s.get(target).await;
    // The same bytes from the result cache, and `filename` changes only the header.
    let b = s.get(&format!("{target}&filename=x")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
    assert_eq!(a.header("etag"), b.header("etag"));
    assert_eq!(
        b.header("content-disposition"),
        "inline; filename=\"x.jpg\""
    );
    let metrics = s.get_raw("/metrics").await.text();
    let hits: f64 = metrics
        .lines()
        .find(|l| l.starts_with("ferrotype_results_total{cache=\"hit\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0);
    assert!(hits >= 1.0, "{metrics}");
}

/// The stack is a plain `Service`: poll_ready then call, as any tower client would.
#[tokio::test]
async fn ready_then_call() {
    let cache = tempfile::tempdir().unwrap();
    let vars = vec![
        ("FERROTYPE_KEYS".to_owned(), KEY.to_owned()),
        (
            "FERROTYPE_CACHE_DIR".to_owned(),
            cache.path().display().to_string(),
        ),
    ];
    let app = Arc::new(
        App::new(Config::from_parts(None, &vars).unwrap())
            .await
            .unwrap(),
    );
    let mut svc = service::<Empty<Bytes>>(app);
    let ready = svc.ready().await.unwrap_or_else(|e| match e {});
    let resp = ready
        .call(Request::get("/health").body(Empty::new()).unwrap())
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(resp.status(), 200);
}
