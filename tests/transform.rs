//! `/transform` against real libvips through the real server: sizes, formats,
//! orientation, colour, animation and the response headers of API.md §5.

mod common;

use common::{frame_count, pixels, Decoded, Origin, Server};

/// 2560×1600 camera JPEG.
const LANDSCAPE: &str = "/transform/corpus/photo/fallenleaf-canon70d.jpg";
/// 640×427 JPEG.
const SMALL: &str = "/transform/corpus/photo/rocket.jpg";
/// 200×150 WebP with transparent areas.
const ALPHA: &str = "/transform/corpus/webp/transparent.webp";
/// 245×245, 42 frames.
const ANIMATED_GIF: &str = "/transform/corpus/gif/iss634-animated.gif";

fn dims(d: Decoded) -> (u32, u32) {
    (d.width, d.height)
}

#[tokio::test]
async fn fit_modes() {
    let s = Server::with_corpus();
    for (fit, expected) in [
        ("inside", (400, 250)),
        ("cover", (400, 400)),
        ("contain", (400, 400)),
        ("fill", (400, 400)),
        ("outside", (640, 400)),
    ] {
        let r = s.get(&format!("{LANDSCAPE}?w=400&h=400&fit={fit}")).await;
        assert_eq!(dims(r.image()), expected, "fit={fit}");
    }
    // One side alone keeps the aspect ratio, whatever the fit.
    assert_eq!(
        dims(s.get(&format!("{LANDSCAPE}?w=320")).await.image()),
        (320, 200)
    );
    assert_eq!(
        dims(s.get(&format!("{LANDSCAPE}?h=100&fit=cover")).await.image()),
        (160, 100)
    );
    // No size: the source size.
    assert_eq!(dims(s.get(SMALL).await.image()), (640, 427));
}

#[tokio::test]
async fn cover_gravity_and_focal_point_pick_different_crops() {
    let s = Server::with_corpus();
    let mut seen = Vec::new();
    for g in ["g=w", "g=e", "g=attention", "g=entropy", "fx=0.9&fy=0.1"] {
        let r = s
            .get(&format!("{LANDSCAPE}?w=200&h=200&fit=cover&fm=png&{g}"))
            .await;
        assert_eq!(dims(r.image()), (200, 200), "{g}");
        seen.push(r.body.clone());
    }
    assert_ne!(seen[0], seen[1], "west and east crops should differ");
    assert_ne!(seen[0], seen[4]);
}

#[tokio::test]
async fn contain_letterboxes_on_bg() {
    let s = Server::with_corpus();
    let r = s
        .get(&format!(
            "{LANDSCAPE}?w=300&h=300&fit=contain&bg=ff0000&fm=png"
        ))
        .await;
    assert_eq!(dims(r.image()), (300, 300));
    let px = pixels(&r.body);
    let top = px.get_pixel(150, 2).0;
    assert!(
        top[0] > 240 && top[1] < 15 && top[2] < 15,
        "letterbox is red: {top:?}"
    );
    // Transparent letterbox for formats with alpha.
    let r = s
        .get(&format!(
            "{LANDSCAPE}?w=300&h=300&fit=contain&bg=00000000&fm=png"
        ))
        .await;
    assert_eq!(pixels(&r.body).get_pixel(150, 2).0[3], 0);
}

#[tokio::test]
async fn dpr_multiplies_the_box() {
    let s = Server::with_corpus();
    assert_eq!(
        dims(s.get(&format!("{LANDSCAPE}?w=200&dpr=2")).await.image()),
        (400, 250)
    );
    assert_eq!(
        dims(s.get(&format!("{LANDSCAPE}?h=100&dpr=1.5")).await.image()),
        (240, 150)
    );
    assert_eq!(
        dims(
            s.get(&format!("{LANDSCAPE}?w=100&h=100&fit=cover&dpr=3"))
                .await
                .image()
        ),
        (300, 300)
    );
}

#[tokio::test]
async fn enlarge_is_opt_in() {
    let s = Server::with_corpus();
    assert_eq!(
        dims(s.get(&format!("{SMALL}?w=1000")).await.image()),
        (640, 427)
    );
    assert_eq!(
        dims(s.get(&format!("{SMALL}?w=1000&enlarge=1")).await.image()),
        (1000, 667)
    );
    assert_eq!(
        dims(
            s.get(&format!("{SMALL}?w=1000&h=1000&fit=cover"))
                .await
                .image()
        ),
        (640, 427)
    );
    assert_eq!(
        dims(
            s.get(&format!("{SMALL}?w=1000&h=1000&fit=cover&enlarge=1"))
                .await
                .image()
        ),
        (1000, 1000)
    );
}

#[tokio::test]
async fn every_output_format() {
    let s = Server::with_corpus();
    for (fm, mime) in [
        ("jpeg", "image/jpeg"),
        ("png", "image/png"),
        ("webp", "image/webp"),
        ("avif", "image/avif"),
        ("gif", "image/gif"),
    ] {
        let r = s.get(&format!("{SMALL}?w=160&fm={fm}")).await;
        let d = r.image();
        assert_eq!(d.format, fm);
        assert_eq!(dims(d), (160, 107), "fm={fm}");
        assert_eq!(r.header("content-type"), mime);
        assert_eq!(r.header("content-length"), r.body.len().to_string());
        assert_eq!(r.header("vary"), "", "Vary only for fm=auto");
    }
}

#[tokio::test]
async fn default_format_follows_the_source() {
    let s = Server::with_corpus();
    for (path, expected) in [
        ("photo/rocket.jpg", "jpeg"),
        ("png/skimage-logo-rgba.png", "png"),
        ("webp/flower-exif.webp", "webp"),
        ("avif/hopper.avif", "avif"),
        ("gif/transparent.gif", "gif"),
        ("tiff/hopper_bigtiff.tif", "jpeg"),
        ("tiff/tiff_16bit_RGBa.tiff", "png"),
        ("heic/hopper.heif", "jpeg"),
        ("svg/oceans.svg", "png"),
        ("jpeg/cmyk.jpg", "jpeg"),
    ] {
        let r = s.get(&format!("/transform/corpus/{path}?w=64")).await;
        assert_eq!(r.image().format, expected, "{path}");
    }
}

#[tokio::test]
async fn fm_auto_negotiates_from_accept() {
    let s = Server::with_corpus();
    for (accept, expected) in [
        ("image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "avif"),
        ("image/webp,*/*", "webp"),
        ("image/png,image/*;q=0.8,*/*;q=0.5", "jpeg"),
    ] {
        let r = s
            .get_with(&format!("{SMALL}?w=100&fm=auto"), &[("accept", accept)])
            .await;
        assert_eq!(r.image().format, expected, "Accept: {accept}");
        assert_eq!(r.header("vary"), "Accept");
    }
    // Without AVIF or WebP: PNG keeps alpha, GIF keeps animation.
    let r = s
        .get_with(&format!("{ALPHA}?w=100&fm=auto"), &[("accept", "*/*")])
        .await;
    assert_eq!(r.image().format, "png");
    let r = s
        .get_with(
            &format!("{ANIMATED_GIF}?w=100&fm=auto"),
            &[("accept", "*/*")],
        )
        .await;
    assert_eq!(r.image().format, "gif");
    assert!(frame_count(&r.body) > 1);
}

/// Mean absolute difference per channel between two same-sized images.
fn distance(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[tokio::test]
async fn exif_orientations_come_out_upright() {
    let s = Server::with_corpus();
    let upright = pixels(
        &s.get("/transform/corpus/orientation/hopper_orientation_1.jpg?fm=png")
            .await
            .body,
    );
    for n in 2..=8 {
        let r = s
            .get(&format!(
                "/transform/corpus/orientation/hopper_orientation_{n}.jpg?fm=png"
            ))
            .await;
        let d = distance(&pixels(&r.body), &upright);
        assert!(
            d < 12.0,
            "orientation {n}: distance {d} to the upright image"
        );
    }
    let r = s
        .get("/transform/corpus/orientation/hopper_orientation_6.webp?fm=png")
        .await;
    assert!(
        distance(&pixels(&r.body), &upright) < 12.0,
        "orientation 6 in WebP"
    );
    // A control: a rotated image really is far from the upright one.
    let turned = s
        .get("/transform/corpus/orientation/hopper_orientation_1.jpg?fm=png&rot=90")
        .await;
    assert!(distance(&pixels(&turned.body), &upright) > 20.0);
    // 2×1 stored, orientation says turn it: 1×2 displayed.
    let r = s
        .get("/transform/corpus/orientation/orientation_rectangle.jpg")
        .await;
    assert_eq!(dims(r.image()), (1, 2));
}

#[tokio::test]
async fn crop_counts_in_the_upright_image_of_an_exif_oriented_jpeg() {
    let s = Server::with_corpus();
    let upright = pixels(
        &s.get("/transform/corpus/orientation/hopper_orientation_1.jpg?fm=png&crop=0.5,0,0.5,0.5")
            .await
            .body,
    );
    for n in [3, 6, 8] {
        let r = s
            .get(&format!(
                "/transform/corpus/orientation/hopper_orientation_{n}.jpg?fm=png&crop=0.5,0,0.5,0.5"
            ))
            .await;
        let d = distance(&pixels(&r.body), &upright);
        assert!(d < 12.0, "orientation {n}: distance {d}");
    }
    // Shrunk on load, cut, resized: the same region as cut from the full image.
    let small = pixels(
        &s.get(
            "/transform/corpus/orientation/hopper_orientation_6.jpg?fm=png&crop=0.5,0,0.5,0.5&w=16",
        )
        .await
        .body,
    );
    let reference =
        image::imageops::resize(&upright, 16, 16, image::imageops::FilterType::Lanczos3);
    assert!(distance(&small, &reference) < 12.0);
}

/// Mean of each of R, G, B.
fn means(img: &image::RgbaImage) -> [f64; 3] {
    let mut sum = [0u64; 3];
    for p in img.pixels() {
        for (c, s) in sum.iter_mut().enumerate() {
            *s += u64::from(p.0[c]);
        }
    }
    let n = f64::from(img.width() * img.height());
    sum.map(|s| s as f64 / n)
}

fn mean_gap(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[tokio::test]
async fn colour_goes_through_the_embedded_profile_or_a_standard_cmyk_one() {
    let s = Server::with_corpus();
    let reference =
        |name: &str| pixels(&std::fs::read(common::corpus().join("reference").join(name)).unwrap());
    // CMYK without a profile: the colours of libvips' built-in CMYK profile, as lcms'
    // jpgicc computes them independently (tests/corpus/README.md says how).
    let cmyk = reference("cmyk-srgb.png");
    for options in ["fm=png", "fm=png&crop=0,0,100,100", "fm=png&trim=1"] {
        let r = s
            .get(&format!("/transform/corpus/jpeg/cmyk.jpg?{options}"))
            .await;
        let d = distance(&pixels(&r.body), &cmyk);
        assert!(
            d < 2.0,
            "{options}: distance {d} to the colour-managed reference"
        );
    }
    // A control: inverting the channels (what a decoder without colour management does)
    // is far from it.
    let naive = pixels(&std::fs::read(common::corpus().join("jpeg/cmyk.jpg")).unwrap());
    assert!(distance(&naive, &cmyk) > 10.0);

    // An Adobe RGB photo: converted to sRGB through its profile, on every path (the fast
    // JPEG path, libvips' thumbnail with meta=1, the crop path).
    let adobe = means(&reference("rocket-srgb.jpg"));
    for options in [
        "w=320&fm=png",
        "w=320&fm=png&meta=1",
        "fm=png&crop=0,0,1.0,1.0",
        "fm=png",
    ] {
        let r = s
            .get(&format!("/transform/corpus/photo/rocket.jpg?{options}"))
            .await;
        let gap = mean_gap(means(&pixels(&r.body)), adobe);
        assert!(
            gap < 1.0,
            "{options}: channel means {gap} from the reference"
        );
    }
    let unmanaged = pixels(&std::fs::read(common::corpus().join("photo/rocket.jpg")).unwrap());
    assert!(mean_gap(means(&unmanaged), adobe) > 5.0);
}

#[tokio::test]
async fn rotation_applies_after_orientation_and_before_the_box() {
    let s = Server::with_corpus();
    assert_eq!(
        dims(s.get(&format!("{LANDSCAPE}?w=300&rot=90")).await.image()),
        (300, 480)
    );
    assert_eq!(
        dims(s.get(&format!("{LANDSCAPE}?w=300&rot=180")).await.image()),
        (300, 188)
    );
    assert_eq!(
        dims(
            s.get(&format!("{LANDSCAPE}?w=200&h=100&fit=cover&rot=270"))
                .await
                .image()
        ),
        (200, 100)
    );
}

#[tokio::test]
async fn alpha_flattens_onto_bg_for_jpeg() {
    let s = Server::with_corpus();
    let source = pixels(&std::fs::read(common::corpus().join("webp/transparent.webp")).unwrap());
    // A transparent pixel with transparent neighbours, so JPEG's blocks do not blur it.
    let (x, y, _) = source
        .enumerate_pixels()
        .find(|(x, y, _)| {
            (x.saturating_sub(8)..x + 8).all(|i| {
                (y.saturating_sub(8)..y + 8)
                    .all(|j| source.get_pixel_checked(i, j).is_some_and(|p| p.0[3] == 0))
            })
        })
        .expect("the source has a transparent area");
    let r = s.get(&format!("{ALPHA}?fm=jpeg&bg=00ff00")).await;
    assert_eq!(r.image().format, "jpeg");
    let px = pixels(&r.body).get_pixel(x, y).0;
    assert!(
        px[1] > 235 && px[0] < 20 && px[2] < 20,
        "green at {x},{y}: {px:?}"
    );
    let r = s.get(&format!("{ALPHA}?fm=jpeg")).await;
    let px = pixels(&r.body).get_pixel(x, y).0;
    assert!(
        px.iter().take(3).all(|&c| c > 245),
        "white by default: {px:?}"
    );
}

#[tokio::test]
async fn animation_is_kept_and_capped() {
    let s = Server::with_corpus();
    let r = s.get(&format!("{ANIMATED_GIF}?w=100")).await;
    assert_eq!(dims(r.image()), (100, 100));
    assert_eq!(frame_count(&r.body), 42);
    let r = s.get(&format!("{ANIMATED_GIF}?w=100&fm=webp")).await;
    assert_eq!(r.image().format, "webp");
    assert_eq!(frame_count(&r.body), 42);
    let r = s
        .get("/transform/corpus/webp/iss634-animated.webp?w=50&h=50&fit=cover")
        .await;
    assert_eq!(frame_count(&r.body), 42);
    // One page, or a still format: one frame.
    let r = s.get(&format!("{ANIMATED_GIF}?w=100&page=3")).await;
    assert_eq!(frame_count(&r.body), 1);
    let r = s.get(&format!("{ANIMATED_GIF}?w=100&fm=png")).await;
    assert_eq!(r.image().format, "png");
    let r = s.get(&format!("{ANIMATED_GIF}?page=42")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("page"));

    let capped = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env("FERROTYPE_MAX_FRAMES", "10")
        .start();
    let r = capped.get(&format!("{ANIMATED_GIF}?w=100")).await;
    assert_eq!(frame_count(&r.body), 10);
}

#[tokio::test]
async fn metadata_is_stripped_unless_asked_for() {
    let s = Server::with_corpus();
    // Read by kamadak-exif, as a browser or a photo library would read it.
    let has_exif = |b: &[u8]| {
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(b))
            .is_ok_and(|e| e.fields().any(|f| f.tag == exif::Tag::Model))
    };
    let src = "/transform/corpus/photo/flower-exif-canon-s40.jpg";
    for fm in ["jpeg", "webp"] {
        let r = s.get(&format!("{src}?w=100&fm={fm}")).await;
        assert!(!has_exif(&r.body), "{fm} without meta=1 carries EXIF");
        assert_eq!(
            pixels(&r.body).dimensions(),
            (100, 75),
            "{fm} still decodes"
        );
        let r = s.get(&format!("{src}?w=100&fm={fm}&meta=1")).await;
        assert!(has_exif(&r.body), "{fm} with meta=1 lost EXIF");
    }
}

#[tokio::test]
async fn filters_keep_the_size() {
    let s = Server::with_corpus();
    for f in ["blur=2", "sharpen=1.5", "blur=0.3&sharpen=10"] {
        assert_eq!(
            dims(s.get(&format!("{SMALL}?w=200&{f}")).await.image()),
            (200, 133),
            "{f}"
        );
    }
}

#[tokio::test]
async fn caching_headers_etag_304_and_head() {
    let s = Server::with_corpus();
    let target = format!("{SMALL}?w=120&fm=webp");
    let r = s.get(&target).await;
    r.image();
    assert_eq!(
        r.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    let etag = r.header("etag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
        "strong ETag: {etag}"
    );
    let again = s.get(&target).await;
    assert_eq!(again.header("etag"), etag, "same URL, same ETag");

    let r304 = s.get_with(&target, &[("if-none-match", &etag)]).await;
    assert_eq!(r304.status, 304);
    assert!(r304.body.is_empty());
    assert_eq!(r304.header("etag"), etag);
    assert_eq!(
        r304.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    let other = s.get_with(&target, &[("if-none-match", "\"nope\"")]).await;
    assert_eq!(other.status, 200);

    let head = s
        .client
        .head(s.url(&s.signed(&target)))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "image/webp");
    assert_eq!(
        head.headers()["content-length"],
        r.body.len().to_string().as_str()
    );
    assert_eq!(head.headers()["etag"], etag.as_str());
    assert!(head.bytes().await.unwrap().is_empty());

    let custom = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env("FERROTYPE_CACHE_CONTROL", "public, max-age=600")
        .start();
    assert_eq!(
        custom.get(&target).await.header("cache-control"),
        "public, max-age=600"
    );
}

#[tokio::test]
async fn content_disposition() {
    let s = Server::with_corpus();
    let r = s.get(&format!("{SMALL}?w=50&fm=webp")).await;
    assert_eq!(
        r.header("content-disposition"),
        "inline; filename=\"rocket.webp\""
    );
    let r = s.get(&format!("{SMALL}?w=50&filename=launch&dl=1")).await;
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"launch.jpg\""
    );
    let r = s
        .get(&format!("{SMALL}?w=50&fm=png&filename=caf%C3%A9.jpg"))
        .await;
    assert_eq!(
        r.header("content-disposition"),
        "inline; filename=\"caf_.png\"; filename*=UTF-8''caf%C3%A9%2Epng"
    );
}

#[tokio::test]
async fn bad_options_are_400_naming_the_option() {
    let s = Server::with_corpus();
    for (q, name) in [
        ("w=0", "\"w\""),
        ("w=9000", "\"w\""),
        ("fit=crop", "\"fit\""),
        ("fm=bmp", "\"fm\""),
        ("q=0", "\"q\""),
        ("bg=zzz", "\"bg\""),
        ("rot=45", "\"rot\""),
        ("dpr=5", "\"dpr\""),
        ("page=-1", "\"page\""),
        ("v=", "\"v\""),
        ("Width=3", "\"Width\""),
        ("w=10&w=20", "\"w\""),
    ] {
        let r = s.get(&format!("{SMALL}?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert!(r.text().contains(name), "{q}: {}", r.text());
        assert_eq!(r.text().trim_end().lines().count(), 1);
        assert_eq!(r.header("cache-control"), "public, max-age=60");
        assert!(r.header("content-type").starts_with("text/plain"));
    }
    // The cache buster and the expiry are options like the others.
    assert_eq!(
        s.get(&format!("{SMALL}?w=50&v=2024-01_a")).await.status,
        200
    );
}

#[tokio::test]
async fn paths_that_escape_the_source_are_400() {
    let s = Server::with_corpus();
    for target in [
        "/transform/corpus/../../etc/passwd",
        "/transform/corpus/photo/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/transform/corpus/photo%2F..%2F..%2Fetc/passwd",
        "/transform/corpus/photo/rocket.jpg%00.png",
        "/transform/corpus//etc/passwd",
    ] {
        assert_eq!(s.raw_status(&s.signed(target)).await, 400, "{target}");
    }
    let r = s.get("/transform/corpus/photo/missing.jpg").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), "public, max-age=60");
    assert_eq!(s.get("/transform/nosuchsource/a.jpg").await.status, 404);
}

#[tokio::test]
async fn http_sources_and_their_failures() {
    let origin = Origin::start(common::corpus());
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", format!("web={}", origin.base()))
        .env("FERROTYPE_FETCH_TIMEOUT_MS", "1000")
        .start();
    // The origin says application/octet-stream: the format comes from the bytes.
    assert_eq!(
        dims(s.get("/transform/web/photo/rocket.jpg?w=64").await.image()),
        (64, 43)
    );
    let r = s.get("/transform/web/photo/missing.jpg").await;
    assert_eq!(r.status, 404);
    let r = s.get("/transform/web/status/500").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("cache-control"), "no-store");
    let started = std::time::Instant::now();
    let r = s.get("/transform/web/slow/3000/photo/rocket.jpg").await;
    assert_eq!(r.status, 504);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(started.elapsed() < std::time::Duration::from_millis(2000));
}

#[tokio::test]
async fn byte_and_pixel_limits() {
    let origin = Origin::start(common::corpus());
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_and_web(&origin))
        .env("FERROTYPE_MAX_SOURCE_BYTES", "50000")
        .env("FERROTYPE_MAX_SOURCE_PIXELS", "1000000")
        .start();
    for target in [
        "/transform/corpus/photo/rocket.jpg",
        "/transform/web/photo/rocket.jpg",
    ] {
        let r = s.get(target).await;
        assert_eq!(r.status, 413, "{target}");
        assert_eq!(r.header("cache-control"), "public, max-age=60");
    }
    // 1512×… under 50 kB but over a million pixels.
    let r = s.get("/transform/corpus/png/pngsuite-basn2c16.png").await;
    assert_eq!(r.status, 200);
    let r = s.get("/transform/corpus/svg/oceans.svg?w=10").await;
    assert_eq!(r.status, 422, "{}", r.text());
    // The result counts too: enlarging past the limit is refused.
    let r = s
        .get("/transform/corpus/png/pngsuite-basn2c16.png?w=4000&h=4000&fit=fill&enlarge=1")
        .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn proxy_urls_follow_the_allow_lists() {
    let origin = Origin::start(common::corpus());
    let url = |path: &str| {
        let u = format!("http://127.0.0.1:{}/{path}", origin.addr.port());
        format!(
            "/transform?url={}&w=32",
            percent_encoding::utf8_percent_encode(&u, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    let open = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.1")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8")
        .start();
    let r = open.get(&url("photo/rocket.jpg")).await;
    assert_eq!(dims(r.image()), (32, 21));
    assert_eq!(
        r.header("content-disposition"),
        "inline; filename=\"rocket.jpg\""
    );

    let before = origin.hits();
    // Allowed host, but loopback is private and not allowed: refused without connecting.
    let closed = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.1")
        .start();
    let r = closed.get(&url("photo/rocket.jpg")).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.header("cache-control"), "no-store");
    // Host not allowed, and proxying off altogether.
    let other = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "images.example.com")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8")
        .start();
    assert_eq!(other.get(&url("photo/rocket.jpg")).await.status, 403);
    let off = Server::builder().start();
    assert_eq!(off.get(&url("photo/rocket.jpg")).await.status, 403);
    assert_eq!(origin.hits(), before, "refusals make no connection");

    for bad in [
        "/transform?url=ftp%3A%2F%2F127.0.0.1%2Fa.jpg",
        "/transform?url=%2Frelative.jpg",
    ] {
        assert_eq!(open.get(bad).await.status, 400, "{bad}");
    }
}
