//! The picture a web page names for itself: `<meta property="og:image">` (or
//! `twitter:image`), for `/info?url=` pointing at a page rather than an image.

use url::Url;

use crate::imaging::sniff::looks_like_html;
use crate::source::MAX_HTML_BYTES;

/// Names in order of preference.
const NAMES: [&str; 5] = [
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:image",
    "twitter:image:src",
];

/// The image URL `body` names, resolved against `page`, when `body` is an HTML page.
pub fn image_url(body: &[u8], page: &Url) -> Option<Url> {
    if !looks_like_html(body) {
        return None;
    }
    let html = String::from_utf8_lossy(&body[..body.len().min(MAX_HTML_BYTES as usize)]);
    let lower = html.to_ascii_lowercase();
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<meta").map(|i| at + i) {
        let end = lower[start..].find('>').map_or(lower.len(), |i| start + i);
        let attrs = attributes(&html[start + 5..end]);
        let key = attrs
            .iter()
            .find(|(k, _)| k == "property" || k == "name")
            .map(|(_, v)| v.to_ascii_lowercase());
        let content = attrs.iter().find(|(k, _)| k == "content").map(|(_, v)| v);
        if let (Some(key), Some(content)) = (key, content) {
            if let Some(rank) = NAMES.iter().position(|n| *n == key) {
                found.push((rank, unescape(content.trim())));
            }
        }
        at = end;
    }
    found.sort_by_key(|(rank, _)| *rank);
    found
        .into_iter()
        .find_map(|(_, content)| page.join(&content).ok())
}

/// `name="value"`, `name='value'` and `name=value` pairs of one tag, names lowercased.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, next) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = next.trim_start();
            value.to_owned()
        } else {
            // A bare attribute, or a stray character: skip one.
            if name.is_empty() {
                rest = rest.get(1..).unwrap_or("").trim_start();
                continue;
            }
            String::new()
        };
        out.push((name, value));
    }
    out
}

/// The character references that turn up in URLs in attributes.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_resolves_the_page_image() {
        let page = Url::parse("https://example.com/blog/post").unwrap();
        let html = br#"<!DOCTYPE html><html><head>
            <meta name="twitter:image" content="/tw.jpg">
            <META property='og:image' content="img/card.jpg?a=1&amp;b=2" />
            </head><body><meta property="og:image" content="late.jpg"></body></html>"#;
        assert_eq!(
            image_url(html, &page).unwrap().as_str(),
            "https://example.com/blog/img/card.jpg?a=1&b=2"
        );
        let only_twitter =
            br#"<html><meta name=twitter:image content=https://cdn.example.net/x.png>"#;
        assert_eq!(
            image_url(only_twitter, &page).unwrap().as_str(),
            "https://cdn.example.net/x.png"
        );
    }

    #[test]
    fn images_and_pages_without_one_name_nothing() {
        let page = Url::parse("https://example.com/").unwrap();
        assert_eq!(image_url(b"\xff\xd8\xff\xe0 <html>", &page), None);
        assert_eq!(
            image_url(b"<svg><meta property='og:image' content='x'/></svg>", &page),
            None
        );
        assert_eq!(
            image_url(b"<!doctype html><title>no image</title>", &page),
            None
        );
        assert_eq!(image_url(b"<html><meta property=\"og:image", &page), None);
    }
}
