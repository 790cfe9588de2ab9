//! URLs built by imgproxy's own client libraries, fetched from the real server exactly as
//! built (never re-signed): npm `@imgproxy/imgproxy-node` (imgproxy's official Node client),
//! npm `imgproxy` and PyPI `imgproxy`, pinned in `tests/clients/` and installed there by
//! `scripts/install-deps test` (which `make test` runs). Each case checks the status, the
//! decoded format and the decoded size; a corrupted signature must answer `403`.
//!
//! Missing Node.js, Python or packages fail these tests: they are never skipped.

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Origin, Reply, Server};
use serde_json::{json, Value};

const KEY: &str = "736563726574";
const SALT: &str = "68656C6C6F";

/// 640×427.
const ROCKET: &str = "photo/rocket.jpg";
/// 2560×1600.
const LEAF: &str = "photo/fallenleaf-canon70d.jpg";

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

struct Client {
    name: &'static str,
    program: &'static str,
    script: &'static str,
    /// A file the install leaves, to tell a missing install from a broken script.
    installed: &'static str,
    /// The cases this library has no way to express (the script answers `unsupported`):
    /// exactly these, so a script that gives up on more fails the test.
    unsupported: &'static [&'static str],
}

const CLIENTS: [Client; 3] = [
    Client {
        name: "@imgproxy/imgproxy-node",
        program: "node",
        script: "node-official.mjs",
        installed: "node_modules/@imgproxy/imgproxy-node/package.json",
        // generateImageUrl has no URL extension (the format option is its way to choose
        // the output); plain and base64 sources, and every option used here, it has.
        unsupported: &["extension png, base64 local", "extension webp, plain http"],
    },
    Client {
        name: "imgproxy (npm)",
        program: "node",
        script: "node-imgproxy.mjs",
        installed: "node_modules/imgproxy/package.json",
        unsupported: &[],
    },
    Client {
        name: "imgproxy (PyPI)",
        program: "python3",
        script: "python_client.py",
        installed: "python/imgproxy.py",
        // It writes base64 sources only.
        unsupported: &[
            "fill 300x200, plain http",
            "format png, plain local",
            "extension webp, plain http",
        ],
    },
];

struct Case {
    name: &'static str,
    /// The request one case makes of a client script (tests/clients/README.md).
    spec: Value,
    /// Decoded format, width, height.
    expect: (&'static str, u32, u32),
}

fn case(name: &'static str, spec: Value, expect: (&'static str, u32, u32)) -> Case {
    Case { name, spec, expect }
}

/// Every case, its http sources on `origin`.
fn cases(origin: &Origin) -> Vec<Case> {
    let http = |p: &str| format!("{}{p}", origin.base());
    let local = |p: &str| format!("local:///{p}");
    let fill = |w: u32, h: u32| json!({"type": "fill", "width": w, "height": h});
    let fit_w = |w: u32| json!({"type": "fit", "width": w});
    vec![
        case(
            "fill 300x200, base64 http",
            json!({"source": http(ROCKET), "encoding": "base64", "resize": fill(300, 200)}),
            ("jpeg", 300, 200),
        ),
        case(
            "fill 300x200, plain http",
            json!({"source": http(ROCKET), "encoding": "plain", "resize": fill(300, 200)}),
            ("jpeg", 300, 200),
        ),
        case(
            "fit width 200",
            json!({"source": http(ROCKET), "encoding": "base64", "resize": fit_w(200)}),
            ("jpeg", 200, 133),
        ),
        case(
            "width option",
            json!({"source": local(ROCKET), "encoding": "base64", "width": 200}),
            ("jpeg", 200, 133),
        ),
        case(
            "resizing type, width, height options",
            json!({"source": local(ROCKET), "encoding": "base64",
                   "resizing_type": "fill", "width": 300, "height": 200}),
            ("jpeg", 300, 200),
        ),
        case(
            "format webp",
            json!({"source": local(ROCKET), "encoding": "base64",
                   "resize": fit_w(200), "format": "webp"}),
            ("webp", 200, 133),
        ),
        case(
            "format png, plain local",
            json!({"source": local(ROCKET), "encoding": "plain", "format": "png"}),
            ("png", 640, 427),
        ),
        case(
            "extension webp, plain http",
            json!({"source": http(ROCKET), "encoding": "plain",
                   "resize": fit_w(100), "extension": "webp"}),
            ("webp", 100, 67),
        ),
        case(
            "extension png, base64 local",
            json!({"source": local(LEAF), "encoding": "base64",
                   "resize": {"type": "fit", "width": 300, "height": 300}, "extension": "png"}),
            ("png", 300, 188),
        ),
        case(
            "gravity west",
            json!({"source": local(LEAF), "encoding": "base64",
                   "resize": fill(300, 300), "gravity": "we"}),
            ("jpeg", 300, 300),
        ),
        case(
            "gravity east",
            json!({"source": local(LEAF), "encoding": "base64",
                   "resize": fill(300, 300), "gravity": "ea"}),
            ("jpeg", 300, 300),
        ),
        case(
            "gravity smart",
            json!({"source": local(LEAF), "encoding": "base64",
                   "resize": fill(300, 200), "gravity": "sm"}),
            ("jpeg", 300, 200),
        ),
        case(
            "gravity focus point",
            json!({"source": local(LEAF), "encoding": "base64",
                   "resize": fill(200, 200), "gravity": {"x": 0.3, "y": 0.7}}),
            ("jpeg", 200, 200),
        ),
        case(
            "quality 10",
            json!({"source": local(ROCKET), "encoding": "base64",
                   "resize": fit_w(300), "quality": 10}),
            ("jpeg", 300, 200),
        ),
        case(
            "quality 90",
            json!({"source": local(ROCKET), "encoding": "base64",
                   "resize": fit_w(300), "quality": 90}),
            ("jpeg", 300, 200),
        ),
        case(
            "no enlarge",
            json!({"source": local(ROCKET), "encoding": "base64", "resize": fit_w(1000)}),
            ("jpeg", 640, 427),
        ),
        case(
            "enlarge",
            json!({"source": local(ROCKET), "encoding": "base64",
                   "resize": {"type": "fit", "width": 1000, "enlarge": true}}),
            ("jpeg", 1000, 667),
        ),
    ]
}

/// What `client` builds for `cases` against `base`: a URL per case, `None` where the library
/// cannot express it.
fn build_urls(
    client: &Client,
    base: &str,
    signature_size: Option<u32>,
    cases: &[Value],
) -> Vec<Option<String>> {
    let dir = clients_dir();
    assert!(
        dir.join(client.installed).exists(),
        "{}: {} is missing; `scripts/install-deps test` (run by `make test`) installs it",
        client.name,
        dir.join(client.installed).display()
    );
    let request = json!({
        "key": KEY,
        "salt": SALT,
        "base": base,
        "signature_size": signature_size,
        "cases": cases,
    });
    let mut child = Command::new(client.program)
        .arg(dir.join(client.script))
        .current_dir(&dir)
        .env("PYTHONPATH", dir.join("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // The official client falls back on these; the key and salt are given explicitly.
        .env_remove("IMGPROXY_KEY")
        .env_remove("IMGPROXY_SALT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: cannot run {} ({e}); `scripts/install-deps test` installs it",
                client.name, client.program
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        client.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Option<String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| (!l.starts_with("unsupported:")).then(|| l.to_owned()))
        .collect();
    assert_eq!(
        lines.len(),
        cases.len(),
        "{}: one line per case",
        client.name
    );
    for url in lines.iter().flatten() {
        assert!(
            url.starts_with(base) && !url.contains("/insecure/"),
            "{}: {url} is not a signed URL under {base}",
            client.name
        );
    }
    lines
}

/// A server speaking imgproxy with the test key and salt, `local://` in the corpus, http
/// sources allowed on loopback.
fn server(extra: &[(&str, &str)]) -> Server {
    let mut b = Server::builder()
        .env("FERROTYPE_IMGPROXY_KEY", KEY)
        .env("FERROTYPE_IMGPROXY_SALT", SALT)
        .env(
            "FERROTYPE_IMGPROXY_LOCAL_ROOT",
            common::corpus().display().to_string(),
        )
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.1")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8");
    for (k, v) in extra {
        b = b.env(k, *v);
    }
    b.start()
}

/// GET an absolute URL a client built, as built.
async fn fetch(s: &Server, url: &str) -> Reply {
    let target = url
        .strip_prefix(&format!("http://{}", s.addr))
        .unwrap_or_else(|| panic!("{url} is not on the server"));
    s.get_raw(target, &[]).await
}

/// `url` with one character of its signature (the first path segment) changed.
fn corrupt_signature(s: &Server, url: &str) -> String {
    let origin = format!("http://{}/", s.addr);
    let rest = url.strip_prefix(&origin).expect("on the server");
    let mut chars: Vec<char> = rest.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    format!("{origin}{}", chars.into_iter().collect::<String>())
}

/// What a reply is, for messages: status and, for a 200, the decoded format and size.
fn describe(r: &Reply) -> String {
    if r.status == 200 {
        let d = common::decode(&r.body);
        format!("200 {} {}x{}", d.format, d.width, d.height)
    } else {
        format!("{} {:?}", r.status, r.text().trim())
    }
}

#[tokio::test]
async fn urls_built_by_imgproxy_clients_are_answered() {
    let origin = Origin::start(common::corpus());
    let s = server(&[]);
    let base = format!("http://{}", s.addr);
    let cases = cases(&origin);
    let specs: Vec<Value> = cases.iter().map(|c| c.spec.clone()).collect();

    let mut failures = Vec::new();
    for client in &CLIENTS {
        let urls = build_urls(client, &base, None, &specs);
        let unsupported: BTreeSet<&str> = cases
            .iter()
            .zip(&urls)
            .filter(|(_, u)| u.is_none())
            .map(|(c, _)| c.name)
            .collect();
        assert_eq!(
            unsupported,
            client.unsupported.iter().copied().collect(),
            "{}: the cases it cannot express",
            client.name
        );

        let mut bodies = std::collections::HashMap::new();
        for (case, url) in cases.iter().zip(&urls) {
            let Some(url) = url else { continue };
            let r = fetch(&s, url).await;
            let (format, w, h) = case.expect;
            let want = format!("200 {format} {w}x{h}");
            let got = describe(&r);
            if got != want {
                failures.push(format!(
                    "{} / {}: {url}\n    expected {want}, got {got}",
                    client.name, case.name
                ));
            } else {
                bodies.insert(case.name, r.body.clone());
            }
        }
        // The options that change the pixels but not the size, seen to apply.
        if let (Some(low), Some(high)) = (bodies.get("quality 10"), bodies.get("quality 90")) {
            assert!(
                low.len() * 2 < high.len(),
                "{}: q10 is {} bytes, q90 {}",
                client.name,
                low.len(),
                high.len()
            );
        }
        // (A landscape photo filled into a square: west and east keep different sides.)
        if let (Some(we), Some(ea)) = (bodies.get("gravity west"), bodies.get("gravity east")) {
            assert!(
                we != ea,
                "{}: gravity we and ea give the same image",
                client.name
            );
        }

        // The signature is checked: one character changed in it answers 403.
        let first = urls.iter().flatten().next().expect("a URL");
        let bad = corrupt_signature(&s, first);
        let r = fetch(&s, &bad).await;
        assert_eq!(r.status, 403, "{}: {bad}", client.name);
    }
    assert!(
        failures.is_empty(),
        "URLs built by imgproxy's clients answered wrongly:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn clients_under_a_prefix_and_with_short_signatures() {
    let spec = json!({"source": format!("local:///{ROCKET}"), "encoding": "base64",
                      "resize": {"type": "fill", "width": 300, "height": 200}});
    // Under a path prefix: every client takes the prefix as part of its base URL.
    let s = server(&[("FERROTYPE_IMGPROXY_PREFIX", "/img")]);
    let base = format!("http://{}/img", s.addr);
    for client in &CLIENTS {
        let urls = build_urls(client, &base, None, std::slice::from_ref(&spec));
        let url = urls[0].as_deref().expect("a URL");
        let r = fetch(&s, url).await;
        assert_eq!(describe(&r), "200 jpeg 300x200", "{}: {url}", client.name);
    }

    // Signatures cut to 8 bytes: only the npm `imgproxy` package has the setting
    // (`signatureSize`); the official client and the PyPI one always sign with all 32.
    let s = server(&[("FERROTYPE_IMGPROXY_SIGNATURE_SIZE", "8")]);
    let base = format!("http://{}", s.addr);
    for client in &CLIENTS {
        let urls = build_urls(client, &base, Some(8), std::slice::from_ref(&spec));
        let Some(url) = urls[0].as_deref() else {
            assert_ne!(client.name, "imgproxy (npm)", "it has signatureSize");
            continue;
        };
        let r = fetch(&s, url).await;
        assert_eq!(describe(&r), "200 jpeg 300x200", "{}: {url}", client.name);
        let bad = corrupt_signature(&s, url);
        assert_eq!(fetch(&s, &bad).await.status, 403, "{}: {bad}", client.name);
    }
}
