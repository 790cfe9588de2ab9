//! Shared test harness: the real `ferrotype` binary on a loopback port, a real origin
//! HTTP server on 127.0.0.1 serving the corpus, and decoders to check what came back.
#![allow(dead_code)] // each test binary uses its own part of the harness

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferrotype::signature::{Algorithm, Signer};
use http_body_util::Full;

pub const KEY: &str = "test-key";

/// The test images, in the repository (`tests/corpus/MANIFEST.tsv` gives each one's
/// origin and licence).
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The names of the hostile corpus's files (`tests/corpus/hostile`), sorted.
pub fn hostile_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus().join("hostile"))
        .expect("hostile corpus")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the hostile corpus is there: {names:?}");
    names
}

/// `FERROTYPE_SOURCES` with the corpus as `corpus`.
pub fn corpus_source() -> String {
    format!("corpus=file://{}", corpus().display())
}

/// `FERROTYPE_SOURCES` with the corpus as `corpus` and `origin` as `web`.
pub fn corpus_and_web(origin: &Origin) -> String {
    format!("{},web={}", corpus_source(), origin.base())
}

/// The server binary, running until dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `FERROTYPE_METRICS_BIND` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// Everything written to stderr, when the builder asked for `capture_logs`.
    logs: Option<Arc<Mutex<String>>>,
    signer: Signer,
    pub client: reqwest::Client,
    /// Kept alive for as long as the server: a temp dir unless the test chose one.
    _cache: Option<tempfile::TempDir>,
}

pub struct ServerBuilder {
    env: Vec<(String, String)>,
    cache_dir: Option<PathBuf>,
    algorithm: Algorithm,
    sign_key: String,
    capture_logs: bool,
}

impl ServerBuilder {
    pub fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.env.push((k.to_owned(), v.into()));
        self
    }

    /// A cache directory that outlives the server (for restarts).
    pub fn cache_dir(mut self, dir: &Path) -> Self {
        self.cache_dir = Some(dir.to_path_buf());
        self
    }

    /// Keep the server's stderr (its logs) for [`Server::logs`] instead of passing it on.
    pub fn capture_logs(mut self) -> Self {
        self.capture_logs = true;
        self
    }

    /// Sign test URLs with this algorithm and key (the server's keys are set with `env`).
    pub fn signing(mut self, algorithm: Algorithm, key: &str) -> Self {
        self.algorithm = algorithm;
        self.sign_key = key.to_owned();
        self
    }

    pub fn start(self) -> Server {
        let temp = self
            .cache_dir
            .is_none()
            .then(|| tempfile::tempdir().expect("temp dir"));
        let cache_dir = match &temp {
            Some(t) => t.path().to_path_buf(),
            None => self.cache_dir.clone().unwrap_or_default(),
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrotype"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("FERROTYPE_BIND", "127.0.0.1:0")
            .env("FERROTYPE_KEYS", KEY)
            .env("FERROTYPE_CACHE_DIR", &cache_dir)
            .env("FERROTYPE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(if self.capture_logs {
                Stdio::piped()
            } else {
                Stdio::inherit()
            });
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn ferrotype");
        let logs = child.stderr.take().map(|stderr| {
            let logs = Arc::new(Mutex::new(String::new()));
            let sink = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut all = sink.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            });
            logs
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut metrics_addr = None;
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(a) = line.strip_prefix("ferrotype listening on http://") {
                        break a.parse().expect("address");
                    }
                    if let Some(a) = line.strip_prefix("ferrotype metrics on http://") {
                        let a = a.trim_end_matches("/metrics");
                        metrics_addr = Some(a.parse().expect("metrics address"));
                    }
                }
                _ => {
                    let status = child.wait().ok();
                    panic!("ferrotype exited before listening: {status:?}");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            addr,
            metrics_addr,
            logs,
            signer: Signer::new(self.algorithm, vec![self.sign_key.into_bytes()]),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            _cache: temp,
        }
    }
}

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            env: Vec::new(),
            cache_dir: None,
            algorithm: Algorithm::Sha1,
            sign_key: KEY.to_owned(),
            capture_logs: false,
        }
    }

    /// A server whose source `corpus` is the corpus directory.
    pub fn with_corpus() -> Server {
        Self::builder()
            .env("FERROTYPE_SOURCES", corpus_source())
            .start()
    }

    /// A server with the sources `corpus` and `web` (`origin`), see [`corpus_and_web`].
    pub fn with_corpus_and_web(origin: &Origin) -> Server {
        Self::builder()
            .env("FERROTYPE_SOURCES", corpus_and_web(origin))
            .start()
    }

    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    pub fn signed(&self, target: &str) -> String {
        self.signer.signed_url(target)
    }

    /// GET a target as is (not signed).
    pub async fn get_raw(&self, target: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.client.get(self.url(target));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().await.expect("request"), target).await
    }

    /// GET a target after signing it.
    pub async fn get(&self, target: &str) -> Reply {
        self.get_raw(&self.signed(target), &[]).await
    }

    pub async fn get_with(&self, target: &str, headers: &[(&str, &str)]) -> Reply {
        self.get_raw(&self.signed(target), headers).await
    }

    /// Status of a raw HTTP/1.1 GET, for targets an HTTP client would normalise (`..`) or
    /// refuse to send.
    pub async fn raw_status(&self, target: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.expect("read");
        String::from_utf8_lossy(&out)
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    pub async fn healthy(&self) -> bool {
        let r = self.get_raw("/health", &[]).await;
        r.status == 200 && r.body.as_ref() == b"ok"
    }

    /// A sample's value from `/metrics` (`name` with its labels, as printed), 0 if absent.
    pub async fn metric(&self, name: &str) -> f64 {
        self.metric_sum(&format!("{name} ")).await
    }

    /// The sum of the samples whose series (name and labels, as printed) starts with
    /// `prefix`, e.g. every status of one route.
    pub async fn metric_sum(&self, prefix: &str) -> f64 {
        let text = self.get_raw("/metrics", &[]).await.text();
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server logged so far (empty unless started with `capture_logs`).
    pub fn logs(&self) -> String {
        self.logs
            .as_ref()
            .map(|l| l.lock().unwrap().clone())
            .unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Server {
    /// SIGTERM, then wait for a graceful exit (in-flight requests, browser closed).
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..150 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Gracefully, so a browser the server started is closed with it.
        if self.terminate().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub struct Reply {
    pub target: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    async fn from(resp: reqwest::Response, target: &str) -> Self {
        Self {
            target: target.to_owned(),
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.bytes().await.expect("body"),
        }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a 200 and returns the decoded format and size.
    pub fn image(&self) -> Decoded {
        assert_eq!(
            self.status,
            200,
            "{}: {}",
            self.target,
            String::from_utf8_lossy(&self.body)
        );
        decode(&self.body)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Decoded {
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Format from the magic bytes and size from the headers, independently of libvips.
pub fn decode(b: &[u8]) -> Decoded {
    let format = match imagesize::image_type(b).expect("an image type") {
        imagesize::ImageType::Jpeg => "jpeg",
        imagesize::ImageType::Png => "png",
        imagesize::ImageType::Webp => "webp",
        imagesize::ImageType::Gif => "gif",
        imagesize::ImageType::Heif(imagesize::Compression::Av1) => "avif",
        other => panic!("unexpected output type {other:?}"),
    };
    let size = imagesize::blob_size(b).expect("an image size");
    Decoded {
        format,
        width: size.width as u32,
        height: size.height as u32,
    }
}

/// Full pixel decode with the `image` crate (not libvips) for JPEG, PNG, WebP and GIF.
pub fn pixels(b: &[u8]) -> image::RgbaImage {
    image::load_from_memory(b).expect("decodable").to_rgba8()
}

/// The astronaut's face in `photo/astronaut.png`, labelled by hand (hairline to chin,
/// cheek to cheek): x, y, width, height in pixels.
pub const ASTRONAUT_FACE: (f64, f64, f64, f64) = (182.0, 72.0, 90.0, 102.0);

/// Detail inside `r` (x, y, width, height): the sum of absolute differences between
/// neighbouring pixels' luma. Blurring or pixelating a region takes most of it away.
pub fn edge_energy(img: &image::RgbaImage, r: (f64, f64, f64, f64)) -> f64 {
    let grey = |x: u32, y: u32| {
        let p = img.get_pixel(x, y).0;
        0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
    };
    let (x0, y0) = (r.0 as u32, r.1 as u32);
    let (x1, y1) = ((r.0 + r.2) as u32, (r.1 + r.3) as u32);
    let mut sum = 0.0;
    for y in y0..y1.min(img.height() - 1) {
        for x in x0..x1.min(img.width() - 1) {
            sum += (grey(x + 1, y) - grey(x, y)).abs() + (grey(x, y + 1) - grey(x, y)).abs();
        }
    }
    sum
}

/// Frames in an animated GIF or WebP, counted by an independent decoder.
pub fn frame_count(b: &[u8]) -> usize {
    use image::AnimationDecoder;
    let cursor = std::io::Cursor::new(b);
    match decode(b).format {
        "gif" => image::codecs::gif::GifDecoder::new(cursor)
            .expect("gif")
            .into_frames()
            .count(),
        "webp" => {
            let d = image::codecs::webp::WebPDecoder::new(cursor).expect("webp");
            if d.has_animation() {
                d.into_frames().count()
            } else {
                1
            }
        }
        _ => 1,
    }
}

/// A real HTTP origin on loopback serving a directory, counting requests. Besides files:
/// - `/status/NNN` answers NNN;
/// - `/slow/MS/path` waits MS ms before serving `path`;
/// - `/trickle/MS/path` serves `path` in 4 KiB chunks, MS ms apart, without `Content-Length`;
/// - `/stream/N` sends N bytes in chunks without `Content-Length`;
/// - `/redirect/ENCODED-URL` answers 302 to the percent-decoded URL;
/// - `/hang` never answers.
pub struct Origin {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    /// Dropped with the value, which stops the listener (`accept_on`).
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Origin {
    pub fn start(root: PathBuf) -> Origin {
        Self::start_on("127.0.0.1", root)
    }

    /// On another loopback address, e.g. `127.0.0.2`.
    pub fn start_on(ip: &'static str, root: PathBuf) -> Origin {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let root = Arc::new(root);
        let (addr, shutdown) = accept_on(ip, move |stream| {
            let root = root.clone();
            let counter = counter.clone();
            async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let root = root.clone();
                        async move { Ok::<_, Infallible>(serve_origin(&root, req.uri().path()).await) }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            }
        });
        Origin {
            addr,
            hits,
            _shutdown: shutdown,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

type OriginBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(status: u16, body: Vec<u8>) -> hyper::Response<OriginBody> {
    use http_body_util::BodyExt;
    let mut r = hyper::Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

/// A body of `chunks`, `gap` apart, with no length known in advance.
fn chunked(chunks: Vec<Bytes>, gap: Duration) -> hyper::Response<OriginBody> {
    use futures::StreamExt;
    use http_body_util::BodyExt;
    let stream = futures::stream::iter(chunks).then(move |c| async move {
        tokio::time::sleep(gap).await;
        Ok::<_, Infallible>(hyper::body::Frame::data(c))
    });
    hyper::Response::new(BodyExt::boxed(http_body_util::StreamBody::new(stream)))
}

async fn serve_origin(root: &Path, path: &str) -> hyper::Response<OriginBody> {
    let decode = |p: &str| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    };
    if let Some(code) = path.strip_prefix("/status/") {
        return full(code.parse().unwrap_or(500), b"status".to_vec());
    }
    if path == "/hang" {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if let Some(target) = path.strip_prefix("/redirect/") {
        let mut r = full(302, Vec::new());
        if let Ok(v) = hyper::header::HeaderValue::from_str(&decode(target)) {
            r.headers_mut().insert("location", v);
        }
        return r;
    }
    if let Some(n) = path.strip_prefix("/stream/") {
        let n: usize = n.parse().unwrap_or(0);
        let chunks = (0..n.div_ceil(16384))
            .map(|i| Bytes::from(vec![0xAB; 16384.min(n - i * 16384)]))
            .collect();
        return chunked(chunks, Duration::ZERO);
    }
    let mut path = path.to_owned();
    let mut trickle = None;
    for (prefix, slow) in [("/slow/", true), ("/trickle/", false)] {
        if let Some(rest) = path.clone().strip_prefix(prefix) {
            let (ms, rest) = rest.split_once('/').unwrap_or((rest, ""));
            let ms = Duration::from_millis(ms.parse().unwrap_or(0));
            if slow {
                tokio::time::sleep(ms).await;
            } else {
                trickle = Some(ms);
            }
            path = format!("/{rest}");
        }
    }
    let decoded = decode(&path);
    if decoded.contains("..") {
        return full(400, Vec::new());
    }
    match tokio::fs::read(root.join(decoded.trim_start_matches('/'))).await {
        Ok(bytes) => {
            let mut r = match trickle {
                Some(gap) => chunked(
                    Bytes::from(bytes)
                        .chunks(4096)
                        .map(Bytes::copy_from_slice)
                        .collect(),
                    gap,
                ),
                None => full(200, bytes),
            };
            // Pages are pages; images get a misleading type on purpose, since ferrotype
            // must sniff the bytes.
            let content_type = if decoded.ends_with(".html") {
                "text/html; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            r.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static(content_type),
            );
            r
        }
        Err(_) => full(404, b"not found".to_vec()),
    }
}

/// SeaweedFS (`weed mini`, installed by `scripts/install-deps test` into `tests/s3`) on
/// loopback ports of its own: a real S3-compatible server that checks SigV4 signatures.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
    _dir: tempfile::TempDir,
}

pub const S3_ACCESS_KEY: &str = "ferrotype-test-access";
pub const S3_SECRET_KEY: &str = "ferrotype-test-secret-0123456789";

impl S3Server {
    pub async fn start(bucket: &str) -> S3Server {
        let weed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3/python/bin/weed");
        assert!(
            weed.exists(),
            "{} is missing: run scripts/install-deps test",
            weed.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        // Ten free ports, held until the server is told about them.
        let listeners: Vec<std::net::TcpListener> = (0..10)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("port").port())
            .collect();
        drop(listeners);
        let p = |i: usize| ports[i].to_string();
        let child = Command::new(&weed)
            .args(["mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-dir={}", dir.path().display()))
            .args([
                "-master.telemetry=false",
                "-admin.ui=false",
                "-webdav=false",
            ])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.port={}", p(0)))
            .arg(format!("-s3.port.grpc={}", p(1)))
            .arg(format!("-master.port={}", p(2)))
            .arg(format!("-master.port.grpc={}", p(3)))
            .arg(format!("-volume.port={}", p(4)))
            .arg(format!("-volume.port.grpc={}", p(5)))
            .arg(format!("-filer.port={}", p(6)))
            .arg(format!("-filer.port.grpc={}", p(7)))
            .arg(format!("-admin.port={}", p(8)))
            .arg(format!("-admin.port.grpc={}", p(9)))
            .arg(format!("-bucket={bucket}"))
            .env("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start weed");
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{}", ports[0]),
            bucket: bucket.to_owned(),
            _dir: dir,
        };
        // Ready when a signed request to the bucket succeeds (its health check answers
        // before the bucket exists).
        let store = server.store(S3_SECRET_KEY);
        let probe = object_store::path::Path::from("ready-probe");
        for _ in 0..200 {
            if object_store::ObjectStoreExt::put(
                &store,
                &probe,
                bytes::Bytes::from_static(b"x").into(),
            )
            .await
            .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("SeaweedFS did not become ready");
    }

    /// A client of the bucket, signing with `secret`.
    pub fn store(&self, secret: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(&self.bucket)
            .with_access_key_id(S3_ACCESS_KEY)
            .with_secret_access_key(secret)
            .build()
            .expect("an S3 client")
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) {
        let path = object_store::path::Path::parse(key).expect("a key");
        object_store::ObjectStoreExt::put(&self.store(S3_SECRET_KEY), &path, body.into())
            .await
            .expect("put");
    }

    pub async fn delete(&self, key: &str) {
        let path = object_store::path::Path::parse(key).expect("a key");
        object_store::ObjectStoreExt::delete(&self.store(S3_SECRET_KEY), &path)
            .await
            .expect("delete");
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP relay in front of a server that passes what the server sends back slowly (16 KiB
/// every 10 ms) and counts it, so a test can tell how much of a response body its client
/// actually took before hanging up. Requests pass at full speed.
pub struct Trickle {
    pub addr: SocketAddr,
    relayed: Arc<AtomicUsize>,
    /// Dropped with the value, which stops the listener (`accept_on`).
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Trickle {
    pub fn start(upstream: SocketAddr) -> Trickle {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let relayed = Arc::new(AtomicUsize::new(0));
        let counter = relayed.clone();
        let (addr, shutdown) = accept_on("127.0.0.1", move |client| {
            let counter = counter.clone();
            async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_r, mut client_w) = client.into_split();
                let (mut server_r, mut server_w) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_r, &mut server_w).await;
                });
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = match server_r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if client_w.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    counter.fetch_add(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
        Trickle {
            addr,
            relayed,
            _shutdown: shutdown,
        }
    }

    /// Bytes passed from the server to its clients so far.
    pub fn relayed(&self) -> usize {
        self.relayed.load(Ordering::SeqCst)
    }
}

/// Accepts connections on a loopback `ip`, in a thread and runtime of their own (the tests'
/// runtimes are single-threaded and may block), each one handled by `handle`, until the
/// returned sender fires or is dropped.
fn accept_on<F, Fut>(ip: &'static str, handle: F) -> (SocketAddr, tokio::sync::oneshot::Sender<()>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
            addr_tx
                .send(listener.local_addr().expect("addr"))
                .expect("send");
            tokio::pin!(rx);
            loop {
                let (stream, _) = tokio::select! {
                    a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
                    _ = &mut rx => break,
                };
                tokio::spawn(handle(stream));
            }
        });
    });
    (addr_rx.recv().expect("listener address"), tx)
}
