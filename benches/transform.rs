//! The in-process cost of one transform (sniff, header, shrink-on-load thumbnail,
//! colour, strip, encode) on a typical 2 MP photo, without HTTP or the worker pool.
//!
//! The `libvips` benches do the same resize and encode the way a minimal rs-vips program
//! would, in the same process and run, so ferrotype's own overhead reads as a ratio
//! that does not depend on the machine. Both run under the settings of
//! `ferrotype::imaging::init` (one vips thread, no operation cache): comparing across
//! different libvips settings would measure the settings, not the pipeline.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use ferrotype::imaging::{init, Imaging, Limits};
use ferrotype::options::{parse_transform, Accepts};
use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

const PHOTO: &str = "photo/bench-small-2mp.jpg";
const WIDTH: i32 = 512;

/// The test images, in the repository.
fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
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
    let path = corpus().join(PHOTO);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let imaging = Imaging::new(
        Limits {
            max_source_pixels: 50_000_000,
            max_frames: 200,
        },
        1,
    );

    let mut group = c.benchmark_group("transform_2mp");
    // Tens of milliseconds per call: criterion's default linear sampling would need
    // ~200 calls per bench; equal-sized samples keep the run to a few seconds each.
    group.sampling_mode(SamplingMode::Flat);
    for format in ["jpeg", "webp"] {
        let query = format!("w={WIDTH}&fm={format}");
        let spec = parse_transform("/transform/x/a.jpg", &query)
            .expect("bench options parse")
            .spec;

        // A ratio only means something if both sides produce the same picture size.
        let ours = imaging
            .transform(&bytes, &spec, Accepts::default())
            .expect("ferrotype transforms the bench photo");
        let theirs = raw_libvips(&bytes, format);
        let (a, b) = (
            imagesize::blob_size(&ours.bytes).expect("ferrotype output has a size"),
            imagesize::blob_size(&theirs).expect("libvips output has a size"),
        );
        assert_eq!(
            (a.width, a.height),
            (b.width, b.height),
            "{format}: ferrotype and the baseline must produce the same dimensions"
        );

        group.bench_function(format!("ferrotype/{format}"), |b| {
            b.iter(|| {
                imaging
                    .transform(black_box(&bytes), black_box(&spec), Accepts::default())
                    .expect("transform")
            })
        });
        group.bench_function(format!("libvips/{format}"), |b| {
            b.iter(|| raw_libvips(black_box(&bytes), format))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    targets = transform
}
criterion_main!(benches);
