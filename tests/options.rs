//! The processing options of API.md §3's second table through the real server and real
//! libvips: `crop`, `trim`, `pad`, `flip`, `pixelate`, the watermarks, `max_bytes`,
//! presets, `FERROTYPE_QUALITY` and `FERROTYPE_ONLY_PRESETS`. Inputs are drawn here, so
//! every expected pixel is known.

mod common;

use std::path::Path;

use common::{pixels, Server};
use image::{Rgba, RgbaImage};

const RED: [u8; 4] = [255, 0, 0, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];
const BLUE: [u8; 4] = [0, 0, 255, 255];
const YELLOW: [u8; 4] = [255, 255, 0, 255];
const GREY: [u8; 4] = [128, 128, 128, 255];
const MAGENTA: [u8; 4] = [255, 0, 255, 255];

/// The images the tests draw, in a directory served as the source `made`.
struct Made {
    dir: tempfile::TempDir,
}

impl Made {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // 400×300 in four quadrants: red, green / blue, yellow.
        let quadrants = RgbaImage::from_fn(400, 300, |x, y| {
            Rgba(match (x < 200, y < 150) {
                (true, true) => RED,
                (false, true) => GREEN,
                (true, false) => BLUE,
                (false, false) => YELLOW,
            })
        });
        quadrants.save(dir.path().join("quadrants.png")).unwrap();
        // A 100×60 red box in a 40 px white border (180×140).
        let boxed = RgbaImage::from_fn(180, 140, |x, y| {
            let inside = (40..140).contains(&x) && (40..100).contains(&y);
            Rgba(if inside { RED } else { [255, 255, 255, 255] })
        });
        boxed.save(dir.path().join("boxed.png")).unwrap();
        RgbaImage::from_pixel(300, 200, Rgba(GREY))
            .save(dir.path().join("grey.png"))
            .unwrap();
        RgbaImage::from_pixel(30, 30, Rgba(GREY))
            .save(dir.path().join("tiny.png"))
            .unwrap();
        // A smooth gradient, so that blocks differ from their neighbours.
        RgbaImage::from_fn(200, 100, |x, y| Rgba([x as u8, (y * 2) as u8, 100, 255]))
            .save(dir.path().join("gradient.png"))
            .unwrap();
        // The watermark: 40×20 opaque magenta.
        RgbaImage::from_pixel(40, 20, Rgba(MAGENTA))
            .save(dir.path().join("mark.png"))
            .unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn server(&self, env: &[(&str, &str)]) -> Server {
        let mut b = Server::builder()
            .env(
                "FERROTYPE_SOURCES",
                format!(
                    "made=file://{},{}",
                    self.path().display(),
                    common::corpus_source()
                ),
            )
            .env(
                "FERROTYPE_WATERMARKS",
                format!("mark=file://{}/mark.png", self.path().display()),
            );
        for (k, v) in env {
            b = b.env(k, *v);
        }
        b.start()
    }
}

fn at(img: &RgbaImage, x: u32, y: u32) -> [u8; 4] {
    img.get_pixel(x, y).0
}

/// Within a few levels of `want` (the encoders and resamplers round).
fn near(got: [u8; 4], want: [u8; 4]) -> bool {
    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 6)
}

#[track_caller]
fn assert_colour(img: &RgbaImage, x: u32, y: u32, want: [u8; 4]) {
    let got = at(img, x, y);
    assert!(
        near(got, want),
        "pixel ({x},{y}) is {got:?}, expected {want:?}"
    );
}

#[tokio::test]
async fn crop_counts_in_the_oriented_rotated_flipped_image() {
    let made = Made::new();
    let s = made.server(&[]);
    let q = "/transform/made/quadrants.png";
    for (options, size, colour) in [
        ("crop=200,0,200,150", (200, 150), GREEN),
        ("crop=0.5,0.5,0.5,0.5", (200, 150), YELLOW),
        // Rotated a quarter clockwise, the blue quadrant is at the top left.
        ("rot=90&crop=0,0,100,100", (100, 100), BLUE),
        ("flip=h&crop=0,0,100,100", (100, 100), GREEN),
        ("flip=v&crop=0,0,100,100", (100, 100), BLUE),
        ("flip=hv&crop=0,0,100,100", (100, 100), YELLOW),
        // Clipped to the image.
        ("crop=300,200,500,500", (100, 100), YELLOW),
        // Then resized: the box applies to the region.
        ("crop=200,150,200,150&w=50", (50, 38), YELLOW),
        ("crop=0,0,200,150&w=400&h=300&enlarge=1", (400, 300), RED),
    ] {
        let r = s.get(&format!("{q}?{options}&fm=png")).await;
        let img = pixels(&r.body);
        assert_eq!(img.dimensions(), size, "{options}");
        for (x, y) in [(0, 0), (size.0 - 1, size.1 - 1), (size.0 / 2, size.1 / 2)] {
            let got = at(&img, x, y);
            assert!(near(got, colour), "{options}: ({x},{y}) is {got:?}");
        }
    }
    // A region outside the image leaves nothing: 400, naming the option.
    let r = s.get(&format!("{q}?crop=400,0,10,10")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("crop"), "{}", r.text());
    assert_eq!(s.get(&format!("{q}?crop=0,0,0,10")).await.status, 400);
}

#[tokio::test]
async fn flip_mirrors_after_rotation() {
    let made = Made::new();
    let s = made.server(&[]);
    for (options, top_left) in [
        ("flip=h", GREEN),
        ("flip=v", BLUE),
        ("flip=hv", YELLOW),
        ("rot=90", BLUE),
        ("rot=90&flip=h", RED),
    ] {
        let r = s
            .get(&format!("/transform/made/quadrants.png?{options}&fm=png"))
            .await;
        assert_colour(&pixels(&r.body), 5, 5, top_left);
    }
}

#[tokio::test]
async fn trim_removes_a_uniform_border_before_crop() {
    let made = Made::new();
    let s = made.server(&[]);
    let r = s.get("/transform/made/boxed.png?trim=10&fm=png").await;
    let img = pixels(&r.body);
    assert_eq!(img.dimensions(), (100, 60));
    assert_colour(&img, 0, 0, RED);
    assert_colour(&img, 99, 59, RED);
    // crop counts inside what trim kept.
    let r = s
        .get("/transform/made/boxed.png?trim=10&crop=50,0,50,60&w=25&fm=png")
        .await;
    let img = pixels(&r.body);
    assert_eq!(img.dimensions(), (25, 30));
    assert_colour(&img, 12, 15, RED);
    // An image that is all border is kept whole, never emptied.
    let r = s.get("/transform/made/grey.png?trim=5&fm=png").await;
    assert_eq!(pixels(&r.body).dimensions(), (300, 200));
}

#[tokio::test]
async fn pad_adds_css_pixels_of_bg_around_the_result() {
    let made = Made::new();
    let s = made.server(&[]);
    let q = "/transform/made/quadrants.png?w=200";
    let r = s.get(&format!("{q}&pad=10,20&bg=000000&fm=png")).await;
    let img = pixels(&r.body);
    assert_eq!(img.dimensions(), (240, 170));
    assert_colour(&img, 5, 5, [0, 0, 0, 255]);
    assert_colour(&img, 235, 165, [0, 0, 0, 255]);
    assert_colour(&img, 25, 15, RED);
    assert_colour(&img, 215, 155, YELLOW);
    // × dpr, and CSS's four-value order: top, right, bottom, left.
    let r = s.get(&format!("{q}&pad=1,2,3,4&dpr=2&fm=png")).await;
    assert_eq!(pixels(&r.body).dimensions(), (400 + 12, 300 + 8));
    // A transparent bg stays transparent where the format keeps alpha.
    let r = s.get(&format!("{q}&pad=10&bg=00000000&fm=png")).await;
    assert_eq!(at(&pixels(&r.body), 2, 2)[3], 0);
    // Past the pixel limit: refused, not made.
    let s = made.server(&[("FERROTYPE_MAX_SOURCE_PIXELS", "130000")]);
    assert_eq!(s.get(&format!("{q}&fm=png")).await.status, 200);
    assert_eq!(s.get(&format!("{q}&pad=1000&fm=png")).await.status, 422);
}

#[tokio::test]
async fn pixelate_makes_uniform_blocks() {
    let made = Made::new();
    let s = made.server(&[]);
    let r = s
        .get("/transform/made/gradient.png?pixelate=10&fm=png")
        .await;
    let img = pixels(&r.body);
    assert_eq!(img.dimensions(), (200, 100));
    for (bx, by) in [(0, 0), (5, 3), (19, 9)] {
        let first = at(&img, bx * 10, by * 10);
        for (dx, dy) in [(9, 0), (0, 9), (9, 9), (4, 5)] {
            assert_eq!(
                at(&img, bx * 10 + dx, by * 10 + dy),
                first,
                "block {bx},{by}"
            );
        }
    }
    assert_ne!(at(&img, 0, 0), at(&img, 10, 0));
    assert_ne!(at(&img, 0, 0), at(&img, 0, 10));
}

/// The pixels that differ between two images of one size.
fn changed(a: &RgbaImage, b: &RgbaImage) -> Vec<(u32, u32)> {
    assert_eq!(a.dimensions(), b.dimensions());
    a.enumerate_pixels()
        .filter(|(x, y, p)| !near(p.0, at(b, *x, *y)))
        .map(|(x, y, _)| (x, y))
        .collect()
}

#[tokio::test]
async fn an_image_watermark_changes_its_corner_and_nothing_else() {
    let made = Made::new();
    let s = made.server(&[]);
    let grey = "/transform/made/grey.png?fm=png";
    let plain = s.get(grey).await;
    let base = pixels(&plain.body);

    let marked = pixels(&s.get(&format!("{grey}&wm=mark")).await.body);
    let diff = changed(&base, &marked);
    // 40×20 at the south-east corner, 10 px from the edges.
    assert_eq!(diff.len(), 40 * 20);
    assert!(diff
        .iter()
        .all(|(x, y)| (250..290).contains(x) && (170..190).contains(y)));
    assert_colour(&marked, 260, 180, MAGENTA);

    for (pos, inside) in [("nw", (10, 10)), ("center", (150, 100)), ("n", (150, 12))] {
        let m = pixels(&s.get(&format!("{grey}&wm=mark&wm_pos={pos}")).await.body);
        assert_colour(&m, inside.0, inside.1, MAGENTA);
        assert_eq!(changed(&base, &m).len(), 800, "{pos}");
    }
    // Margin in CSS pixels, × dpr.
    let m = pixels(
        &s.get(&format!("{grey}&wm=mark&wm_pos=nw&wm_margin=0"))
            .await
            .body,
    );
    assert_colour(&m, 0, 0, MAGENTA);
    // Half opacity: halfway between the two colours.
    let m = pixels(&s.get(&format!("{grey}&wm=mark&wm_opacity=0.5")).await.body);
    assert_colour(&m, 260, 180, [192, 64, 192, 255]);
    // Opacity 0 changes nothing, to the byte.
    let m = s.get(&format!("{grey}&wm=mark&wm_opacity=0")).await;
    assert_eq!(m.body, plain.body);
    // wm_scale: a fraction of the output's width.
    let m = pixels(&s.get(&format!("{grey}&wm=mark&wm_scale=0.5")).await.body);
    assert_eq!(changed(&base, &m).len(), 150 * 75);
    // Tiled: everywhere, in many places.
    let m = pixels(&s.get(&format!("{grey}&wm=mark&wm_pos=tile")).await.body);
    let tiled = changed(&base, &m).len();
    assert!(tiled > 40 * 20 * 20, "{tiled}");
    assert_colour(&m, 0, 0, MAGENTA);
    // Larger than the output: shrunk to fit inside the margins.
    let r = s
        .get("/transform/made/tiny.png?fm=png&wm=mark&wm_margin=0")
        .await;
    let tiny = pixels(&r.body);
    assert_eq!(tiny.dimensions(), (30, 30));
    assert_colour(&tiny, 29, 29, MAGENTA);
    assert_colour(&tiny, 0, 0, GREY);
    // Animated GIFs are marked frame by frame.
    let r = s
        .get("/transform/corpus/gif/iss634-animated.gif?w=100&wm=mark")
        .await;
    assert_eq!(r.image().format, "gif");
    assert_eq!(common::frame_count(&r.body), 42);
    // An unknown watermark is the URL's mistake.
    let r = s.get(&format!("{grey}&wm=other")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("wm"));
}

/// The bounding box (x0, y0, x1, y1) of the pixels that differ.
fn bounds(diff: &[(u32, u32)]) -> (u32, u32, u32, u32) {
    diff.iter().fold((u32::MAX, u32::MAX, 0, 0), |b, &(x, y)| {
        (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y))
    })
}

#[tokio::test]
async fn text_watermarks_are_plain_text_in_any_script() {
    let made = Made::new();
    let s = made.server(&[]);
    let grey = "/transform/made/grey.png?fm=png";
    let base = pixels(&s.get(grey).await.body);
    let text = |t: &str| {
        let encoded: String = url::form_urlencoded::byte_serialize(t.as_bytes()).collect();
        format!("{grey}&wm_text={encoded}")
    };
    let hello = pixels(&s.get(&text("Hello")).await.body);
    let diff = changed(&base, &hello);
    assert!(!diff.is_empty());
    let (x0, y0, x1, y1) = bounds(&diff);
    // South-east, inside the 10 px margin; drawn in wm_color (white by default).
    assert!(
        x0 > 150 && y0 > 150 && x1 < 290 && y1 < 190,
        "{:?}",
        (x0, y0, x1, y1)
    );
    assert!(diff
        .iter()
        .any(|&(x, y)| near(at(&hello, x, y), [255, 255, 255, 255])));
    let red = pixels(
        &s.get(&format!("{}&wm_color=ff0000", text("Hello")))
            .await
            .body,
    );
    assert!(changed(&base, &red)
        .iter()
        .any(|&(x, y)| near(at(&red, x, y), RED)));

    // Markup is drawn, not interpreted: "<b>x</b>" is eight characters wide, not one.
    let one = bounds(&changed(&base, &pixels(&s.get(&text("x")).await.body)));
    let markup = bounds(&changed(
        &base,
        &pixels(&s.get(&text("<b>x</b>")).await.body),
    ));
    assert!(
        markup.2 - markup.0 > 4 * (one.2 - one.0),
        "{one:?} {markup:?}"
    );

    // 200 characters of scripts, emoji, markup and entities: an image, never an error.
    let mixed: String = "مرحبا 你好 שלום 😀👍🏽 <&amp;> \u{200f}ök "
        .chars()
        .cycle()
        .take(200)
        .collect();
    for t in [
        mixed.as_str(),
        "<span foreground='red'>",
        "&",
        "   ",
        "a\u{0}b\u{7}c",
    ] {
        let r = s.get(&text(t)).await;
        assert_eq!(r.image().width, 300, "{t:?}");
    }
    // wm_scale sets the text's width.
    let wide = bounds(&changed(
        &base,
        &pixels(&s.get(&format!("{}&wm_scale=0.8", text("Hello"))).await.body),
    ));
    assert!(wide.2 - wide.0 > 200, "{wide:?}");
    // 201 characters: too long.
    let r = s.get(&text(&"a".repeat(201))).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn max_bytes_lowers_the_quality_until_the_body_fits() {
    let made = Made::new();
    let s = made.server(&[]);
    let photo = "/transform/corpus/photo/fallenleaf-canon70d.jpg?w=800";
    let full = s.get(&format!("{photo}&q=95")).await.body.len();
    let limit = full / 3;
    let r = s.get(&format!("{photo}&q=95&max_bytes={limit}")).await;
    assert_eq!(r.image().width, 800);
    assert!(r.body.len() <= limit, "{} > {limit}", r.body.len());
    for fm in ["webp", "avif"] {
        let full = s.get(&format!("{photo}&fm={fm}&q=95")).await.body.len();
        let r = s
            .get(&format!("{photo}&fm={fm}&q=95&max_bytes={}", full / 2))
            .await;
        assert_eq!(r.image().format, fm);
        assert!(
            r.body.len() <= full / 2,
            "{fm}: {} > {}",
            r.body.len(),
            full / 2
        );
    }
    // Out of reach: the smallest body made (quality 10), not an error.
    let floor = s.get(&format!("{photo}&q=10")).await.body.len();
    let r = s.get(&format!("{photo}&max_bytes=1024")).await;
    assert_eq!(r.image().width, 800);
    assert!(r.body.len() <= floor, "{} > {floor}", r.body.len());
    // Lossless formats ignore it.
    let png = s.get("/transform/made/grey.png?fm=png").await.body;
    assert_eq!(
        s.get("/transform/made/grey.png?fm=png&max_bytes=1024")
            .await
            .body,
        png
    );
}

#[tokio::test]
async fn presets_answer_what_their_options_written_out_answer() {
    let made = Made::new();
    let s = made.server(&[
        (
            "FERROTYPE_PRESETS",
            "thumb=w=100&h=100&fit=cover&fm=png;marked=wm=mark&wm_pos=nw;default=pad=2",
        ),
        ("FERROTYPE_QUALITY", "jpeg=30"),
    ]);
    let q = "/transform/made/quadrants.png";
    let preset = s.get(&format!("{q}?preset=thumb,marked")).await;
    let written = s
        .get(&format!(
            "{q}?w=100&h=100&fit=cover&fm=png&wm=mark&wm_pos=nw&pad=2"
        ))
        .await;
    assert_eq!(preset.image().width, 104);
    assert_eq!(preset.body, written.body);
    // The URL's own options override the presets'.
    assert_eq!(
        s.get(&format!("{q}?preset=thumb&w=50")).await.image().width,
        54
    );
    let r = s.get(&format!("{q}?preset=nope")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("preset"));
    // FERROTYPE_QUALITY sets the default quality; q still wins.
    let photo = "/transform/corpus/photo/rocket.jpg";
    let default = s.get(photo).await.body;
    assert_eq!(default, s.get(&format!("{photo}?q=30")).await.body);
    assert_ne!(default, s.get(&format!("{photo}?q=80")).await.body);
}

#[tokio::test]
async fn only_presets_refuses_every_other_option() {
    let made = Made::new();
    let s = made.server(&[
        ("FERROTYPE_PRESETS", "thumb=w=100&fm=png"),
        ("FERROTYPE_ONLY_PRESETS", "true"),
    ]);
    let q = "/transform/made/quadrants.png";
    let r = s
        .get(&format!("{q}?preset=thumb&v=2&dl=1&filename=a"))
        .await;
    assert_eq!(r.image().width, 100);
    let r = s.get(&format!("{q}?preset=thumb&w=300")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("\"w\""), "{}", r.text());
}

#[test]
fn bad_presets_and_watermarks_stop_the_start_with_a_clear_line() {
    let made = Made::new();
    let missing = format!("mark=file://{}/none.png", made.path().display());
    let html = made.path().join("page.png");
    std::fs::write(&html, "<html>not an image</html>").unwrap();
    let undecodable = format!("mark=file://{}", html.display());
    for (name, value, expect) in [
        (
            "FERROTYPE_PRESETS",
            "thumb=w=0",
            "FERROTYPE_PRESETS: preset \"thumb\"",
        ),
        ("FERROTYPE_PRESETS", "thumb=wm=nothing", "unknown watermark"),
        ("FERROTYPE_QUALITY", "jpeg=0", "FERROTYPE_QUALITY"),
        ("FERROTYPE_QUALITY", "png=50", "FERROTYPE_QUALITY"),
        ("FERROTYPE_ONLY_PRESETS", "yes", "FERROTYPE_ONLY_PRESETS"),
        ("FERROTYPE_WATERMARKS", missing.as_str(), "none.png"),
        ("FERROTYPE_WATERMARKS", undecodable.as_str(), "page.png"),
        (
            "FERROTYPE_WATERMARKS",
            "mark=/relative.png",
            "FERROTYPE_WATERMARKS",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrotype"))
            .arg("serve")
            .env_clear()
            .env("FERROTYPE_BIND", "127.0.0.1:0")
            .env("FERROTYPE_KEYS", "k")
            .env("FERROTYPE_CACHE_DIR", made.path().join("cache"))
            .env(name, value)
            .output()
            .expect("run ferrotype");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}={value} started");
        assert!(err.contains(expect), "{name}={value}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
