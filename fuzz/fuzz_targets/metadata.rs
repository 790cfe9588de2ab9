//! The parsers `/info` runs on bytes from anywhere: a page's `<meta>` tags, an ICC
//! profile's description, EXIF. Beyond "no panic": a found og:image is absolute, and one
//! with an http(s) scheme names a host. Other schemes are for the network policy to refuse
//! (403), as it does for `?url=`.
#![no_main]

use ferrotype::info::{exif, icc, og};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let page = url::Url::parse("https://example.com/a/b.html").unwrap();
    if let Some(found) = og::image_url(data, &page) {
        assert!(
            !matches!(found.scheme(), "http" | "https") || found.has_host(),
            "{found}"
        );
    }
    let _ = icc::description(data);
    let _ = exif::read(data);
});
