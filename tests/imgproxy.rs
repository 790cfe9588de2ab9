//! imgproxy's URL dialect (API.md §8) through the real server: its signature, its sources
//! (`local://`, http under `?url=`'s rules, `s3://` refused), and its options, each with a
//! decoded size or pixel check.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{decode, pixels, Origin, Reply, Server};
use ferrotype::signature::ImgproxySigner;

const KEY: &str = "736563726574";
const SALT: &str = "68656C6C6F";

/// A server speaking imgproxy under `prefix`, its `local://` root the corpus.
fn server(prefix: &str, extra: &[(&str, &str)]) -> Server {
    let mut b = Server::builder()
        .env("FERROTYPE_IMGPROXY_KEY", KEY)
        .env("FERROTYPE_IMGPROXY_SALT", SALT)
        .env("FERROTYPE_IMGPROXY_PREFIX", prefix)
        .env(
            "FERROTYPE_IMGPROXY_LOCAL_ROOT",
            common::corpus().display().to_string(),
        )
        .env(
            "FERROTYPE_WATERMARKS",
            format!(
                "default=file://{}/png/skimage-logo-rgba.png",
                common::corpus().display()
            ),
        );
    for (k, v) in extra {
        b = b.env(k, *v);
    }
    b.start()
}

fn signer() -> ImgproxySigner {
    ImgproxySigner::new(&[KEY], &[SALT], 32).unwrap()
}

/// `path` (options and source, from its `/`) signed, under `prefix`.
fn signed(prefix: &str, path: &str) -> String {
    format!("{prefix}/{}{path}", signer().sign(path))
}

async fn get(s: &Server, path: &str) -> Reply {
    s.get_raw(&signed("", path), &[]).await
}

fn size(r: &Reply) -> (u32, u32) {
    let d = r.image();
    (d.width, d.height)
}

/// 2560×1600 camera JPEG in the corpus.
const PHOTO: &str = "plain/local:///photo/fallenleaf-canon70d.jpg";
/// 640×427.
const SMALL: &str = "plain/local:///photo/rocket.jpg";

#[tokio::test]
async fn signatures_are_imgproxys() {
    let s = server("", &[]);
    let path = format!("/rs:fit:300:300/{SMALL}");
    assert_eq!(size(&get(&s, &path).await), (300, 200));
    // Wrong, missing, for another path, or with a query: 403.
    for target in [
        format!("/AAAA{path}"),
        format!("/unsafe{path}"),
        format!("/{}/rs:fit:301:300/{SMALL}", signer().sign(&path)),
    ] {
        let r = s.get_raw(&target, &[]).await;
        assert_eq!(r.status, 403, "{target}");
        assert_eq!(r.header("cache-control"), "no-store");
    }
    // The query is not signed, and not read.
    let r = s.get_raw(&format!("{}?w=5", signed("", &path)), &[]).await;
    assert_eq!(size(&r), (300, 200));
    // ferrotype's own routes keep their own signatures.
    assert_eq!(
        s.get("/transform/corpus/photo/rocket.jpg?w=10")
            .await
            .status,
        404
    );
    assert_eq!(s.get_raw("/health", &[]).await.status, 200);

    // A prefix, truncated signatures, and a second pair (rotation).
    let s = server(
        "/img",
        &[
            ("FERROTYPE_IMGPROXY_KEY", "6f6c64,736563726574"),
            ("FERROTYPE_IMGPROXY_SALT", "73616c74,68656C6C6F"),
            ("FERROTYPE_IMGPROXY_SIGNATURE_SIZE", "8"),
        ],
    );
    let short = ImgproxySigner::new(&[KEY], &[SALT], 8).unwrap();
    let target = format!("/img/{}{path}", short.sign(&path));
    assert_eq!(size(&s.get_raw(&target, &[]).await), (300, 200));
    assert_eq!(s.get_raw(&signed("/img", &path), &[]).await.status, 403);
    assert_eq!(
        s.get_raw(&format!("/{}{path}", short.sign(&path)), &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn sources_follow_the_proxy_rules() {
    let origin = Origin::start(common::corpus());
    let s = server(
        "",
        &[
            ("FERROTYPE_ALLOWED_HOSTS", "127.0.0.1"),
            ("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8"),
        ],
    );
    let url = format!("{}photo/rocket.jpg", origin.base());
    // Plain, percent-encoded, and base64 split anywhere, with their extensions.
    let plain = get(&s, &format!("/w:100/plain/{url}@webp")).await;
    assert_eq!(plain.image().format, "webp");
    assert_eq!(size(&plain), (100, 67));
    let encoded = URL_SAFE_NO_PAD.encode(&url);
    let (a, b) = encoded.split_at(10);
    let r = get(&s, &format!("/w:100/{a}/{b}.png")).await;
    assert_eq!((r.image().format, size(&r)), ("png", (100, 67)));
    // Not allowed: another host, a private address without the network rule.
    let s2 = server("", &[("FERROTYPE_ALLOWED_HOSTS", "example.com")]);
    assert_eq!(get(&s2, &format!("/w:100/plain/{url}")).await.status, 403);
    // local:// stays under its root; s3:// is refused until buckets are configured.
    // (Sent as is: an HTTP client would resolve the `..` itself.)
    let dots = signed("", "/plain/local:///photo/../photo/rocket.jpg");
    assert_eq!(s.raw_status(&dots).await, 400);
    assert_eq!(get(&s, "/plain/local:///photo/none.jpg").await.status, 404);
    assert_eq!(get(&s, "/plain/s3://bucket/a.jpg").await.status, 403);
    assert_eq!(get(&s, "/plain/ftp://127.0.0.1/a.jpg").await.status, 400);
}

#[tokio::test]
async fn sizing_options_as_imgproxy_sizes() {
    let s = server("", &[]);
    for (options, expected) in [
        ("rs:fit:300:300", (300, 188)),
        ("rs:fill:300:300", (300, 300)),
        ("rs:force:300:300", (300, 300)),
        ("rs:force:300", (300, 1600)),
        ("rs:auto:300:100", (300, 100)),
        ("rs:auto:100:300", (100, 63)),
        ("s:300:300", (300, 188)),
        ("w:200", (200, 125)),
        ("h:100", (160, 100)),
        ("w:200/h:200/rt:fill", (200, 200)),
        ("w:200/dpr:2", (400, 250)),
        ("w:200/z:1.5", (300, 188)),
        ("w:200/mh:200", (200, 200)),
        ("h:100/mw:400", (400, 100)),
        ("rs:fit:3000:3000", (2560, 1600)),
        ("rs:fit:3000:3000:1", (3000, 1875)),
        ("rs:fit:3000:3000:0:1", (3000, 3000)),
        ("rs:fill-down:3000:1000", (2560, 853)),
        ("rs:fit:300:300/exar:1", (300, 300)),
        ("c:1000:500/w:100", (100, 50)),
        ("c:0.5:0.5", (1280, 800)),
        ("pd:10:20", (2600, 1620)),
        ("w:100/pd:10:20:30:40/dpr:2", (200 + 120, 125 + 80)),
        ("rot:90/w:100", (100, 160)),
        ("rot:-270/w:100", (100, 160)),
    ] {
        let r = get(&s, &format!("/{options}/{PHOTO}")).await;
        assert_eq!(size(&r), expected, "{options}");
    }
    // auto_rotate:0 leaves the EXIF orientation alone: the stored 2×1, not the shown 1×2.
    let rect = "plain/local:///orientation/orientation_rectangle.jpg";
    assert_eq!(size(&get(&s, &format!("/{rect}")).await), (1, 2));
    assert_eq!(size(&get(&s, &format!("/ar:0/{rect}")).await), (2, 1));
}

#[tokio::test]
async fn gravity_crop_and_extend_place_the_image() {
    let s = server("", &[]);
    // Two crops from opposite corners differ; an offset moves one.
    let take = |g: &'static str| {
        let s = &s;
        async move {
            pixels(
                &get(s, &format!("/rs:fill:100:100/g:{g}/{PHOTO}@png"))
                    .await
                    .body,
            )
        }
    };
    let nowe = take("nowe").await;
    let soea = take("soea").await;
    let shifted = take("nowe:40:0").await;
    assert_ne!(nowe, soea);
    assert_ne!(nowe, shifted);
    assert_eq!(take("fp:0:0").await, nowe);
    // extend with a gravity: the image at the top left of a white canvas.
    let r = get(
        &s,
        &format!("/rs:fit:1000:1000:0:1:nowe/bg:255:0:0/{SMALL}@png"),
    )
    .await;
    let img = pixels(&r.body);
    assert_eq!(img.dimensions(), (1000, 1000));
    assert_eq!(img.get_pixel(999, 999).0, [255, 0, 0, 255]);
    assert_ne!(img.get_pixel(10, 10).0, [255, 0, 0, 255]);
    // trim with a colour and equal sides.
    let r = get(
        &s,
        "/t:10:ffffff:1:1/plain/local:///png/skimage-logo-rgba.png@png",
    )
    .await;
    assert!(r.image().width > 0);
}

#[tokio::test]
async fn effects_metadata_formats_and_delivery() {
    let s = server("", &[]);
    for options in [
        "bl:2",
        "sh:1",
        "pix:8",
        "fl:1:0",
        "fl::1",
        "bg:ff0000",
        "bg:1:2:3",
        "bg:",
    ] {
        let r = get(&s, &format!("/w:100/{options}/{SMALL}")).await;
        assert_eq!(size(&r), (100, 67), "{options}");
    }
    // The watermark named "default", by opacity and position.
    let plain = pixels(&get(&s, &format!("/w:200/{SMALL}@png")).await.body);
    let marked = pixels(
        &get(&s, &format!("/w:200/wm:1:nowe:0:0:0.3/{SMALL}@png"))
            .await
            .body,
    );
    assert_ne!(plain.get_pixel(5, 5), marked.get_pixel(5, 5));
    assert_eq!(plain.get_pixel(195, 125), marked.get_pixel(195, 125));
    // Quality, per format, and the byte budget.
    let q10 = get(&s, &format!("/w:600/q:10/{SMALL}")).await.body.len();
    let q90 = get(&s, &format!("/w:600/q:90/{SMALL}")).await.body.len();
    assert!(q10 < q90);
    assert_eq!(
        get(&s, &format!("/w:600/fq:jpg:10/{SMALL}"))
            .await
            .body
            .len(),
        q10
    );
    let budget = get(&s, &format!("/w:600/q:90/mb:{}/{SMALL}", q90 / 2)).await;
    assert!(budget.body.len() <= q90 / 2);
    // Formats: the option, the extension (which wins), else the source's.
    assert_eq!(
        get(&s, &format!("/f:webp/{SMALL}")).await.image().format,
        "webp"
    );
    assert_eq!(
        get(&s, &format!("/f:webp/{SMALL}@avif"))
            .await
            .image()
            .format,
        "avif"
    );
    assert_eq!(get(&s, &format!("/{SMALL}")).await.image().format, "jpeg");
    // skip_processing and raw answer the original's bytes.
    let original = std::fs::read(common::corpus().join("photo/rocket.jpg")).unwrap();
    assert_eq!(
        get(&s, &format!("/w:10/skp:jpg/{SMALL}")).await.body,
        original
    );
    assert_eq!(
        get(&s, &format!("/w:10/raw:1/{SMALL}")).await.body,
        original
    );
    assert_ne!(
        get(&s, &format!("/w:10/skp:png/{SMALL}")).await.body,
        original
    );
    // Metadata: stripped, unless sm:0.
    let kept = get(
        &s,
        "/w:100/sm:0/plain/local:///photo/elephants-rx100-1280.jpg",
    )
    .await;
    let stripped = get(&s, "/w:100/plain/local:///photo/elephants-rx100-1280.jpg").await;
    assert!(kept.body.windows(4).any(|w| w == b"Exif"));
    assert!(!stripped.body.windows(4).any(|w| w == b"Exif"));
    // Delivery: file name (plain or base64), attachment, cache buster.
    let r = get(&s, &format!("/fn:my%20cat/att:1/cb:2/{SMALL}")).await;
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"my cat.jpg\""
    );
    let r = get(
        &s,
        &format!("/fn:{}:1/{SMALL}", URL_SAFE_NO_PAD.encode("b64")),
    )
    .await;
    assert!(
        r.header("content-disposition").contains("b64.jpg"),
        "{}",
        r.header("content-disposition")
    );
    // Expired: 410, before any other complaint about the URL.
    let r = get(&s, &format!("/exp:1/nope:1/{SMALL}")).await;
    assert_eq!(r.status, 410);
    let future = u64::MAX / 2;
    assert_eq!(
        size(&get(&s, &format!("/exp:{future}/w:10/{SMALL}")).await),
        (10, 7)
    );
}

/// The EXIF fields of an output, by name (kamadak-exif, not libvips).
fn exif_fields(body: &[u8]) -> Vec<String> {
    exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(body))
        .map(|e| e.fields().map(|f| f.tag.to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_copyright_is_kept_as_imgproxy_keeps_it() {
    let s = server("", &[]);
    // The original credits "Martin Klapetek" as Artist, beside its camera's fields and a
    // thumbnail.
    for ext in ["jpg", "webp", "png"] {
        let r = get(&s, &format!("/w:300/{PHOTO}@{ext}")).await;
        let fields = exif_fields(&r.body);
        assert!(fields.contains(&"Artist".to_owned()), "{ext}: {fields:?}");
        assert!(!fields.contains(&"Model".to_owned()), "{ext}: {fields:?}");
        assert!(r.body.windows(15).any(|w| w == b"Martin Klapetek"), "{ext}");
        // kcr:0 strips it with the rest.
        let r = get(&s, &format!("/w:300/kcr:0/{PHOTO}@{ext}")).await;
        assert!(exif_fields(&r.body).is_empty(), "{ext}");
    }
    // An original without credits gets no EXIF at all.
    assert!(exif_fields(&get(&s, &format!("/w:300/{SMALL}")).await.body).is_empty());
}

#[tokio::test]
async fn presets_auto_formats_and_errors() {
    let s = server(
        "",
        &[
            (
                "FERROTYPE_IMGPROXY_PRESETS",
                "default=q:70,thumb=rs:fill:120:80",
            ),
            ("FERROTYPE_IMGPROXY_AUTO_FORMATS", "avif,webp"),
        ],
    );
    let r = get(&s, &format!("/pr:thumb/{SMALL}")).await;
    assert_eq!(size(&r), (120, 80));
    assert_eq!(
        get(&s, &format!("/preset:thumb/w:60/{SMALL}"))
            .await
            .image()
            .width,
        60
    );
    // No extension: the first format Accept allows, with Vary.
    let path = signed("", &format!("/w:100/{SMALL}"));
    let r = s.get_raw(&path, &[("accept", "image/webp,*/*")]).await;
    assert_eq!(r.image().format, "webp");
    assert_eq!(r.header("vary"), "Accept");
    let r = s
        .get_raw(&path, &[("accept", "image/avif,image/webp")])
        .await;
    assert_eq!(r.image().format, "avif");
    assert_eq!(decode(&s.get_raw(&path, &[]).await.body).format, "jpeg");
    for (options, name) in [
        ("nope:1", "nope"),
        ("w:1:2", "width"),
        ("w:9000", "width"),
        ("q:101", "quality"),
        ("rt:squash", "resizing_type"),
        ("g:up", "gravity"),
        ("pr:missing", "preset"),
        ("rot:45", "rotate"),
    ] {
        let r = get(&s, &format!("/{options}/{SMALL}")).await;
        assert_eq!(r.status, 400, "{options}");
        assert!(r.text().contains(name), "{options}: {}", r.text());
    }
}

#[test]
fn configuration_mistakes_stop_the_start() {
    for (env, expect) in [
        (
            vec![("FERROTYPE_IMGPROXY_KEY", "aa")],
            "FERROTYPE_IMGPROXY_SALT",
        ),
        (
            vec![
                ("FERROTYPE_IMGPROXY_KEY", "aa,bb"),
                ("FERROTYPE_IMGPROXY_SALT", "cc"),
            ],
            "2 keys but 1 salts",
        ),
        (
            vec![
                ("FERROTYPE_IMGPROXY_KEY", "zz"),
                ("FERROTYPE_IMGPROXY_SALT", "cc"),
            ],
            "not hex",
        ),
        (
            vec![
                ("FERROTYPE_IMGPROXY_KEY", "aa"),
                ("FERROTYPE_IMGPROXY_SALT", "cc"),
                ("FERROTYPE_IMGPROXY_PRESETS", "x=rs:squash"),
            ],
            "FERROTYPE_IMGPROXY_PRESETS",
        ),
        (
            vec![
                ("FERROTYPE_IMGPROXY_KEY", "aa"),
                ("FERROTYPE_IMGPROXY_SALT", "cc"),
                ("FERROTYPE_IMGPROXY_SIGNATURE_SIZE", "33"),
            ],
            "FERROTYPE_IMGPROXY_SIGNATURE_SIZE",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferrotype"));
        cmd.arg("serve")
            .env_clear()
            .env("FERROTYPE_BIND", "127.0.0.1:0")
            .env("FERROTYPE_KEYS", "k")
            .env("FERROTYPE_CACHE_DIR", dir.path());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run ferrotype");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?} started");
        assert!(err.contains(expect), "{env:?}: {err}");
        assert!(
            !err.contains("cc") || expect.contains("cc"),
            "a salt in the log: {err}"
        );
    }
}
