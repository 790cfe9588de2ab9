//! The request target's whole path through the parsers: canonical form, signing and
//! verifying, option parsing (transform, screenshot, info). Properties checked beyond "no panic":
//! - the canonical form is a fixed point;
//! - a URL signed by `Signer::signed_url` always verifies, and has the same canonical form;
//! - a parsed spec's pixel box, and a screenshot's size, stay within the documented limits.
#![no_main]

use ferrotype::options::{parse_info, parse_screenshot, parse_transform};
use ferrotype::signature::{canonical, Algorithm, Signer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let canon = canonical(target);
    assert_eq!(canonical(&canon), canon);

    let signer = Signer::new(Algorithm::Sha1, vec![b"fuzz".to_vec()]);
    let signed = signer.signed_url(target);
    assert!(signer.verify(&signed).is_ok(), "{signed:?} does not verify");
    assert_eq!(canonical(&signed), canon);

    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Ok(request) = parse_transform(path, query) {
        let (w, h) = request.spec.pixel_box();
        for side in [w, h].into_iter().flatten() {
            assert!((1..=8192 * 4).contains(&side), "{side}");
        }
        let _ = request.source.file_name();
    }
    let _ = parse_info(path, query);
    if let Ok(shot) = parse_screenshot(query) {
        assert!((16..=3840).contains(&shot.width) && (16..=2160).contains(&shot.height));
    }
});
