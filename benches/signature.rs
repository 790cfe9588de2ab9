//! Signature verification runs on every request to a signed route, before anything
//! else, so its cost is a floor under every response, including the refused ones.
//! A wrong signature is measured too: it must cost as much as a right one (full HMAC,
//! constant-time compare), or refusals would be both cheaper to send and a timing oracle.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrotype::signature::{canonical, Algorithm, Signer};

/// A proxy URL as a front end would sign it: eight options around an encoded `url=`,
/// in the order a person wrote them, so `canonical` has real sorting to do.
const TARGET: &str = "/transform?w=600&h=400&fit=cover&g=attention\
    &url=https%3A%2F%2Fcdn.example.com%2Fmedia%2F2024%2F06%2Fbeach-sunset.jpg%3Fv%3D3\
    &fm=webp&q=75&dpr=2&exp=4102444800";

/// The same URL with the last hex digit of its signature changed, so the refusal goes
/// through the whole HMAC and compare rather than failing early on malformed hex.
fn tampered(signed: &str) -> String {
    let mut wrong = signed.to_owned();
    let last = wrong.pop().expect("a signed URL ends with its signature");
    wrong.push(if last == '0' { '1' } else { '0' });
    wrong
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for (name, algorithm) in [("sha1", Algorithm::Sha1), ("sha256", Algorithm::Sha256)] {
        let signer = Signer::new(algorithm, vec![b"key".to_vec()]);
        let valid = signer.signed_url(TARGET);
        let wrong = tampered(&valid);
        assert!(signer.verify(&valid).is_ok(), "the signed URL must verify");
        assert!(signer.verify(&wrong).is_err(), "the tampered URL must not");

        group.bench_function(format!("{name}/valid"), |b| {
            b.iter(|| signer.verify(black_box(&valid)))
        });
        group.bench_function(format!("{name}/wrong"), |b| {
            b.iter(|| signer.verify(black_box(&wrong)))
        });
    }
    group.finish();
}

fn canonical_form(c: &mut Criterion) {
    // Split out so the HMAC's share of `verify` can be read off by subtraction.
    let signed = Signer::new(Algorithm::Sha1, vec![b"key".to_vec()]).signed_url(TARGET);
    c.bench_function("canonical", |b| b.iter(|| canonical(black_box(&signed))));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = verify, canonical_form
}
criterion_main!(benches);
