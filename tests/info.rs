//! `/info` against the corpus, checked with tools that are not ferrotype: `exiftool`
//! (Debian's libimage-exiftool-perl), `sha256sum`, and the `image` crate for the
//! near-duplicate copies.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;
use serde_json::Value;

/// Cut down by Pillow and truncated (no EOI): 422, like `/transform` and like
/// `hostile/truncated-40pct.jpg`, a decision of the transform issue (README, "Decisions").
const TRUNCATED: &str = "ultrahdr-pixel6.jpg";

fn photos() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::corpus().join("photo"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// `exiftool -j [args] FILES`, by file name.
fn exiftool(args: &[&str], files: &[PathBuf]) -> BTreeMap<String, Value> {
    let out = Command::new("exiftool")
        .arg("-j")
        .args(args)
        .args(files)
        .output()
        .expect("exiftool (apt-get install libimage-exiftool-perl)");
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
    all.into_iter()
        .map(|v| {
            let file = Path::new(v["SourceFile"].as_str().unwrap()).to_path_buf();
            (name(&file), v)
        })
        .collect()
}

fn sha256sum(file: &Path) -> String {
    let out = Command::new("sha256sum").arg(file).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

async fn info(s: &Server, target: &str) -> (u16, Value) {
    let r = s.get(target).await;
    let json = if r.status == 200 {
        assert_eq!(r.header("content-type"), "application/json");
        serde_json::from_slice(&r.body).expect("JSON")
    } else {
        Value::Null
    };
    (r.status, json)
}

#[tokio::test]
async fn photos_agree_with_exiftool_and_sha256sum() {
    let s = Server::with_corpus();
    let files = photos();
    let numeric = exiftool(
        &[
            "-n",
            "-ImageWidth",
            "-ImageHeight",
            "-Orientation",
            "-FileSize",
        ],
        &files,
    );
    // As exiftool prints them, composites included (the Canon S40's ISO comes from its
    // maker note).
    let printed = exiftool(
        &[
            "-Make",
            "-Model",
            "-ISO",
            "-FNumber",
            "-ExposureTime",
            "-FocalLength",
            "-DateTimeOriginal",
        ],
        &files,
    );
    let mut with_exif = 0;
    for file in &files {
        let n = name(file);
        let (status, got) = info(&s, &format!("/info/corpus/photo/{n}")).await;
        if n == TRUNCATED {
            assert_eq!(status, 422, "{n}");
            continue;
        }
        assert_eq!(status, 200, "{n}");
        let tool = &numeric[&n];
        let swapped = (5..=8).contains(&tool["Orientation"].as_u64().unwrap_or(1));
        let (w, h) = (&tool["ImageWidth"], &tool["ImageHeight"]);
        let (w, h) = if swapped { (h, w) } else { (w, h) };
        assert_eq!((&got["width"], &got["height"]), (w, h), "{n}: size");
        assert_eq!(got["byte_size"], tool["FileSize"], "{n}: bytes");
        assert_eq!(got["checksum"], sha256sum(file).as_str(), "{n}: checksum");
        let tool = &printed[&n];
        for key in [
            "Make",
            "Model",
            "ISO",
            "FNumber",
            "ExposureTime",
            "FocalLength",
            "DateTimeOriginal",
        ] {
            let ours = &got["exif"][key];
            match (&tool[key], ours) {
                (Value::Number(a), Value::Number(b)) => {
                    assert!(
                        (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9,
                        "{n}: {key} {a} vs {b}"
                    )
                }
                (a, b) => assert_eq!(a, b, "{n}: {key}"),
            }
        }
        with_exif += usize::from(tool.get("Make").is_some());
    }
    assert!(with_exif >= 10, "the corpus exercises EXIF: {with_exif}");
}

fn hamming(a: &Value, b: &Value) -> u32 {
    let parse = |v: &Value| u64::from_str_radix(v.as_str().unwrap(), 16).unwrap();
    (parse(a) ^ parse(b)).count_ones()
}

#[tokio::test]
async fn near_duplicates_are_near_and_distinct_photos_far() {
    let copies = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = photos()
        .into_iter()
        .filter(|f| name(f) != TRUNCATED)
        .collect();
    for file in &files {
        // By content: `.mpo` is a JPEG to any decoder.
        let img = image::ImageReader::open(file)
            .and_then(|r| r.with_guessed_format())
            .map_err(image::ImageError::IoError)
            .and_then(|r| r.decode())
            .unwrap_or_else(|e| panic!("{}: {e}", name(file)));
        let half = img.resize_exact(
            img.width() / 2,
            img.height() / 2,
            image::imageops::FilterType::Triangle,
        );
        let mut out =
            std::fs::File::create(copies.path().join(format!("{}.jpg", name(file)))).unwrap();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 60)
            .encode_image(&half.to_rgb8())
            .unwrap();
    }
    let s = Server::builder()
        .env(
            "FERROTYPE_SOURCES",
            format!(
                "{},copies=file://{}",
                common::corpus_source(),
                copies.path().display()
            ),
        )
        .start();
    let mut originals = Vec::new();
    for file in &files {
        let n = name(file);
        let (_, a) = info(&s, &format!("/info/corpus/photo/{n}")).await;
        let (_, b) = info(&s, &format!("/info/copies/{n}.jpg")).await;
        let d = hamming(&a["phash"], &b["phash"]);
        eprintln!("pHash distance original ↔ half-size q60 copy: {d:2}  {n}");
        assert!(d <= 6, "{n}: {d}");
        assert_eq!(a["dhash"].as_str().map(str::len), Some(16));
        assert!(a["blurhash"].as_str().is_some_and(|b| b.len() >= 6));
        let colours = a["dominant_colors"].as_array().unwrap();
        assert!((3..=5).contains(&colours.len()), "{n}: {colours:?}");
        originals.push(a["phash"].clone());
    }
    let mut total = 0;
    let mut pairs = 0;
    for i in 0..originals.len() {
        for j in i + 1..originals.len() {
            total += hamming(&originals[i], &originals[j]);
            pairs += 1;
        }
    }
    let mean = f64::from(total) / f64::from(pairs);
    eprintln!("mean pHash distance between distinct photos: {mean:.1} over {pairs} pairs");
    assert!(mean >= 20.0, "{mean}");
}

#[tokio::test]
async fn hostile_files_answer_what_transform_answers() {
    let s = Server::with_corpus();
    for n in common::hostile_files() {
        let transform = s
            .get(&format!("/transform/corpus/hostile/{n}?w=50"))
            .await
            .status;
        let (status, _) = info(&s, &format!("/info/corpus/hostile/{n}")).await;
        assert_eq!(status, transform, "{n}");
        assert!((400..500).contains(&status), "{n}: {status}");
    }
    assert!(s.healthy().await);
    // Options /info does not have are refused like any unknown option.
    assert_eq!(
        s.get("/info/corpus/photo/rocket.jpg?w=10").await.status,
        400
    );
}

#[tokio::test]
async fn a_page_is_described_by_its_og_image_under_the_same_rules() {
    let denied = common::Origin::start(common::corpus());
    let pages = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::corpus().join("photo/flower-exif-canon-s40.jpg"),
        pages.path().join("flower.jpg"),
    )
    .unwrap();
    let write = |name: &str, image: &str| {
        let html = format!(
            r#"<!doctype html><html><head><title>t</title>
<meta property="og:image" content="{image}"></head><body>hello</body></html>"#
        );
        std::fs::write(pages.path().join(name), html).unwrap();
    };
    write("relative.html", "flower.jpg?from=og&amp;x=1");
    let elsewhere = format!("{}photo/rocket.jpg", denied.base());
    write("private.html", &elsewhere);
    write("file.html", "file:///etc/passwd");
    // A page past the byte limit: only its first MiB is read, so it is no 413.
    let mut big = std::fs::read_to_string(pages.path().join("relative.html")).unwrap();
    big.push_str(&"<p>filler</p>\n".repeat(3 << 20 >> 4));
    std::fs::write(pages.path().join("big.html"), big).unwrap();
    let origin = common::Origin::start_on("127.0.0.2", pages.path().to_path_buf());
    let cache = tempfile::tempdir().unwrap();
    let server = || {
        Server::builder()
            .cache_dir(cache.path())
            .env("FERROTYPE_SOURCES", common::corpus_source())
            .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.2,127.0.0.1")
            .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.2/32")
            .env("FERROTYPE_MAX_SOURCE_BYTES", (2 << 20).to_string())
            .start()
    };
    let s = server();
    let by_url = |page: &str| {
        let page = format!("{}{page}", origin.base());
        format!(
            "/info?url={}",
            percent_encoding::utf8_percent_encode(&page, percent_encoding::NON_ALPHANUMERIC)
        )
    };

    let (status, got) = info(&s, &by_url("relative.html")).await;
    assert_eq!(status, 200, "{got}");
    let flower = common::corpus().join("photo/flower-exif-canon-s40.jpg");
    assert_eq!(got["checksum"], sha256sum(&flower).as_str());
    assert_eq!(
        (got["width"].as_u64(), got["height"].as_u64()),
        (Some(480), Some(360))
    );
    assert_eq!(got["exif"]["Model"], "Canon PowerShot S40");
    assert_eq!(
        got["final_url"],
        format!("{}flower.jpg?from=og&x=1", origin.base()).as_str()
    );

    let (status, got) = info(&s, &by_url("big.html")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["checksum"], sha256sum(&flower).as_str());

    // The page is allowed, the picture it names is on a private address that is not.
    let (status, _) = info(&s, &by_url("private.html")).await;
    assert_eq!(status, 403);
    assert_eq!(denied.hits(), 0, "the private address was never asked");
    // Nor is any scheme but http(s) followed.
    let (status, _) = info(&s, &by_url("file.html")).await;
    assert_eq!(status, 403);

    // An image by URL is described as itself.
    let (status, got) = info(&s, &by_url("flower.jpg")).await;
    assert_eq!(status, 200);
    assert_eq!(
        got["final_url"],
        format!("{}flower.jpg", origin.base()).as_str()
    );

    // Through redirects, `final_url` is where the bytes came from, and a page's relative
    // og:image is resolved against the page it redirected to.
    let redirect = |to: &str| {
        let to = format!("{}{to}", origin.base());
        format!(
            "redirect/{}",
            percent_encoding::utf8_percent_encode(&to, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    let (status, got) = info(&s, &by_url(&redirect("relative.html"))).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["checksum"], sha256sum(&flower).as_str());
    assert_eq!(
        got["final_url"],
        format!("{}flower.jpg?from=og&x=1", origin.base()).as_str()
    );
    // The same when the original is already in the cache, here from a transform, and
    // after a restart: the final URL is kept with the original on disk.
    let image = redirect("flower.jpg?via=redirect");
    let transform = by_url(&image).replace("/info?", "/transform?w=32&");
    assert_eq!(s.get(&transform).await.status, 200);
    let target = format!("{}flower.jpg?via=redirect", origin.base());
    let (status, got) = info(&s, &by_url(&image)).await;
    assert_eq!((status, got["final_url"].as_str()), (200, Some(&*target)));
    drop(s);
    let hits = origin.hits();
    let s = server();
    let (status, got) = info(&s, &by_url(&image)).await;
    assert_eq!((status, got["final_url"].as_str()), (200, Some(&*target)));
    assert_eq!(origin.hits(), hits, "described from the disk cache");
}
