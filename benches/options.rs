//! Option parsing runs once per `/transform` request after the signature check and
//! before any I/O; these numbers show it stays negligible next to fetching and encoding,
//! and catch a regression if a parser change starts allocating per option.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrotype::options::imgproxy::Dialect;
use ferrotype::options::{parse_transform, Catalog};
use ferrotype::signature::{split_signature, ImgproxySigner};

/// (bench name, path, raw query): what a responsive-image front end sends most, the
/// smallest useful request, and the `?url=` proxy form, whose URL parse is the costly part.
const CASES: [(&str, &str, &str); 3] = [
    (
        "typical",
        "/transform/images/catalogue/2024/summer/beach-sunset.jpg",
        "w=600&h=400&fit=cover&g=attention&fm=webp&q=75&dpr=2",
    ),
    ("minimal", "/transform/images/cat.jpg", "w=300"),
    (
        "proxy_url",
        "/transform",
        "url=https%3A%2F%2Fcdn.example.com%2Fmedia%2F2024%2F06%2Fbeach-sunset.jpg%3Fv%3D3\
         &w=600&fm=auto",
    ),
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_transform");
    for (name, path, query) in CASES {
        parse_transform(path, query).expect("every bench URL must parse");
        group.bench_function(name, |b| {
            b.iter(|| parse_transform(black_box(path), black_box(query)))
        });
    }
    group.finish();

    // Presets are parsed at start: choosing one costs a request no more than writing
    // its options out (a copy of typed settings instead of parsing their text).
    let options = "w=600&h=400&fit=cover&g=attention&fm=webp&q=75&dpr=2";
    let mut catalog = Catalog::default();
    catalog
        .add_preset("card", options)
        .expect("bench preset parses");
    let path = "/transform/images/catalogue/2024/summer/beach-sunset.jpg";
    let mut group = c.benchmark_group("presets");
    for (name, query) in [("written_out", options), ("preset", "preset=card")] {
        group.bench_function(name, |b| {
            b.iter(|| catalog.parse_transform(black_box(path), black_box(query)))
        });
    }
    group.finish();

    // imgproxy's dialect: what `http::verify` and its handler do before any I/O — the
    // signature split off and checked, then the path parsed.
    let signer = ImgproxySigner::new(&["736563726574"], &["68656C6C6F"], 32).expect("signer");
    let dialect = Dialect::new(Vec::new(), false);
    let mut group = c.benchmark_group("imgproxy");
    for (name, path) in [
        (
            "plain",
            "/rs:fill:300:400:0/g:sm/q:75/plain/https://images.example.com/photos/2024/cat.jpg@webp",
        ),
        (
            "base64",
            "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png",
        ),
    ] {
        let full = format!("/{}{path}", signer.sign(path));
        let check = |full: &str| {
            let (signature, signed) = split_signature("", full).expect("splits");
            signer.verify(signature, signed).expect("verifies");
            dialect.parse(signed).expect("parses")
        };
        check(&full);
        group.bench_function(name, |b| b.iter(|| check(black_box(&full))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = parse
}
criterion_main!(benches);
