//! Demo mode's gallery at `/` (API.md §1) as a newcomer meets it: the real binary started
//! with no configuration at all, the page fetched, every example on it answered, then the
//! page loaded in Chromium, where every image must decode and nothing may come from
//! anywhere but the server itself.
//!
//! Demo mode always binds 127.0.0.1:8080 (any `FERROTYPE_*` setting but the log's leaves
//! demo mode), so this file holds one test; `tests/server.rs` has the other demo test, in
//! another test binary, and cargo runs test binaries one at a time.

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use futures::StreamExt;

/// Every option family of API.md §3 the page must show, each in at least one image.
const FAMILIES: &[&str] = &[
    "w",
    "h",
    "fit",
    "dpr",
    "enlarge",
    "g",
    "fx",
    "fy",
    "fm",
    "q",
    "bg",
    "rot",
    "blur",
    "sharpen",
    "page",
    "crop",
    "trim",
    "pad",
    "flip",
    "pixelate",
    "wm",
    "wm_text",
    "wm_pos",
    "wm_opacity",
    "wm_scale",
    "wm_margin",
    "wm_color",
    "max_bytes",
    "preset",
];

/// The binary in demo mode, killed when dropped.
struct Demo {
    child: Child,
    /// The gallery's address, as the banner printed it.
    gallery: String,
    _cache: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ferrotype serve` with nothing configured. Port 8080 may be held for a moment by
/// another demo (another test binary, a `make run`): then it tries again, for a while.
fn start_demo() -> Demo {
    let mut last = String::new();
    for _ in 0..30 {
        let cache = tempfile::tempdir().unwrap();
        let stderr = cache.path().join("stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrotype"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("XDG_CACHE_HOME", cache.path())
            // The log's settings are not configuration: still demo mode.
            .env("FERROTYPE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut gallery = None;
        let mut listening = false;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("Gallery of every option: ") {
                gallery = Some(url.trim().to_owned());
            }
            if line.starts_with("ferrotype listening on") {
                listening = true;
                break;
            }
        }
        if listening {
            std::thread::spawn(move || for _ in lines {});
            return Demo {
                child,
                gallery: gallery.expect("the banner names the gallery"),
                _cache: cache,
            };
        }
        let _ = child.wait();
        last = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert!(
            last.contains("cannot listen"),
            "demo mode did not start: {last}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("127.0.0.1:8080 stayed taken: {last}");
}

/// The values of every `name="…"` attribute, HTML entities of URLs undone.
fn attributes(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            let value = &rest[..rest.find('"').expect("a closing quote")];
            value.replace("&amp;", "&")
        })
        .collect()
}

/// The option names in a target's query.
fn option_names(target: &str) -> Vec<String> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .map(|p| p.split('=').next().unwrap_or("").to_owned())
        })
        .into_iter()
        .flatten()
        .collect()
}

/// What the page reports once every image has settled.
#[derive(Debug, serde::Deserialize)]
struct Loaded {
    images: usize,
    failed: Vec<String>,
    foreign: Vec<String>,
}

const CHECK_IMAGES: &str = r#"(async () => {
  const images = [...document.images];
  await Promise.all(images.map(i => i.complete ? null : new Promise(done => {
    i.addEventListener("load", done);
    i.addEventListener("error", done);
  })));
  const failed = [];
  for (const i of images) {
    if (!(i.complete && i.naturalWidth > 0)) {
      failed.push(i.src);
      continue;
    }
    try { await i.decode(); } catch (e) { failed.push(i.src + " (decode: " + e + ")"); }
  }
  const foreign = performance.getEntriesByType("resource")
    .map(e => e.name)
    .filter(n => !n.startsWith(location.origin + "/"));
  return { images: images.length, failed, foreign };
})()"#;

async fn load_in_chromium(url: &str) -> Loaded {
    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable("/usr/bin/chromium")
        .user_data_dir(profile.path())
        // As the server launches it (screenshot::launch): tests run as root in containers.
        .no_sandbox()
        .launch_timeout(Duration::from_secs(30))
        .request_timeout(Duration::from_secs(60))
        .args([
            "disable-gpu",
            "no-first-run",
            "no-proxy-server",
            "disable-background-networking",
            "disable-component-update",
        ])
        .build()
        .unwrap();
    let (mut browser, mut handler) = Browser::launch(config).await.expect("Chromium starts");
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let loaded = async {
        let page = browser.new_page(url).await.expect("a tab");
        page.wait_for_navigation().await.expect("the page loads");
        page.evaluate(CHECK_IMAGES)
            .await
            .expect("the check runs")
            .into_value::<Loaded>()
            .expect("the check's result")
    };
    let loaded = tokio::time::timeout(Duration::from_secs(120), loaded)
        .await
        .expect("the page and its images load within 2 minutes");
    let _ = browser.close().await;
    let _ = browser.wait().await;
    events.abort();
    loaded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_serves_a_gallery_of_every_option() {
    let demo = start_demo();
    assert_eq!(demo.gallery, "http://127.0.0.1:8080/");
    let base = demo.gallery.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let r = client.get(&demo.gallery).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-store");
    let length = header(&r, "content-length");
    let html = r.text().await.unwrap();
    assert_eq!(length, html.len().to_string());
    let head = client.head(&demo.gallery).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&head, "content-length"), length);
    assert!(head.bytes().await.unwrap().is_empty());

    // Self-contained: every address in the page is this server's, stylesheets included.
    assert!(
        !html.contains("@import") && !html.contains("<script"),
        "{html}"
    );
    let mut addresses = attributes(&html, "src");
    addresses.extend(attributes(&html, "href"));
    for a in &addresses {
        assert!(
            a.starts_with('/') && !a.starts_with("//")
                || a.starts_with('#')
                || a.starts_with("http://127.0.0.1:8080/"),
            "an address outside the server: {a}"
        );
    }
    for (at, _) in html.match_indices("://") {
        let around = html.get(at.saturating_sub(4)..at + 12);
        assert_eq!(around, Some("http://127.0.0.1"), "an address in the text");
    }

    // Every family is shown, by an image, and named on the page.
    let images = attributes(&html, "src");
    assert!(images.len() >= 40, "{} images", images.len());
    let shown: BTreeSet<String> = images.iter().flat_map(|s| option_names(s)).collect();
    for family in FAMILIES {
        assert!(
            shown.contains(*family),
            "no image shows {family}: {shown:?}"
        );
        assert!(
            html.contains(&format!("<code>{family}</code>")),
            "the page does not name {family}"
        );
    }
    assert!(
        images.iter().any(|s| s.contains("wm_text=%")),
        "a percent-encoded wm_text"
    );
    let links = attributes(&html, "href");
    assert!(
        links
            .iter()
            .any(|l| l.starts_with("/info/demo/rocket.jpg?s=")),
        "{links:?}"
    );
    // Each URL is printed for copying, whole, with its signature.
    for s in &images {
        let printed = format!("<code>{base}{}</code>", s.replace('&', "&amp;"));
        assert!(html.contains(&printed), "{s} is not printed");
    }

    // Every example answers an image (or, for the links, 200), one by one, with the
    // reason when it does not.
    let targets: BTreeSet<&String> = images
        .iter()
        .chain(links.iter().filter(|l| l.starts_with('/')))
        .collect();
    for target in targets {
        let r = client
            .get(format!("{base}{target}"))
            .header(
                "accept",
                "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
            )
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.bytes().await.unwrap();
        assert_eq!(
            status,
            200,
            "{target}: {}",
            String::from_utf8_lossy(&body).trim()
        );
        if images.contains(target) {
            common::decode(&body);
        }
    }

    // And in a browser: every image loaded and decoded, nothing asked of another host.
    let loaded = load_in_chromium(&demo.gallery).await;
    assert_eq!(loaded.images, images.len(), "{loaded:?}");
    assert!(
        loaded.failed.is_empty(),
        "images that failed: {:#?}",
        loaded.failed
    );
    assert!(
        loaded.foreign.is_empty(),
        "requests to other hosts: {:#?}",
        loaded.foreign
    );
}
