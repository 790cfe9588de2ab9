//! The in-process cost of one transform (sniff, header, decode and shrink, colour, strip,
//! encode) for each cell of the peer benchmark: a 2.5 MP and a 24 MP JPEG photo made
//! 300 px wide, as JPEG and as WebP, q80 — without HTTP or the worker pool.
//!
//! Three paths per cell, in the same process and run, so that each reads as a ratio that
//! does not depend on the machine: `ferrotype` (what the server runs, with the TurboJPEG
//! fast path), `ferrotype-accurate` (the same pipeline with libvips' own JPEG loader) and
//! `libvips` (the resize and encode a minimal rs-vips program would do). All run under the
//! settings of `ferrotype::imaging::init` (one vips thread, no operation cache): comparing
//! across different libvips settings would measure the settings, not the pipeline.
//!
//! The 24 MP input is made from the 2.5 MP one (enlarged, written at q90), so the benches
//! need nothing outside the repository.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use ferrotype::imaging::{init, Imaging, Limits};
use ferrotype::options::{parse_transform, Accepts};
use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

const PHOTO: &str = "photo/bench-small-2mp.jpg";
const WIDTH: i32 = 300;

fn small() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(PHOTO);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 6528 × 4352 (28 MP), like the peer benchmark's 24 MP photo in cost.
fn big(small: &[u8]) -> Vec<u8> {
    VipsImage::new_from_buffer(small, "")
        .and_then(|i| i.resize(3.4))
        .and_then(|i| i.jpegsave_buffer_with_opts(VOption::new().set("Q", 90)))
        .expect("libvips enlarges the bench photo")
}

fn raw_libvips(bytes: &[u8], format: &str) -> Vec<u8> {
    let img = VipsImage::thumbnail_buffer(bytes, WIDTH).expect("libvips thumbnail");
    let opts = VOption::new().set("Q", 80);
    match format {
        "jpeg" => img.jpegsave_buffer_with_opts(opts),
        "webp" => img.webpsave_buffer_with_opts(opts),
        other => unreachable!("no baseline for {other}"),
    }
    .expect("libvips encode")
}

fn transform(c: &mut Criterion) {
    init().expect("libvips starts");
    let limits = Limits {
        max_source_pixels: 50_000_000,
        max_frames: 200,
    };
    let fast = Imaging::new(limits, 1);
    let accurate = Imaging::new(limits, 1).accurate();
    let small = small();
    let big = big(&small);

    for (name, bytes) in [("small", &small), ("big", &big)] {
        let mut group = c.benchmark_group(format!("transform_{name}"));
        // Tens of milliseconds per call: criterion's default linear sampling would need
        // ~200 calls per bench; equal-sized samples keep the run to a few seconds each.
        group.sampling_mode(SamplingMode::Flat);
        for format in ["jpeg", "webp"] {
            let query = format!("w={WIDTH}&fm={format}&q=80");
            let spec = parse_transform("/transform/x/a.jpg", &query)
                .expect("bench options parse")
                .spec;

            // A ratio only means something if every path produces the same picture size.
            let size = |out: &[u8]| {
                let s = imagesize::blob_size(out).expect("an output size");
                (s.width, s.height)
            };
            let ours = fast.transform(bytes, &spec, Accepts::default());
            let exact = accurate.transform(bytes, &spec, Accepts::default());
            let theirs = raw_libvips(bytes, format);
            let ours = size(&ours.expect("fast path").bytes);
            assert_eq!(ours, size(&exact.expect("accurate path").bytes), "{format}");
            assert_eq!(ours, size(&theirs), "{format}");

            for (path, imaging) in [("ferrotype", &fast), ("ferrotype-accurate", &accurate)] {
                group.bench_function(format!("{path}/{format}"), |b| {
                    b.iter(|| {
                        imaging
                            .transform(black_box(bytes), black_box(&spec), Accepts::default())
                            .expect("transform")
                    })
                });
            }
            group.bench_function(format!("libvips/{format}"), |b| {
                b.iter(|| raw_libvips(black_box(bytes), format))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = transform
}
criterion_main!(benches);
