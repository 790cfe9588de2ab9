//! imgproxy's URL dialect through its parser and its signature. Properties checked beyond
//! "no panic":
//! - any path signed by `ImgproxySigner::sign` verifies, and the signature segment splits
//!   off again to give the same path (what `http::verify` does);
//! - a parsed spec's pixel box stays within the documented limits (8192 × dpr 8).
#![no_main]

use ferrotype::options::imgproxy::Dialect;
use ferrotype::options::Format;
use ferrotype::signature::{split_signature, ImgproxySigner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let signer = ImgproxySigner::new(&["736563726574"], &["68656C6C6F"], 32).expect("signer");
    let signature = signer.sign(path);
    assert!(signer.verify(&signature, path).is_ok(), "{path:?}");
    if path.starts_with('/') {
        let full = format!("/img/{signature}{path}");
        let (s, p) = split_signature("/img", &full).expect("splits");
        assert_eq!((s, p), (signature.as_str(), path));
    }

    let mut dialect = Dialect::new(vec![Format::Avif, Format::Webp], true);
    dialect
        .add_preset("thumb", "rs:fill:200:200/q:70")
        .expect("preset");
    if let Ok(parsed) = dialect.parse(path) {
        let (w, h) = parsed.request.spec.pixel_box();
        for side in [w, h].into_iter().flatten() {
            assert!((1..=8192 * 8).contains(&side), "{side}");
        }
        let _ = parsed.request.source.file_name();
    }
    let _ = Dialect::expiry(path);
});
