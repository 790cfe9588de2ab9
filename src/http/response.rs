//! Responses per API.md §5: the one place where an error becomes a status code, the
//! finished bodies ([`Rendered`]) and the headers every successful one carries.

use bytes::Bytes;
use http::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, RETRY_AFTER, VARY,
};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::Full;

use sha2::{Digest, Sha256};

use super::Body;
use crate::options::Format;
use crate::{imaging, info, screenshot, signature, source, Error};

/// What a response body is: its `Content-Type`, and the extension of its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaType {
    pub content_type: &'static str,
    pub extension: &'static str,
}

impl MediaType {
    pub const JSON: Self = Self {
        content_type: "application/json",
        extension: "json",
    };

    /// The media type a stored response was written with; `None` for any other.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        if content_type == Self::JSON.content_type {
            return Some(Self::JSON);
        }
        [
            Format::Jpeg,
            Format::Png,
            Format::Webp,
            Format::Avif,
            Format::Gif,
        ]
        .into_iter()
        .find(|f| f.content_type() == content_type)
        .map(Self::from)
    }
}

impl From<Format> for MediaType {
    fn from(f: Format) -> Self {
        Self {
            content_type: f.content_type(),
            extension: f.extension(),
        }
    }
}

/// A finished response body, shared by every request for the same result.
#[derive(Debug)]
pub struct Rendered {
    pub bytes: Bytes,
    pub media: MediaType,
    /// Strong ETag, quotes included.
    pub etag: String,
}

impl Rendered {
    pub fn new(bytes: Bytes, media: impl Into<MediaType>) -> Self {
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
        Self {
            bytes,
            media: media.into(),
            etag,
        }
    }
}

/// How long a client should wait after a 503.
const RETRY_AFTER_SECS: u64 = 1;

/// Errors that say something lasting about the URL may be cached briefly; the rest not at all.
enum Caching {
    Brief,
    Never,
}

/// The status of API.md §5 for every error any module returns.
pub fn status_of(e: &Error) -> StatusCode {
    status_and_caching(e).0
}

fn status_and_caching(e: &Error) -> (StatusCode, Caching) {
    use Caching::*;
    match e {
        Error::Signature(signature::Error::BadSignature) => (StatusCode::FORBIDDEN, Never),
        Error::Signature(signature::Error::Expired) => (StatusCode::GONE, Never),
        Error::Options(_) => (StatusCode::BAD_REQUEST, Brief),
        Error::Source(e) => match e {
            source::Error::UnknownSource(_) | source::Error::NotFound => {
                (StatusCode::NOT_FOUND, Brief)
            }
            source::Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, Brief),
            source::Error::Refused(_) => (StatusCode::FORBIDDEN, Never),
            source::Error::Origin(_) => (StatusCode::BAD_GATEWAY, Never),
            source::Error::Deadline(_) => (StatusCode::GATEWAY_TIMEOUT, Never),
            source::Error::Cache(_) => (StatusCode::SERVICE_UNAVAILABLE, Never),
        },
        Error::Imaging(e) => match e {
            imaging::Error::Unsupported(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, Brief),
            imaging::Error::NoSuchPage { .. } | imaging::Error::EmptyCrop => {
                (StatusCode::BAD_REQUEST, Brief)
            }
            imaging::Error::Corrupt(_)
            | imaging::Error::TooManyPixels { .. }
            | imaging::Error::Encode(_) => (StatusCode::UNPROCESSABLE_ENTITY, Brief),
            // The model inside the binary failed: not the image's fault.
            imaging::Error::Faces => (StatusCode::INTERNAL_SERVER_ERROR, Never),
        },
        Error::Pool(imaging::pool::Error::Overloaded(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, Never)
        }
        Error::Pool(imaging::pool::Error::WorkerPanicked) => {
            (StatusCode::INTERNAL_SERVER_ERROR, Never)
        }
        Error::Screenshot(e) => match e {
            screenshot::Error::Refused(_) | screenshot::Error::RedirectRefused => {
                (StatusCode::FORBIDDEN, Never)
            }
            screenshot::Error::Deadline(_) => (StatusCode::GATEWAY_TIMEOUT, Never),
            screenshot::Error::Page(_) => (StatusCode::BAD_GATEWAY, Never),
            screenshot::Error::BadSelector => (StatusCode::BAD_REQUEST, Brief),
            screenshot::Error::Unavailable(_) | screenshot::Error::Overloaded(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, Never)
            }
            screenshot::Error::TooManyPixels { .. } => (StatusCode::UNPROCESSABLE_ENTITY, Brief),
            screenshot::Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, Brief),
            screenshot::Error::Pool(e) => status_and_caching(&Error::Pool(e.clone())),
            screenshot::Error::Encode(e) => status_and_caching(&Error::Imaging(e.clone())),
        },
        Error::Info(e) => match e {
            info::Error::Source(e) => status_and_caching(&Error::Source(e.clone())),
            info::Error::Pool(e) => status_and_caching(&Error::Pool(e.clone())),
            info::Error::Imaging(e) => status_and_caching(&Error::Imaging(e.clone())),
        },
        Error::NoRoute => (StatusCode::NOT_FOUND, Brief),
        Error::Method => (StatusCode::METHOD_NOT_ALLOWED, Brief),
    }
}

/// A one-line `text/plain` error with the caching of API.md §5.
pub fn error_response(e: &Error) -> Response<Body> {
    let (status, caching) = status_and_caching(e);
    let cache_control = match caching {
        Caching::Brief => "public, max-age=60",
        Caching::Never => "no-store",
    };
    let mut resp = text(status, &format!("{e}\n"));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        resp.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    resp
}

pub fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body.replace(['\r'], ""))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A whole HTML page of ours (demo mode's gallery): never cached, and allowed to load
/// nothing but this server's images and its own inline style.
pub fn html(page: Bytes) -> Response<Body> {
    let length = page.len();
    let mut resp = Response::new(Full::new(page));
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        ),
    );
    resp
}

/// The 504 of the whole request's deadline (origin and render deadlines have their own).
pub fn deadline_response() -> Response<Body> {
    let mut resp = text(StatusCode::GATEWAY_TIMEOUT, "request deadline passed\n");
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A handler that panicked: 500 without detail, since a panic message may contain
/// anything, including parts of the URL.
pub fn panic_response(_: Box<dyn std::any::Any + Send>) -> Response<Body> {
    let mut resp = text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// What a successful response carries besides its bytes, their type and `Cache-Control`.
pub struct ImageMeta<'a> {
    /// `fm=auto`: the body depends on `Accept`.
    pub varies: bool,
    pub file_stem: &'a str,
    pub download: bool,
}

/// The image, or 304 when `If-None-Match` already names it.
pub fn image(
    rendered: &Rendered,
    meta: &ImageMeta<'_>,
    cache_control: &str,
    request_headers: &HeaderMap,
) -> Response<Body> {
    let etag = &rendered.etag;
    let not_modified = request_headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == *etag);
    let mut resp = if not_modified {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Full::new(rendered.bytes.clone()));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(rendered.media.content_type),
        );
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(cache_control) {
        h.insert(CACHE_CONTROL, v);
    }
    if meta.varies {
        h.insert(VARY, HeaderValue::from_static("Accept"));
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(
        meta.file_stem,
        rendered.media.extension,
        meta.download,
    )) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    resp
}

/// `inline` or `attachment` with the name's extension set to the output format's; an ASCII
/// `filename` for old clients and an RFC 8187 `filename*` when the name is not ASCII.
pub fn content_disposition(name: &str, extension: &str, download: bool) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    let stem = if stem.is_empty() { "image" } else { stem };
    let full = format!("{stem}.{extension}");
    let ascii: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if download { "attachment" } else { "inline" };
    if ascii == full {
        format!("{kind}; filename=\"{full}\"")
    } else {
        let encoded =
            percent_encoding::utf8_percent_encode(&full, percent_encoding::NON_ALPHANUMERIC);
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_names() {
        assert_eq!(
            content_disposition("cat.png", "webp", false),
            "inline; filename=\"cat.webp\""
        );
        assert_eq!(
            content_disposition("archive.tar.gz", "jpg", true),
            "attachment; filename=\"archive.tar.jpg\""
        );
        assert_eq!(
            content_disposition("", "png", false),
            "inline; filename=\"image.png\""
        );
        assert_eq!(
            content_disposition("chat \"noir\".jpg", "jpg", false),
            "inline; filename=\"chat _noir_.jpg\"; filename*=UTF-8''chat%20%22noir%22%2Ejpg"
        );
        assert!(content_disposition("café", "avif", false)
            .contains("filename*=UTF-8''caf%C3%A9%2Eavif"));
    }

    #[test]
    fn etag_and_304() {
        let meta = ImageMeta {
            varies: true,
            file_stem: "a",
            download: false,
        };
        let rendered = Rendered::new(Bytes::from_static(b"abc"), Format::Png);
        let first = image(&rendered, &meta, "public, max-age=1", &HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, etag.clone());
        let second = image(&rendered, &meta, "public, max-age=1", &h);
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(second.headers()[ETAG], etag);
        assert_eq!(second.headers()[VARY], "Accept");
        assert_eq!(second.headers()[CACHE_CONTROL], "public, max-age=1");
    }
}
