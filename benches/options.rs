//! Option parsing runs once per `/transform` request after the signature check and
//! before any I/O; these numbers show it stays negligible next to fetching and encoding,
//! and catch a regression if a parser change starts allocating per option.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrotype::options::parse_transform;

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
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = parse
}
criterion_main!(benches);
