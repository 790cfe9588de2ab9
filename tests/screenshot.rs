//! `/screenshot` with the real Chromium against pages served on loopback: sizes, dark
//! mode, formats, waiting, the network policy inside the page, deadlines, crashes and
//! shutdown.

mod common;

use std::time::{Duration, Instant};

use common::{pixels, Origin, Server};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

const CARD: &str = r#"<!doctype html><html><head><style>
  html, body { margin: 0; height: 100%; background: #ffffff; }
  @media (prefers-color-scheme: dark) { html, body { background: #101010; } }
</style></head><body><h1>card</h1></body></html>"#;

const LATE: &str = r#"<!doctype html><html><body style="margin:0;background:#fff">
<script>setTimeout(() => {
  const d = document.createElement("div");
  d.id = "late";
  d.style = "position:fixed;inset:0;background:#ff0000";
  document.body.appendChild(d);
}, 500);</script></body></html>"#;

/// Pages served on 127.0.0.2, the address the test servers may render: the card, the late
/// page, and the test's own.
struct Site {
    origin: Origin,
    dir: tempfile::TempDir,
}

impl Site {
    fn new(extra: &[(&str, String)]) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let origin = Origin::start_on("127.0.0.2", dir.path().to_path_buf());
        let site = Site { origin, dir };
        site.write("card.html", CARD);
        site.write("late.html", LATE);
        for (name, html) in extra {
            site.write(name, html);
        }
        site
    }

    fn write(&self, name: &str, html: &str) {
        std::fs::write(self.dir.path().join(name), html).unwrap();
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.2:{}/{name}", self.origin.addr.port())
    }
}

/// A server allowed to render pages on 127.0.0.2 only.
fn renderer(extra: &[(&str, &str)]) -> Server {
    let mut b = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.2,127.0.0.1,localhost")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.2/32");
    for (k, v) in extra {
        b = b.env(k, *v);
    }
    b.start()
}

fn shot(url: &str, options: &str) -> String {
    let url = utf8_percent_encode(url, NON_ALPHANUMERIC);
    if options.is_empty() {
        format!("/screenshot?url={url}")
    } else {
        format!("/screenshot?url={url}&{options}")
    }
}

fn luma(px: [u8; 4]) -> u32 {
    (u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2])) / 3
}

#[tokio::test]
async fn dark_mode_sizes_and_types() {
    let site = Site::new(&[]);
    let s = renderer(&[]);
    let card = site.url("card.html");

    let dark = s.get(&shot(&card, "preferDark=true")).await;
    assert_eq!(dark.header("content-type"), "image/png");
    let img = pixels(&dark.body);
    assert_eq!(img.dimensions(), (1200, 630), "default size");
    assert!(luma(img.get_pixel(600, 315).0) < 40, "dark centre");
    let light = pixels(&s.get(&shot(&card, "preferDark=false")).await.body);
    assert!(luma(light.get_pixel(600, 315).0) > 215, "light centre");

    let r = s
        .get(&shot(&card, "width=600&height=300&scaleFactor=2"))
        .await;
    assert_eq!(pixels(&r.body).dimensions(), (1200, 600));
    let r = s.get(&shot(&card, "width=320&height=200")).await;
    assert_eq!(pixels(&r.body).dimensions(), (320, 200));

    for (kind, magic, mime) in [
        ("jpeg", &b"\xFF\xD8\xFF"[..], "image/jpeg"),
        ("png", &b"\x89PNG"[..], "image/png"),
        ("webp", &b"RIFF"[..], "image/webp"),
    ] {
        let r = s
            .get(&shot(&card, &format!("type={kind}&width=400&height=210")))
            .await;
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
        assert!(r.body.starts_with(magic), "{kind}");
        assert_eq!(r.header("content-type"), mime);
        assert_eq!(
            r.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(!r.header("etag").is_empty());
        assert_eq!(
            r.header("content-disposition"),
            format!(
                "inline; filename=\"screenshot.{}\"",
                if kind == "jpeg" { "jpg" } else { kind }
            )
        );
    }
}

#[tokio::test]
async fn wait_for_an_element_added_later() {
    let site = Site::new(&[]);
    let s = renderer(&[]);
    let late = site.url("late.html");
    let r = s
        .get(&shot(&late, "waitFor=%23late&width=200&height=100"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let px = pixels(&r.body).get_pixel(100, 50).0;
    assert!(
        px[0] > 200 && px[1] < 60 && px[2] < 60,
        "the late element is in the image: {px:?}"
    );
    let r = s
        .get(&shot(&late, "waitFor=%5B%5B%5Bbad&width=200&height=100"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

#[tokio::test]
async fn a_page_cannot_reach_a_disallowed_network() {
    let target = Origin::start(common::corpus());
    let img = format!("http://127.0.0.1:{}/photo/rocket.jpg", target.addr.port());
    let site = Site::new(&[(
        "leaky.html",
        format!(
            r#"<!doctype html><body style="background:#fff"><img src="{img}">
<script>fetch("{img}?via=fetch").catch(() => {{}});
new Image().src = "{img}?via=script";
try {{ new WebSocket("ws://127.0.0.1:{port}/ws"); }} catch (_) {{}}</script></body>"#,
            port = target.addr.port()
        ),
    )]);
    let s = renderer(&[]);
    let page = site.url("leaky.html");
    let r = s.get(&shot(&page, "width=300&height=200&delay=300")).await;
    assert_eq!(r.status, 200, "the page still renders: {}", r.text());
    assert_eq!(target.hits(), 0, "the disallowed port was never asked");

    // The page itself on a disallowed address, or not http at all: 403.
    for url in [
        img.clone(),
        format!("http://localhost:{}/card.html", site.origin.addr.port()),
        "file:///etc/passwd".to_owned(),
        "chrome://version".to_owned(),
        "javascript:alert(1)".to_owned(),
        "data:text/html,<h1>x</h1>".to_owned(),
    ] {
        let r = s.get(&shot(&url, "")).await;
        assert_eq!(r.status, 403, "{url}: {}", r.text());
        assert_eq!(r.header("cache-control"), "no-store");
    }
    // A redirect of the page to a disallowed address: 403 too.
    let hop = site.url(&format!(
        "redirect/{}",
        utf8_percent_encode(&img, NON_ALPHANUMERIC)
    ));
    assert_eq!(s.get(&shot(&hop, "")).await.status, 403);
    assert_eq!(target.hits(), 0);
}

/// Sockets and workers never pass through the DevTools Fetch domain: the proxy judges
/// them, by the address connected to. Each page script reports when its attempts are over.
const SOCKETS: &str = r#"<!doctype html><body style="background:#fff"><iframe src="DENIED/photo/rocket.jpg?via=frame"></iframe>
<script>
const attempt = (base) => fetch(base + "/photo/rocket.jpg?via=worker").catch(() => {})
  .then(() => new Promise((done) => { const ws = new WebSocket(base.replace("http", "ws") + "/ws");
    ws.onopen = ws.onerror = ws.onclose = () => done(); }));
const worker = new Worker(URL.createObjectURL(new Blob(
  ["const attempt = " + attempt + "; onmessage = (e) => attempt(e.data).then(() => postMessage(1));"])));
let left = 4;
const over = () => { if (--left === 0) { const d = document.createElement("div"); d.id = "over"; document.body.append(d); } };
worker.onmessage = over;
for (const base of ["DENIED", "ALLOWED"]) {
  worker.postMessage(base);
  const ws = new WebSocket(base.replace("http", "ws") + "/ws");
  ws.onerror = ws.onclose = over;
}
</script></body>"#;

#[tokio::test]
async fn sockets_and_workers_meet_the_policy_too() {
    let denied = Origin::start(common::corpus());
    let allowed = Origin::start_on("127.0.0.2", common::corpus());
    let html = SOCKETS
        .replace("DENIED", denied.base().trim_end_matches('/'))
        .replace("ALLOWED", allowed.base().trim_end_matches('/'));
    let site = Site::new(&[("sockets.html", html)]);
    let s = renderer(&[]);
    let page = site.url("sockets.html");
    let r = s
        .get(&shot(&page, "width=300&height=200&waitFor=%23over"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(denied.hits(), 0, "nothing reached the disallowed port");
    assert_eq!(
        allowed.hits(),
        3,
        "the allowed origin saw the worker's fetch and both WebSocket handshakes"
    );
}

#[tokio::test]
async fn failing_and_hanging_pages() {
    let site = Site::new(&[]);
    // A page whose image never comes: it needs the origin's port, known once it runs.
    site.write(
        "hanging.html",
        &format!(
            r#"<!doctype html><body><img src="{}"></body>"#,
            site.url("hang")
        ),
    );
    let s = renderer(&[("FERROTYPE_RENDER_TIMEOUT_MS", "2000")]);
    // The browser starts on first use, which under a loaded test run can take longer than
    // this server's 2 s deadline: start it before the timed part.
    let mut warm = 0;
    for i in 0..5 {
        warm = s
            .get(&shot(
                &site.url("card.html"),
                &format!("width=100&height=100&v={i}"),
            ))
            .await
            .status;
        if warm == 200 {
            break;
        }
    }
    assert_eq!(warm, 200, "the browser came up");

    let r = s.get(&shot(&site.url("missing.html"), "")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.text().trim_end().lines().count(), 1);

    let started = Instant::now();
    let r = s.get(&shot(&site.url("hanging.html"), "")).await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        started.elapsed() < Duration::from_millis(3000),
        "{:?}",
        started.elapsed()
    );
    // And the renderer carries on.
    assert_eq!(
        s.get(&shot(&site.url("card.html"), "width=101&height=100"))
            .await
            .status,
        200
    );
}

/// Every process: (pid, ppid, comm).
fn processes() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split at the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            out.push((pid, ppid, comm));
        }
    }
    out
}

/// Every process below `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            all.iter()
                .filter(|(_, pp, _)| *pp == parent)
                .map(|(p, ..)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Chromium processes whose parent is `pid`.
fn browser_children(pid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, ppid, comm)| *ppid == pid && comm.starts_with("chrom"))
        .map(|(p, ..)| p)
        .collect()
}

fn exists(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

#[tokio::test]
async fn concurrency_crash_recovery_and_clean_shutdown() {
    let site = Site::new(&[]);
    let mut s = renderer(&[]);
    let card = site.url("card.html");

    let six = (0..6).map(|i| {
        let target = shot(&card, &format!("width={}&height=100", 200 + i));
        let s = &s;
        async move { s.get(&target).await }
    });
    for (i, r) in futures::future::join_all(six).await.into_iter().enumerate() {
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(pixels(&r.body).width(), 200 + i as u32);
    }

    let browsers = browser_children(s.pid());
    assert_eq!(browsers.len(), 1, "one browser: {browsers:?}");
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &browsers[0].to_string()])
        .status();
    let r = s.get(&shot(&card, "width=333&height=100")).await;
    assert_eq!(r.status, 200, "after a browser crash: {}", r.text());
    assert_eq!(s.metric("ferrotype_browser_restarts_total").await, 1.0);
    assert!(!exists(browsers[0]), "the crashed browser was reaped");

    let tree = descendants(s.pid());
    assert!(tree.len() > 2, "a browser with its helpers: {tree:?}");
    let status = s.terminate().expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(500));
    let left: Vec<u32> = tree.into_iter().filter(|p| exists(*p)).collect();
    assert!(left.is_empty(), "processes left after shutdown: {left:?}");
}

#[tokio::test]
async fn a_killed_server_leaves_no_browser_behind() {
    let site = Site::new(&[]);
    let mut s = renderer(&[]);
    let card = site.url("card.html");
    assert_eq!(
        s.get(&shot(&card, "width=100&height=100")).await.status,
        200
    );
    let tree = descendants(s.pid());
    assert!(!tree.is_empty());
    s.kill9();
    let mut left = tree.clone();
    for _ in 0..50 {
        left.retain(|p| exists(*p));
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        left.is_empty(),
        "left behind by a SIGKILLed server: {left:?}"
    );
}

/// Green when the page finds no state from an earlier visit, red otherwise; then leaves
/// state behind in every store it can.
const STATEFUL: &str = r##"<!doctype html><html><body style="margin:0">
<script>
  const seen = document.cookie.includes("visited=1")
    || localStorage.getItem("visited") === "1"
    || sessionStorage.getItem("visited") === "1";
  document.body.style.background = seen ? "#ff0000" : "#00ff00";
  document.cookie = "visited=1; max-age=3600; path=/";
  localStorage.setItem("visited", "1");
  sessionStorage.setItem("visited", "1");
</script></body></html>"##;

#[tokio::test]
async fn renders_share_no_cookies_or_storage() {
    let site = Site::new(&[("state.html", STATEFUL.to_owned())]);
    // One tab, so every render goes through the same slot.
    let s = renderer(&[("FERROTYPE_BROWSER_TABS", "1")]);
    let page = site.url("state.html");
    for v in 1..=3 {
        let r = s
            .get(&shot(&page, &format!("width=100&height=100&v={v}")))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let px = pixels(&r.body).get_pixel(50, 50).0;
        assert!(
            px[1] > 200 && px[0] < 60,
            "render {v} saw an earlier render's state: {px:?}"
        );
    }
}

#[tokio::test]
async fn without_a_browser_screenshots_are_503_and_transforms_still_ready() {
    let s = Server::builder()
        .env("FERROTYPE_CHROMIUM", "/nonexistent/chromium")
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.2")
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .start();
    let r = s.get(&shot("http://127.0.0.2:9/card.html", "")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(s.get_raw("/ready", &[]).await.status, 200);
    assert_eq!(
        s.get("/transform/corpus/photo/rocket.jpg?w=10")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn full_page_captures_below_the_fold() {
    let site = Site::new(&[(
            "tall.html",
            r#"<!doctype html><body style="margin:0"><div style="height:1500px;background:#fff"></div><div style="height:100px;background:#0000ff"></div></body>"#.to_owned(),
        )]);
    let s = renderer(&[]);
    let page = site.url("tall.html");
    let viewport = pixels(&s.get(&shot(&page, "width=400&height=300")).await.body);
    assert_eq!(viewport.dimensions(), (400, 300));
    let full = pixels(
        &s.get(&shot(&page, "width=400&height=300&fullPage=true"))
            .await
            .body,
    );
    assert_eq!(full.dimensions(), (400, 1600));
    let px = full.get_pixel(200, 1550).0;
    assert!(
        px[2] > 200 && px[0] < 60,
        "the blue band at the bottom: {px:?}"
    );
}

#[tokio::test]
async fn screenshots_keep_the_pixel_and_byte_limits() {
    let site = Site::new(&[(
            "tall.html",
            r#"<!doctype html><body style="margin:0"><div style="height:1500px;background:#fff"></div><div style="height:100px;background:#0000ff"></div></body>"#.to_owned(),
        )]);
    let s = renderer(&[("FERROTYPE_MAX_SOURCE_PIXELS", "500000")]);
    let card = site.url("card.html");
    // 1200×630 = 756 000 pixels; 600×300 at scaleFactor 2 = 720 000.
    for options in ["", "width=600&height=300&scaleFactor=2"] {
        let r = s.get(&shot(&card, options)).await;
        assert_eq!(r.status, 422, "{options}: {}", r.text());
        assert_eq!(r.header("cache-control"), "public, max-age=60");
        assert!(
            r.text().contains("over the limit of 500000"),
            "{}",
            r.text()
        );
    }
    let small = s.get(&shot(&card, "width=600&height=300")).await;
    assert_eq!(pixels(&small.body).dimensions(), (600, 300));
    // A full page is cut where it would pass the limit: 500 000 / 400 = 1250 rows.
    let full = s
        .get(&shot(
            &site.url("tall.html"),
            "width=400&height=300&fullPage=true",
        ))
        .await;
    assert_eq!(full.status, 200);
    assert_eq!(pixels(&full.body).dimensions(), (400, 1250));

    let s = renderer(&[("FERROTYPE_MAX_SOURCE_BYTES", "200")]);
    for kind in ["png", "jpeg"] {
        let r = s.get(&shot(&card, &format!("type={kind}"))).await;
        assert_eq!(r.status, 413, "{kind}: {}", r.text());
        assert_eq!(r.header("cache-control"), "public, max-age=60");
    }
}

#[tokio::test]
async fn renders_past_the_queue_are_refused_at_once() {
    let site = Site::new(&[]);
    let s = renderer(&[("FERROTYPE_BROWSER_TABS", "1"), ("FERROTYPE_QUEUE", "1")]);
    let card = site.url("card.html");
    // Start the browser first, so that the first render holds the tab for its delay.
    assert_eq!(s.get(&shot(&card, "v=warm")).await.status, 200);
    // The tab is held until its window is reset, in the background.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let slow = |v: u32| {
        let path = shot(&card, &format!("delay=1500&v={v}"));
        let s = &s;
        async move { s.get(&path).await }
    };
    let replies = futures::future::join_all((0..4).map(slow)).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    // One renders, one waits for the tab, two find the queue full.
    assert_eq!(statuses, [200, 200, 503, 503], "{statuses:?}");
    for r in replies.iter().filter(|r| r.status == 503) {
        assert_eq!(r.header("retry-after"), "1");
        assert_eq!(r.header("cache-control"), "no-store");
    }
}
