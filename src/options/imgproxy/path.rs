//! An imgproxy path split into its parts: option segments, then the source — `plain/`
//! and a percent-encoded URL with `@extension`, or base64url (split by `/` anywhere) with
//! `.extension`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use percent_encoding::percent_decode_str;

use crate::options::{invalid, Error};

/// The parts of a path after the signature.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Parts<'a> {
    /// `name:arg:…` segments, in order.
    pub options: Vec<&'a str>,
    /// The source URL, decoded.
    pub source: String,
    /// The extension that follows it, if any.
    pub extension: Option<String>,
}

/// Splits `path` (everything after the signature segment, from its `/`).
pub(super) fn split(path: &str) -> Result<Parts<'_>, Error> {
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| Error::Path("expected /{signature}/{options}/{source}".into()))?;
    let segments: Vec<&str> = rest.split('/').collect();
    // Options have a colon; a base64url source never has one, and `plain` starts the other.
    let first_source = segments
        .iter()
        .position(|s| *s == "plain" || !s.contains(':'))
        .ok_or_else(|| Error::Path("no source URL after the options".into()))?;
    let options = segments[..first_source].to_vec();
    let tail = &segments[first_source..];
    let (source, extension) = match tail {
        ["plain", url @ ..] => {
            let url = url.join("/");
            let (url, ext) = match url.rsplit_once('@') {
                Some((u, e)) => (u.to_owned(), Some(e.to_owned())),
                None => (url, None),
            };
            let decoded = percent_decode_str(&url)
                .decode_utf8()
                .map_err(|_| Error::Path("the plain source URL is not UTF-8".into()))?
                .into_owned();
            (decoded, ext)
        }
        ["enc", ..] => {
            return Err(Error::Path(
                "encrypted source URLs (imgproxy Pro) are not supported".into(),
            ))
        }
        encoded => {
            let joined = encoded.concat();
            let (data, ext) = match joined.split_once('.') {
                Some((d, e)) => (d.to_owned(), Some(e.to_owned())),
                None => (joined, None),
            };
            let bytes = URL_SAFE_NO_PAD
                .decode(data.trim_end_matches('='))
                .map_err(|_| Error::Path("the source URL is not base64url".into()))?;
            let url = String::from_utf8(bytes)
                .map_err(|_| Error::Path("the source URL is not UTF-8".into()))?;
            (url, ext)
        }
    };
    if source.is_empty() {
        return Err(Error::Path("empty source URL".into()));
    }
    if extension.as_deref() == Some("") {
        return Err(invalid("format", "empty extension"));
    }
    Ok(Parts {
        options,
        source,
        extension,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_base64_sources() {
        let p = split("/rs:fill:300:400:0/g:sm/plain/http://example.com/images/curiosity.jpg@png")
            .unwrap();
        assert_eq!(p.options, ["rs:fill:300:400:0", "g:sm"]);
        assert_eq!(p.source, "http://example.com/images/curiosity.jpg");
        assert_eq!(p.extension.as_deref(), Some("png"));
        let p = split(
            "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png",
        )
        .unwrap();
        assert_eq!(p.source, "http://example.com/images/curiosity.jpg");
        assert_eq!(p.extension.as_deref(), Some("png"));
        let p = split("/plain/local:///a%20b/c.jpg").unwrap();
        assert!(p.options.is_empty());
        assert_eq!(p.source, "local:///a b/c.jpg");
        assert_eq!(p.extension, None);
        let p = split("/plain/http://h/a.jpg%3Fx%3D1%40y").unwrap();
        assert_eq!(p.source, "http://h/a.jpg?x=1@y");
    }

    #[test]
    fn malformed_paths() {
        for bad in [
            "",
            "/",
            "/rs:fit:1:1",
            "/enc/abcdef",
            "/!!!",
            "/plain/",
            "/plain/http://h/a.jpg@",
            "/_w==",
        ] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }
}
