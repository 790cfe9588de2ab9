//! What each processing step after the resize costs on the everyday request (the 2.5 MP
//! photo made 300 px wide, JPEG q80), as a ratio to the same transform without it:
//! `wm` (an image watermark), `wm_text` (drawn lately, and `wm_text_new`, never drawn
//! before), `pad`, `pixelate`, and `max_bytes` (whose
//! retries encode the finished 300 px image again, never the original). All in one
//! process and run, so the ratios do not depend on the machine.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use ferrotype::imaging::{init, Imaging, Limits, Watermarks};
use ferrotype::options::{Accepts, Catalog, Qualities};

fn photo() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/photo/bench-small-2mp.jpg");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn steps(c: &mut Criterion) {
    init().expect("libvips starts");
    // The watermark: the repository's RGBA logo, as an operator would configure it.
    let logo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/logo.png");
    let marks =
        Watermarks::load(&[("logo".to_owned(), logo)], "sans bold").expect("watermark loads");
    let imaging = Imaging::new(
        Limits {
            max_source_pixels: 50_000_000,
            max_frames: 200,
        },
        1,
    )
    .with(Qualities::default(), marks);
    let catalog = Catalog::new(["logo".to_owned()], false);
    let bytes = photo();
    let base = "w=300&fm=jpeg&q=80";
    let plain_size = imaging
        .transform(&bytes, &parse(&catalog, base), Accepts::default())
        .expect("transform")
        .bytes
        .len();

    let mut group = c.benchmark_group("steps");
    group.sampling_mode(SamplingMode::Flat);
    let cases = [
        ("none", String::new()),
        ("wm", "&wm=logo&wm_scale=0.3".to_owned()),
        ("wm_text", "&wm_text=%C2%A9+ferrotype+2026".to_owned()),
        ("pad", "&pad=10".to_owned()),
        ("pixelate", "&pixelate=8".to_owned()),
        // A third of the q80 size: two or three more encodes of the 300 px image.
        (
            "max_bytes",
            format!("&max_bytes={}", (plain_size / 3).max(1024)),
        ),
    ];
    // A text never drawn before (the cache of drawn texts misses every time).
    let mut n = 0u64;
    group.bench_function("wm_text_new", |b| {
        b.iter(|| {
            n += 1;
            let spec = parse(&catalog, &format!("{base}&wm_text=%C2%A9+ferrotype+{n}"));
            imaging
                .transform(black_box(&bytes), black_box(&spec), Accepts::default())
                .expect("transform")
        })
    });
    for (name, extra) in cases {
        let spec = parse(&catalog, &format!("{base}{extra}"));
        group.bench_function(name, |b| {
            b.iter(|| {
                imaging
                    .transform(black_box(&bytes), black_box(&spec), Accepts::default())
                    .expect("transform")
            })
        });
    }
    group.finish();
}

fn parse(catalog: &Catalog, query: &str) -> ferrotype::options::TransformSpec {
    catalog
        .parse_transform("/transform/x/a.jpg", query)
        .expect("bench options parse")
        .spec
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = steps
}
criterion_main!(benches);
