//! Face detection's cost (API.md §10): the model alone at the default detection size and
//! smaller ones (single-threaded, so its wall time is its CPU time), and what faces add to
//! a transform once an original's faces are known (the second size of the same photo).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrotype::faces::Model;
use ferrotype::imaging::{init, Imaging, Limits, DETECTION_SIZE};
use ferrotype::options::{parse_transform, Accepts};
use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The photo as the detector's input: `w × h` interleaved RGB.
fn input(bytes: &[u8], (w, h): (u32, u32)) -> Vec<u8> {
    VipsImage::thumbnail_buffer_with_opts(
        bytes,
        w as i32,
        VOption::new().set("height", h as i32).set("size", "force"),
    )
    .map(|i| i.write_to_memory())
    .expect("libvips makes the input")
}

fn faces(c: &mut Criterion) {
    init().expect("libvips starts");
    let photo = corpus("photo/bench-small-2mp.jpg");
    let model = Model::default();
    let mut group = c.benchmark_group("detect");
    group
        .measurement_time(Duration::from_secs(10))
        .sample_size(20);
    // 3:2 photos: the default size (640 × 427 → 640 × 448), then smaller copies.
    for (w, h) in [(DETECTION_SIZE, 448), (512, 352), (416, 288), (320, 224)] {
        let rgb = input(&photo, (w, h));
        model.detect(&rgb, (w, h)).expect("a plan for the size");
        group.bench_function(format!("{w}x{h}"), |b| {
            b.iter(|| model.detect(black_box(&rgb), (w, h)).expect("detects"))
        });
    }
    group.finish();

    let limits = Limits {
        max_source_pixels: 50_000_000,
        max_frames: 200,
    };
    let imaging = Imaging::new(limits, 1);
    // A 2.6 MP portrait: the astronaut enlarged to 1600 × 1600, written at q90.
    let portrait = VipsImage::new_from_buffer(&corpus("photo/astronaut.png"), "")
        .and_then(|i| i.resize(1600.0 / 512.0))
        .and_then(|i| i.jpegsave_buffer_with_opts(VOption::new().set("Q", 90)))
        .expect("libvips enlarges the portrait");
    let mut group = c.benchmark_group("transform 2.6 MP portrait, faces known");
    group.measurement_time(Duration::from_secs(10));
    for query in [
        "w=300&h=200&fit=cover",
        "w=300&h=200&fit=cover&g=face",
        "w=300",
        "w=300&faces=blur",
    ] {
        let spec = parse_transform("/transform/a/b.jpg", query)
            .expect("the bench's options parse")
            .spec;
        // The faces of the original are found once, here.
        imaging
            .transform(&portrait, &spec, Accepts::default())
            .expect("transforms");
        group.bench_function(query, |b| {
            b.iter(|| {
                imaging
                    .transform(black_box(&portrait), &spec, Accepts::default())
                    .expect("transforms")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, faces);
criterion_main!(benches);
