//! The gallery served at `/` in demo mode (API.md §1): one self-contained HTML page (inline
//! CSS, nothing fetched from elsewhere) showing the bundled samples through signed
//! `/transform` URLs, a few per option family of API.md §3. Each URL is printed under its
//! image, to be copied, changed and signed again.
//!
//! The signatures come from the configuration's key, which demo mode generates at each
//! start: the page is made once, at start, and must not be cached.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::config::Config;

/// A text watermark in three scripts: `wm_text` is UTF-8, percent-encoded in the URL.
pub const WM_TEXT: &str = "© ferrotype — 東京 — مرحبا";

/// How long after the start the `exp` example keeps answering.
const EXPIRY: Duration = Duration::from_secs(30 * 24 * 3600);

/// How an example appears: an image, or a link for what is not one (a download, JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Show {
    Image,
    Link,
}

/// One URL on the page.
struct Example {
    /// The request target, unsigned.
    target: String,
    /// What it shows; `name` in backquotes is set as code.
    caption: &'static str,
    show: Show,
    /// The image's CSS width when it is not its own pixel width (`dpr`).
    css_width: Option<u32>,
}

/// One option family.
struct Section {
    id: &'static str,
    title: &'static str,
    /// The option names the section shows, as API.md §3 spells them.
    options: &'static [&'static str],
    about: &'static str,
    examples: Vec<Example>,
}

fn img(target: impl Into<String>, caption: &'static str) -> Example {
    Example {
        target: target.into(),
        caption,
        show: Show::Image,
        css_width: None,
    }
}

fn link(target: impl Into<String>, caption: &'static str) -> Example {
    Example {
        show: Show::Link,
        ..img(target, caption)
    }
}

impl Example {
    fn css_width(self, width: u32) -> Self {
        Self {
            css_width: Some(width),
            ..self
        }
    }
}

/// Every example, by family; `expires` is the `exp` example's time (unix seconds).
fn sections(expires: u64) -> Vec<Section> {
    let text = utf8_percent_encode(WM_TEXT, NON_ALPHANUMERIC);
    vec![
        Section {
            id: "size",
            title: "Size and fit",
            options: &["w", "h", "fit", "dpr", "enlarge"],
            about: "`w` and `h` are a box in CSS pixels; `fit` says how the image meets it, as CSS `object-fit` does.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=320", "`w` alone: 320 px wide, the height follows"),
                img("/transform/demo/rocket.jpg?w=200&h=200", "`w` and `h`, `fit=inside` (the default): within the box"),
                img("/transform/demo/rocket.jpg?w=200&h=200&fit=cover", "`fit=cover`: fills the box, the rest cropped"),
                img("/transform/demo/rocket.jpg?w=200&h=200&fit=contain&bg=cbd5e1", "`fit=contain`: the whole image, letterboxed with `bg`"),
                img("/transform/demo/rocket.jpg?w=200&h=200&fit=fill", "`fit=fill`: stretched to the box"),
                img("/transform/demo/rocket.jpg?w=200&h=200&fit=outside", "`fit=outside`: covers the box, nothing cropped"),
                img("/transform/demo/rocket.jpg?w=160&dpr=2", "`dpr=2`: 320 px shown in a 160 CSS px slot, sharp on high-density screens").css_width(160),
                img("/transform/demo/hopper-rotated.jpg?w=256", "without `enlarge`: a 128 px original stays 128 px"),
                img("/transform/demo/hopper-rotated.jpg?w=256&enlarge=1", "`enlarge=1`: upscaled to 256 px"),
            ],
        },
        Section {
            id: "gravity",
            title: "Gravity and focal point",
            options: &["g", "fx", "fy"],
            about: "Which part `fit=cover` keeps: a side or corner, a smart crop, or a focal point.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=160&h=240&fit=cover&g=w", "`g=w`: the left (west) side"),
                img("/transform/demo/rocket.jpg?w=160&h=240&fit=cover&g=e", "`g=e`: the right (east) side"),
                img("/transform/demo/rocket.jpg?w=160&h=240&fit=cover&g=attention", "`g=attention`: libvips' smart crop, what draws the eye"),
                img("/transform/demo/rocket.jpg?w=160&h=240&fit=cover&g=entropy", "`g=entropy`: the busiest part"),
                img("/transform/demo/rocket.jpg?w=160&h=240&fit=cover&fx=0.3&fy=0.6", "`fx=0.3&fy=0.6`: a focal point kept in frame (overrides `g`)"),
            ],
        },
        Section {
            id: "formats",
            title: "Formats and quality",
            options: &["fm", "q"],
            about: "`fm` picks the output format (by default the source's); `q` the encoder quality.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=320&fm=webp&q=80", "`fm=webp&q=80`"),
                img("/transform/demo/rocket.jpg?w=320&fm=avif&q=50", "`fm=avif&q=50`"),
                img("/transform/demo/rocket.jpg?w=320&fm=jpeg&q=10", "`fm=jpeg&q=10`: low quality, visible blocks"),
                img("/transform/demo/rocket.jpg?w=320&fm=auto", "`fm=auto`: AVIF or WebP as this browser's `Accept` allows (`Vary: Accept`)"),
                img("/transform/demo/logo.png?w=200&fm=png", "`fm=png`: lossless"),
                img("/transform/demo/rocket.jpg?w=240&h=240&fit=contain&bg=00000000&fm=webp", "`fm=webp` keeps alpha: a transparent letterbox (`bg=00000000`) over the chequerboard"),
            ],
        },
        Section {
            id: "background",
            title: "Background",
            options: &["bg"],
            about: "`bg` fills the letterbox of `fit=contain` and `pad`, and what alpha is flattened onto for JPEG.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=240&h=240&fit=contain", "`fit=contain` on white, the default `bg`"),
                img("/transform/demo/rocket.jpg?w=240&h=240&fit=contain&bg=1e293b", "`bg=1e293b`: six digits"),
                img("/transform/demo/logo.png?w=240&h=160&fit=contain&bg=fd0", "`bg=fd0`: three digits, as in CSS"),
                img("/transform/demo/rocket.jpg?w=240&h=240&fit=contain&bg=0ea5e980&fm=png", "`bg=0ea5e980`: eight digits, half transparent (PNG keeps it)"),
            ],
        },
        Section {
            id: "orientation",
            title: "Orientation, rotation and flip",
            options: &["rot", "flip"],
            about: "EXIF orientation is always applied first; then `rot`, then `flip`.",
            examples: vec![
                img("/transform/demo/hopper-rotated.jpg?w=128", "EXIF orientation 6, applied: upright"),
                img("/transform/demo/hopper-rotated.jpg?w=128&rot=90", "`rot=90`: a quarter turn clockwise"),
                img("/transform/demo/hopper-rotated.jpg?w=128&rot=180", "`rot=180`"),
                img("/transform/demo/rocket.jpg?w=200&h=200&fit=cover&rot=270", "`rot=270`, then the box applies to the rotated image"),
                img("/transform/demo/hopper-rotated.jpg?w=128&flip=h", "`flip=h`: mirrored left to right"),
                img("/transform/demo/hopper-rotated.jpg?w=128&flip=v", "`flip=v`: upside down"),
                img("/transform/demo/hopper-rotated.jpg?w=128&flip=hv", "`flip=hv`: both"),
            ],
        },
        Section {
            id: "filters",
            title: "Blur, sharpen and pixelate",
            options: &["blur", "sharpen", "pixelate"],
            about: "Filters run on the resized image.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=320&blur=4", "`blur=4`: Gaussian blur, sigma 4"),
                img("/transform/demo/rocket.jpg?w=320&sharpen=2", "`sharpen=2`"),
                img("/transform/demo/rocket.jpg?w=320&pixelate=12", "`pixelate=12`: blocks of 12 output pixels"),
            ],
        },
        Section {
            id: "faces",
            title: "Faces",
            options: &["faces"],
            about: "A face detector inside the binary: `g=face` crops around the faces, `faces` hides them, `/info` lists them.",
            examples: vec![
                img("/transform/demo/hopper-rotated.jpg?w=128&h=40&fit=cover&g=s", "`g=s`: a strip from the bottom, no face in it"),
                img("/transform/demo/hopper-rotated.jpg?w=128&h=40&fit=cover&g=face", "`g=face`: the strip centred on the face"),
                img("/transform/demo/hopper-rotated.jpg?w=128&faces=blur", "`faces=blur`"),
                img("/transform/demo/hopper-rotated.jpg?w=128&faces=pixelate", "`faces=pixelate`"),
            ],
        },
        Section {
            id: "animation",
            title: "Animation and pages",
            options: &["page"],
            about: "Animations are kept when the output format has them (GIF, WebP); `page` takes one frame.",
            examples: vec![
                img("/transform/demo/animated.gif?w=100", "an animated GIF, resized: still a GIF"),
                img("/transform/demo/animated.gif?w=100&fm=webp", "`fm=webp`: an animated WebP"),
                img("/transform/demo/animated.gif?w=100&page=2&fm=png", "`page=2`: the third frame alone, as PNG"),
            ],
        },
        Section {
            id: "crop",
            title: "Crop and trim",
            options: &["crop", "trim"],
            about: "Before the resize: `trim` removes a uniform border, `crop` keeps a region (pixels, or fractions written with a decimal point).",
            examples: vec![
                img("/transform/demo/rocket.jpg?crop=260,60,200,300&w=160", "`crop=260,60,200,300`: x, y, width, height in pixels"),
                img("/transform/demo/rocket.jpg?crop=0.25,0.0,0.5,1.0&w=160", "`crop=0.25,0.0,0.5,1.0`: the middle half, in fractions"),
                img("/transform/demo/logo.png?w=200&pad=8&bg=1e293b&fm=jpeg", "logo.png as it is (framed by `pad`): a white margin around the disc"),
                img("/transform/demo/logo.png?trim=10&w=200&pad=8&bg=1e293b&fm=jpeg", "`trim=10`: the margin (within 10 levels of the corner's colour) removed"),
            ],
        },
        Section {
            id: "pad",
            title: "Padding",
            options: &["pad"],
            about: "`pad` adds CSS pixels (× `dpr`) around the result, filled with `bg`, in CSS order.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=240&pad=16&bg=0f172a", "`pad=16`: all sides"),
                img("/transform/demo/rocket.jpg?w=240&pad=8,40&bg=f97316", "`pad=8,40`: vertical, horizontal"),
                img("/transform/demo/logo.png?w=160&pad=0,0,48,0&bg=0ea5e9&fm=jpeg", "`pad=0,0,48,0`: bottom only"),
            ],
        },
        Section {
            id: "watermarks",
            title: "Watermarks",
            options: &["wm", "wm_text", "wm_pos", "wm_opacity", "wm_scale", "wm_margin", "wm_color"],
            about: "An image (`wm`, a name from FERROTYPE_WATERMARKS: the demo registers logo.png as `logo`) or a text (`wm_text`), or both, drawn last.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=400&wm=logo&wm_scale=0.2", "`wm=logo&wm_scale=0.2`: a fifth of the width, bottom right (`wm_pos=se`, the default)"),
                img("/transform/demo/rocket.jpg?w=400&wm=logo&wm_pos=nw&wm_scale=0.15&wm_margin=24&wm_opacity=0.6", "`wm_pos=nw&wm_margin=24&wm_opacity=0.6`"),
                img("/transform/demo/rocket.jpg?w=400&wm=logo&wm_pos=tile&wm_scale=0.1&wm_opacity=0.3", "`wm_pos=tile`: repeated over the whole image"),
                img(format!("/transform/demo/rocket.jpg?w=400&wm_text={text}&wm_pos=s&wm_scale=0.8&wm_color=fde047"), "`wm_text` in three scripts, percent-encoded UTF-8, `wm_color=fde047`"),
                img("/transform/demo/rocket.jpg?w=400&wm_text=ferrotype&wm_pos=tile&wm_scale=0.2&wm_opacity=0.35", "`wm_text` tiled, translucent"),
                img("/transform/demo/rocket.jpg?w=400&wm=logo&wm_text=demo&wm_pos=center&wm_scale=0.3&wm_color=0f172a", "`wm` and `wm_text` together, centred"),
            ],
        },
        Section {
            id: "bytes",
            title: "Byte budget",
            options: &["max_bytes"],
            about: "For JPEG, WebP and AVIF, the quality is lowered step by step until the body fits.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=640&fm=jpeg&q=95&max_bytes=20000", "`max_bytes=20000`: at most 20 000 bytes despite `q=95`"),
                img("/transform/demo/rocket.jpg?w=640&fm=webp&max_bytes=8000", "`max_bytes=8000` in WebP"),
            ],
        },
        Section {
            id: "presets",
            title: "Presets",
            options: &["preset"],
            about: "Named sets of options from FERROTYPE_PRESETS; the demo registers `thumb` = `w=200&h=200&fit=cover&fm=webp`.",
            examples: vec![
                img("/transform/demo/rocket.jpg?preset=thumb", "`preset=thumb`"),
                img("/transform/demo/logo.png?preset=thumb&fm=png&h=120", "`preset=thumb&fm=png&h=120`: the URL's own options win"),
            ],
        },
        Section {
            id: "delivery",
            title: "Metadata, file names, caching",
            options: &["meta", "filename", "dl", "v", "exp"],
            about: "What does not change the pixels: metadata kept or stripped, the download's name, cache busting, expiry.",
            examples: vec![
                img("/transform/demo/rocket.jpg?w=240&meta=1", "`meta=1`: EXIF and XMP kept (stripped by default)"),
                img("/transform/demo/rocket.jpg?w=240&v=2", "`v=2`: a new URL for a changed original, same processing"),
                img(format!("/transform/demo/rocket.jpg?w=240&exp={expires}"), "`exp`: answers 410 Gone after this time (unix seconds)"),
                link("/transform/demo/rocket.jpg?w=640&filename=rocket-640&dl=1", "`filename=rocket-640&dl=1`: downloads as rocket-640.jpg"),
            ],
        },
        Section {
            id: "info",
            title: "/info",
            options: &[],
            about: "The original's metadata as JSON: size, format, EXIF, ICC, hashes, dominant colours.",
            examples: vec![link("/info/demo/rocket.jpg", "`/info` of rocket.jpg")],
        },
    ]
}

/// Escapes text for HTML content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `name` in backquotes set as `<code>`.
fn inline(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

const STYLE: &str = "
:root { color-scheme: light; font-family: system-ui, sans-serif; color: #0f172a; background: #f8fafc; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 3rem; line-height: 1.45; }
h1 { margin-bottom: .25rem; }
h2 { margin: 2.5rem 0 .25rem; border-bottom: 1px solid #cbd5e1; padding-bottom: .25rem; }
h2 small { font-weight: normal; font-size: .8rem; color: #475569; }
code { font-family: ui-monospace, monospace; font-size: .85em; background: #e2e8f0; padding: 0 .2em; border-radius: 3px; }
pre { background: #0f172a; color: #e2e8f0; padding: .75rem 1rem; border-radius: 6px; white-space: pre-wrap; word-break: break-all; }
nav a { margin-right: .75rem; white-space: nowrap; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 1.25rem; }
figure { margin: 0; background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: .75rem; display: flex; flex-direction: column; gap: .5rem; }
figure > a { display: flex; align-items: center; justify-content: center; min-height: 140px; border-radius: 4px;
  background: repeating-conic-gradient(#e2e8f0 0 25%, #fff 0 50%) 0 0 / 16px 16px; }
img { max-width: 100%; height: auto; display: block; }
figcaption p { margin: 0 0 .35rem; overflow-wrap: anywhere; }
figcaption > code, figcaption a code { display: block; word-break: break-all; user-select: all; padding: .35rem .45rem; }
";

/// The page for `config`: its address, its key, its signatures.
pub fn page(config: &Config) -> String {
    let expires = SystemTime::now()
        .checked_add(EXPIRY)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(u64::from(u32::MAX), |d| d.as_secs());
    render(config, &sections(expires))
}

fn render(config: &Config, sections: &[Section]) -> String {
    let base = format!("http://{}", config.bind);
    let key = escape(&String::from_utf8_lossy(config.signer.signing_key()));
    let mut html = String::with_capacity(64 * 1024);
    // Writing into a String cannot fail.
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>ferrotype demo: every option</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>ferrotype demo: every option</h1>\n\
         <p>The bundled samples (the source <code>demo</code>: rocket.jpg, logo.png, \
         hopper-rotated.jpg, animated.gif) through signed <code>/transform</code> URLs. Each \
         URL is printed under its image: copy it, change an option, and sign it again, since \
         the signature <code>s</code> covers every option (an edited URL answers 403 until \
         then):</p>\n<pre>ferrotype sign --key {key} '{base}/transform/demo/rocket.jpg?w=500&amp;fm=webp'</pre>\n\
         <p>The key is generated at each start, and these signatures with it: after a restart, \
         reload this page. API.md §3 and README.md describe every option.</p>\n<nav>"
    );
    for s in sections {
        let _ = write!(html, "<a href=\"#{}\">{}</a> ", s.id, escape(s.title));
    }
    html.push_str("</nav>\n</header>\n<main>\n");
    for s in sections {
        let _ = write!(
            html,
            "<section id=\"{}\">\n<h2>{} <small>{}</small></h2>\n<p>{}</p>\n<div class=\"grid\">\n",
            s.id,
            escape(s.title),
            s.options
                .iter()
                .map(|o| format!("<code>{}</code>", escape(o)))
                .collect::<Vec<_>>()
                .join(" "),
            inline(s.about),
        );
        for e in &s.examples {
            let signed = escape(&config.signer.signed_url(&e.target));
            let caption = inline(e.caption);
            let shown = format!("<code>{}{signed}</code>", escape(&base));
            match e.show {
                Show::Image => {
                    let width = e
                        .css_width
                        .map(|w| format!(" style=\"width:{w}px\""))
                        .unwrap_or_default();
                    let alt = escape(&e.caption.replace('`', ""));
                    let _ = writeln!(
                        html,
                        "<figure><a href=\"{signed}\"><img src=\"{signed}\" alt=\"{alt}\"{width}></a>\
                         <figcaption><p>{caption}</p>{shown}</figcaption></figure>"
                    );
                }
                Show::Link => {
                    let _ = writeln!(
                        html,
                        "<figure class=\"link\"><figcaption><p>{caption}</p>\
                         <a href=\"{signed}\">{shown}</a></figcaption></figure>"
                    );
                }
            }
        }
        html.push_str("</div>\n</section>\n");
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn demo_config(cache: &std::path::Path) -> Config {
        let mut config = Config::from_parts(None, &[]).unwrap();
        assert!(config.demo);
        config.cache_dir = cache.to_path_buf();
        crate::demo::install(&mut config).unwrap();
        config
    }

    #[test]
    fn every_example_parses_with_the_demo_catalog() {
        let cache = tempfile::tempdir().unwrap();
        let config = demo_config(cache.path());
        for s in sections(2_000_000_000) {
            for e in s.examples {
                let (path, query) = e.target.split_once('?').unwrap_or((&e.target, ""));
                let parsed = if path.starts_with("/info") {
                    crate::options::parse_info(path, query).map(drop)
                } else {
                    config.catalog.parse_transform(path, query).map(drop)
                };
                assert!(parsed.is_ok(), "{}: {parsed:?}", e.target);
            }
        }
    }

    #[test]
    fn every_section_uses_the_options_it_names() {
        for s in sections(2_000_000_000) {
            for option in s.options {
                assert!(
                    s.examples
                        .iter()
                        .any(|e| e.target.split_once('?').is_some_and(|(_, q)| q
                            .split('&')
                            .any(|p| p.split('=').next() == Some(*option)))),
                    "{}: no example uses {option}",
                    s.title
                );
            }
        }
    }

    #[test]
    fn urls_are_escaped_and_signed() {
        let cache = tempfile::tempdir().unwrap();
        let config = demo_config(cache.path());
        let html = page(&config);
        assert!(html.contains("&amp;wm_pos=tile"));
        assert!(!html.contains("&wm_pos"), "unescaped & in the page");
        let text = utf8_percent_encode(WM_TEXT, NON_ALPHANUMERIC).to_string();
        let target = format!(
            "/transform/demo/rocket.jpg?w=400&wm_text={text}&wm_pos=s&wm_scale=0.8&wm_color=fde047"
        );
        let signed = config.signer.signed_url(&target);
        assert!(html.contains(&format!("src=\"{}\"", escape(&signed))));
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(inline("a `b&c` d"), "a <code>b&amp;c</code> d");
    }
}
