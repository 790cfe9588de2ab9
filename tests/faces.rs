//! Faces (API.md §10) through the real server: `/info`'s boxes against boxes labelled by
//! hand, `g=face` crops, `faces=blur|pixelate`, and images the detector must survive.
//! Photos: the corpus's public-domain Grace Hopper and NASA astronaut; composites are drawn
//! here from them, so every face's place is known.

mod common;

use common::{edge_energy, Server, ASTRONAUT_FACE};
use image::{GenericImageView, Rgba, RgbaImage};
use serde_json::Value;

/// Grace Hopper's face labelled by hand (hairline to chin, cheek to cheek), displayed pixels.
const HOPPER_FACE: Rect = (38.0, 30.0, 50.0, 48.0);

type Rect = (f64, f64, f64, f64);

fn iou(a: Rect, b: Rect) -> f64 {
    let w = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
    let h = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
    if w <= 0.0 || h <= 0.0 {
        return 0.0;
    }
    w * h / (a.2 * a.3 + b.2 * b.3 - w * h)
}

fn boxes(info: &Value) -> Vec<(Rect, f64)> {
    info["faces"]
        .as_array()
        .unwrap_or_else(|| panic!("no faces array in {info}"))
        .iter()
        .map(|f| {
            let n = |k: &str| f[k].as_f64().unwrap_or_else(|| panic!("{k} in {f}"));
            ((n("x"), n("y"), n("w"), n("h")), n("score"))
        })
        .collect()
}

async fn info(s: &Server, target: &str) -> Value {
    let r = s.get(target).await;
    assert_eq!(r.status, 200, "{target}: {}", r.text());
    serde_json::from_str(&r.text()).expect("JSON")
}

fn corpus_image(name: &str) -> RgbaImage {
    common::pixels(&std::fs::read(common::corpus().join(name)).unwrap())
}

/// A server reading the corpus and `dir` (as `made`).
fn server(dir: &std::path::Path) -> Server {
    Server::builder()
        .env(
            "FERROTYPE_SOURCES",
            format!("{},made=file://{}", common::corpus_source(), dir.display()),
        )
        .start()
}

fn save(dir: &std::path::Path, name: &str, img: &RgbaImage) {
    img.save(dir.join(name)).expect("the test writes its image");
}

#[tokio::test]
async fn info_lists_the_faces_in_displayed_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let astronaut = info(&s, "/info/corpus/photo/astronaut.png").await;
    let found = boxes(&astronaut);
    assert_eq!(found.len(), 1, "{astronaut}");
    assert!(iou(found[0].0, ASTRONAUT_FACE) >= 0.5, "{found:?}");
    assert!(found[0].1 > 0.5 && found[0].1 <= 1.0);

    // Every EXIF orientation displays the same upright portrait: the same box.
    for n in 1..=8 {
        let target = format!("/info/corpus/orientation/hopper_orientation_{n}.jpg");
        let found = boxes(&info(&s, &target).await);
        assert_eq!(found.len(), 1, "{target}");
        assert!(iou(found[0].0, HOPPER_FACE) >= 0.5, "{target}: {found:?}");
    }

    // No face: an empty list, not an error.
    for target in [
        "/info/corpus/photo/rocket.jpg",
        "/info/corpus/photo/elephants-rx100-1280.jpg",
    ] {
        assert_eq!(
            info(&s, target).await["faces"],
            Value::Array(vec![]),
            "{target}"
        );
    }

    // A face turned on its side by the file (a portrait rotated 90° and tagged 6 would be
    // upright again): here rotated without a tag, so its box is where it is displayed.
    let turned = image::imageops::rotate90(&corpus_image("photo/astronaut.png"));
    save(dir.path(), "turned.png", &turned);
    let found = boxes(&info(&s, "/info/made/turned.png").await);
    // Rotated clockwise: x' = H - (y + h), y' = x.
    let (x, y, w, h) = ASTRONAUT_FACE;
    let expected = (512.0 - (y + h), x, h, w);
    assert!(
        found.iter().any(|(b, _)| iou(*b, expected) >= 0.5),
        "{found:?} vs {expected:?}"
    );
}

/// The share of `img`'s pixels that differ from `grey` by more than 40 in some channel.
fn not_grey(img: &RgbaImage, grey: u8) -> f64 {
    let off = img
        .pixels()
        .filter(|p| p.0[..3].iter().any(|&c| c.abs_diff(grey) > 40))
        .count();
    off as f64 / f64::from(img.width() * img.height())
}

#[tokio::test]
async fn g_face_keeps_a_face_at_the_edge_in_frame() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    // A wide flat-grey canvas with the astronaut's head at its left edge.
    let head = corpus_image("photo/astronaut.png")
        .view(150, 30, 150, 200)
        .to_image();
    let mut wide = RgbaImage::from_pixel(1600, 300, Rgba([128, 128, 128, 255]));
    image::imageops::overlay(&mut wide, &head, 10, 50);
    save(dir.path(), "wide.png", &wide);

    let get = |g: &'static str| {
        let s = &s;
        async move {
            let r = s
                .get(&format!(
                    "/transform/made/wide.png?w=300&h=300&fit=cover&fm=png&g={g}"
                ))
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            common::pixels(&r.body)
        }
    };
    let centre = get("center").await;
    let face = get("face").await;
    assert_eq!(face.dimensions(), (300, 300));
    assert!(not_grey(&centre, 128) < 0.01, "the centre crop is grey");
    assert!(not_grey(&face, 128) > 0.2, "the face crop holds the head");
    // The face itself, not only some of the head: the crop's own /info finds it.
    save(dir.path(), "face-crop.png", &face);
    assert_eq!(boxes(&info(&s, "/info/made/face-crop.png").await).len(), 1);

    // No face at all: the attention crop, as `g=attention` answers.
    let flat = RgbaImage::from_fn(800, 200, |x, _| Rgba([(x % 256) as u8, 90, 40, 255]));
    save(dir.path(), "noface.png", &flat);
    let a = s
        .get("/transform/made/noface.png?w=200&h=200&fit=cover&fm=png&g=face")
        .await;
    let b = s
        .get("/transform/made/noface.png?w=200&h=200&fit=cover&fm=png&g=attention")
        .await;
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.body, b.body);
}

#[tokio::test]
async fn faces_are_hidden_and_nothing_else_changes() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let face = boxes(&info(&s, "/info/corpus/photo/astronaut.png").await)[0].0;
    let plain = common::pixels(
        &s.get("/transform/corpus/photo/astronaut.png?fm=png")
            .await
            .body,
    );
    for how in ["blur", "pixelate"] {
        let r = s
            .get(&format!(
                "/transform/corpus/photo/astronaut.png?fm=png&faces={how}"
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let hidden = common::pixels(&r.body);
        let (before, after) = (edge_energy(&plain, face), edge_energy(&hidden, face));
        assert!(
            after <= 0.2 * before,
            "{how}: {after:.0} of {before:.0} edge energy left"
        );
        // Far from the face (past the margin), every pixel as it was.
        let (x, y, w, h) = face;
        let far = |px: u32, py: u32| {
            let (px, py) = (f64::from(px), f64::from(py));
            px < x - 0.3 * w || px > x + 1.3 * w || py < y - 0.3 * h || py > y + 1.3 * h
        };
        let changed = plain
            .enumerate_pixels()
            .filter(|(px, py, p)| far(*px, *py) && hidden.get_pixel(*px, *py) != *p)
            .count();
        assert_eq!(changed, 0, "{how}: pixels far from the face changed");
    }

    // After a resize, a rotation and a crop, the face is hidden where it ends up: the
    // result has no face left to find.
    for options in [
        "w=200&faces=blur",
        "w=150&h=150&fit=cover&g=face&faces=pixelate",
        "rot=90&flip=h&faces=blur",
        "crop=0.25,0,0.5,0.5&faces=blur",
    ] {
        let r = s
            .get(&format!(
                "/transform/corpus/photo/astronaut.png?fm=png&{options}"
            ))
            .await;
        assert_eq!(r.status, 200, "{options}: {}", r.text());
        let name = format!("hidden-{}.png", options.replace(['&', '=', ',', '.'], "_"));
        std::fs::write(dir.path().join(&name), &r.body).unwrap();
        let left = boxes(&info(&s, &format!("/info/made/{name}")).await);
        assert!(
            left.is_empty(),
            "{options}: a face is still found: {left:?}"
        );
        // Without `faces`, the same image shows it.
        let shown = s
            .get(&format!(
                "/transform/corpus/photo/astronaut.png?fm=png&{}",
                options
                    .replace("&faces=blur", "")
                    .replace("&faces=pixelate", "")
            ))
            .await;
        let name = format!("shown-{name}");
        std::fs::write(dir.path().join(&name), &shown.body).unwrap();
        assert_eq!(
            boxes(&info(&s, &format!("/info/made/{name}")).await).len(),
            1,
            "{options}: the face should be visible without `faces`"
        );
    }
}

#[tokio::test]
async fn an_original_is_looked_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    for target in [
        "/transform/corpus/photo/astronaut.png?w=100&faces=blur",
        "/transform/corpus/photo/astronaut.png?w=120&h=60&fit=cover&g=face",
        "/info/corpus/photo/astronaut.png",
        "/transform/corpus/photo/astronaut.png?w=90&faces=pixelate&fm=webp",
    ] {
        assert_eq!(s.get(target).await.status, 200, "{target}");
    }
    assert_eq!(
        s.metric("ferrotype_stage_seconds_count{stage=\"faces\"}")
            .await,
        1.0
    );
    // The same bytes under another name are the same original.
    std::fs::copy(
        common::corpus().join("photo/astronaut.png"),
        dir.path().join("copy.png"),
    )
    .unwrap();
    assert_eq!(s.get("/info/made/copy.png").await.status, 200);
    assert_eq!(
        s.metric("ferrotype_stage_seconds_count{stage=\"faces\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn hard_images_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let head = image::imageops::resize(
        &corpus_image("photo/astronaut.png")
            .view(160, 40, 130, 160)
            .to_image(),
        48,
        60,
        image::imageops::FilterType::Triangle,
    );
    // A hundred faces.
    let mut crowd = RgbaImage::from_pixel(480, 600, Rgba([200, 200, 200, 255]));
    for i in 0..100 {
        image::imageops::overlay(&mut crowd, &head, (i % 10) * 48, (i / 10) * 60);
    }
    save(dir.path(), "crowd.png", &crowd);
    // Smaller than the network's cell, and extreme shapes.
    save(
        dir.path(),
        "tiny.png",
        &RgbaImage::from_pixel(3, 2, Rgba([9, 9, 9, 255])),
    );
    save(
        dir.path(),
        "line.png",
        &RgbaImage::from_pixel(4000, 3, Rgba([9, 99, 9, 255])),
    );
    save(
        dir.path(),
        "column.png",
        &RgbaImage::from_pixel(2, 3000, Rgba([99, 9, 9, 255])),
    );
    // Transparent around a face.
    let mut clear = RgbaImage::new(200, 200);
    image::imageops::overlay(&mut clear, &head, 70, 60);
    save(dir.path(), "clear.png", &clear);
    // Grey: one channel, and the face is still found.
    image::DynamicImage::ImageRgba8(corpus_image("photo/astronaut.png"))
        .to_luma8()
        .save(dir.path().join("grey.png"))
        .unwrap();
    let found = boxes(&info(&s, "/info/made/grey.png").await);
    assert!(iou(found[0].0, ASTRONAUT_FACE) >= 0.5, "{found:?}");

    let found = boxes(&info(&s, "/info/made/crowd.png").await);
    assert!(
        found.len() >= 50 && found.len() <= 100,
        "{} faces",
        found.len()
    );
    for source in [
        "made/crowd.png",
        "made/tiny.png",
        "made/line.png",
        "made/column.png",
        "made/clear.png",
        "made/grey.png",
        "corpus/gif/iss634-animated.gif",
        "corpus/webp/iss634-animated.webp",
        "corpus/jpeg/cmyk.jpg",
        "corpus/tiff/hopper_bigtiff.tif",
        "corpus/png/pngsuite-basn2c16.png",
        "corpus/svg/oceans.svg",
        "corpus/heic/hopper.heif",
    ] {
        for options in ["?faces=blur", "?w=50&h=50&fit=cover&g=face&faces=pixelate"] {
            let target = format!("/transform/{source}{options}");
            let r = s.get(&target).await;
            assert_eq!(r.status, 200, "{target}: {}", r.text());
        }
        assert_eq!(
            s.get(&format!("/info/{source}")).await.status,
            200,
            "{source}"
        );
    }
    // An animation's first frame decides; every frame is hidden alike and kept.
    let r = s
        .get("/transform/corpus/gif/iss634-animated.gif?w=100&faces=blur")
        .await;
    assert!(common::frame_count(&r.body) > 1);
    assert!(s.healthy().await);
}
