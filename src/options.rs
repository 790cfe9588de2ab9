//! The URL of a `/transform` request (API.md §1, §3) parsed once into typed values.
//! Nothing past this module sees a raw query string.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("unknown option {0:?}")]
    Unknown(String),
    #[error("option {0:?} given more than once")]
    Repeated(String),
    #[error("option {name:?}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("bad path: {0}")]
    Path(String),
}

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        name,
        reason: reason.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fit {
    #[default]
    Inside,
    Cover,
    Contain,
    Fill,
    Outside,
}

/// Which part of the image `cover` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Gravity {
    #[default]
    Center,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
    /// libvips' saliency crop.
    Attention,
    /// libvips' entropy crop.
    Entropy,
    /// A point, as fractions of width and height, kept in frame.
    Focal {
        x: f64,
        y: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Avif,
    Gif,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
            Self::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Gif => "gif",
        }
    }

    pub fn can_animate(self) -> bool {
        matches!(self, Self::Gif | Self::Webp)
    }
}

/// The `fm` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FormatChoice {
    /// Follow the source (API.md §3 says how).
    #[default]
    Source,
    /// Negotiate from `Accept`.
    Auto,
    Fixed(Format),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    /// Whether width and height trade places.
    pub fn swaps_axes(self) -> bool {
        matches!(self, Self::R90 | Self::R270)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgba {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Default for Rgba {
    fn default() -> Self {
        Self {
            r: 255,
            g: 255,
            b: 255,
            a: 255,
        }
    }
}

/// Everything `/transform` does to an image, validated.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TransformSpec {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub dpr: f64,
    pub fit: Fit,
    pub gravity: Gravity,
    pub enlarge: bool,
    pub format: FormatChoice,
    pub quality: Option<u8>,
    pub background: Rgba,
    pub rotate: Rotation,
    pub blur: Option<f64>,
    pub sharpen: Option<f64>,
    pub keep_metadata: bool,
    pub page: Option<u32>,
    pub filename: Option<String>,
    pub download: bool,
}

impl TransformSpec {
    /// The target box in device pixels (`w`, `h` times `dpr`).
    pub fn pixel_box(&self) -> (Option<u32>, Option<u32>) {
        let scale = |v: u32| ((f64::from(v) * self.dpr).round() as u32).max(1);
        (self.width.map(scale), self.height.map(scale))
    }
}

/// Where the original comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceRef {
    /// A configured source and the path below it: raw (still percent-encoded) and decoded segments.
    Named {
        name: String,
        raw_path: String,
        segments: Vec<String>,
    },
    /// `?url=`: an absolute http(s) URL.
    Url(url::Url),
}

impl SourceRef {
    /// The last path segment, used as the default download name.
    pub fn file_name(&self) -> Option<String> {
        let last = match self {
            Self::Named { segments, .. } => segments.last().cloned(),
            Self::Url(u) => u
                .path_segments()
                .and_then(|mut s| s.next_back())
                .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned()),
        }?;
        (!last.is_empty()).then_some(last)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TransformRequest {
    pub source: SourceRef,
    pub spec: TransformSpec,
    /// `v`: busts the originals cache; processing ignores it.
    pub version: Option<String>,
}

impl TransformRequest {
    /// Identifies the result bytes: everything that changes them, nothing that only
    /// changes headers (`filename`, `dl`) or the URL's lifetime (`exp`). Callers add the
    /// negotiated `Accept` variant for `fm=auto`.
    pub fn result_key(&self) -> String {
        let spec = TransformSpec {
            filename: None,
            download: false,
            ..self.spec.clone()
        };
        format!("{:?}|{spec:?}|{:?}", self.source, self.version)
    }
}

/// A decoded query piece: name and value.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Query pieces decoded as `application/x-www-form-urlencoded`, the signature dropped.
pub fn query_pairs(query: &str) -> Vec<Pair<'_>> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .filter(|(name, _)| *name != "s")
        .map(|(n, v)| (decode(n), decode(v)))
        .collect()
}

/// [`query_pairs`], refusing a name given twice (API.md §3: a repeated option is a 400).
fn unique_pairs(query: &str) -> Result<Vec<Pair<'_>>, Error> {
    let pairs = query_pairs(query);
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(Error::Repeated(name.clone().into_owned()));
        }
    }
    Ok(pairs)
}

fn decode(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        let spaced = s.replace('+', " ");
        Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
    } else {
        percent_decode_str(s).decode_utf8_lossy()
    }
}

/// Parses a `/transform` request target (path and raw query).
pub fn parse_transform(path: &str, query: &str) -> Result<TransformRequest, Error> {
    let rest = path
        .strip_prefix("/transform")
        .ok_or_else(|| Error::Path("not a /transform path".into()))?;
    let mut spec = TransformSpec {
        dpr: 1.0,
        ..TransformSpec::default()
    };
    let mut origin = OriginOptions::default();
    let mut focal = (None, None);
    for (name, value) in unique_pairs(query)? {
        let v = value.as_ref();
        match name.as_ref() {
            "w" => spec.width = Some(int_in("w", v, 1, 8192)?),
            "h" => spec.height = Some(int_in("h", v, 1, 8192)?),
            "dpr" => spec.dpr = float_in("dpr", v, 1.0, 4.0)?,
            "fit" => spec.fit = parse_fit(v)?,
            "g" => spec.gravity = parse_gravity(v)?,
            "fx" => focal.0 = Some(float_in("fx", v, 0.0, 1.0)?),
            "fy" => focal.1 = Some(float_in("fy", v, 0.0, 1.0)?),
            "enlarge" => spec.enlarge = flag("enlarge", v)?,
            "fm" => spec.format = parse_format(v)?,
            "q" => spec.quality = Some(int_in("q", v, 1, 100)? as u8),
            "bg" => spec.background = parse_colour(v)?,
            "rot" => spec.rotate = parse_rotation(v)?,
            "blur" => spec.blur = Some(float_in("blur", v, 0.3, 100.0)?),
            "sharpen" => spec.sharpen = Some(float_in("sharpen", v, 0.3, 10.0)?),
            "meta" => spec.keep_metadata = flag("meta", v)?,
            "page" => spec.page = Some(int_in("page", v, 0, 1000)?),
            "filename" => spec.filename = Some(parse_filename(v)?),
            "dl" => spec.download = flag("dl", v)?,
            other if origin.take(other, v)? => {}
            other => return Err(Error::Unknown(other.to_owned())),
        }
    }
    if focal != (None, None) {
        spec.gravity = Gravity::Focal {
            x: focal.0.unwrap_or(0.5),
            y: focal.1.unwrap_or(0.5),
        };
    }
    let (source, version) = origin.locate("/transform", rest)?;
    Ok(TransformRequest {
        source,
        spec,
        version,
    })
}

/// `/info/{source}/{path}` or `/info?url=` (API.md §6): the original and its `v`.
#[derive(Clone, Debug, PartialEq)]
pub struct InfoRequest {
    pub source: SourceRef,
    pub version: Option<String>,
}

impl InfoRequest {
    /// Identifies the JSON: the original (and `v`), never shared with a transform's key.
    pub fn result_key(&self) -> String {
        format!("info|{:?}|{:?}", self.source, self.version)
    }
}

pub fn parse_info(path: &str, query: &str) -> Result<InfoRequest, Error> {
    let rest = path
        .strip_prefix("/info")
        .ok_or_else(|| Error::Path("not an /info path".into()))?;
    let mut origin = OriginOptions::default();
    for (name, value) in unique_pairs(query)? {
        if !origin.take(&name, &value)? {
            return Err(Error::Unknown(name.into_owned()));
        }
    }
    let (source, version) = origin.locate("/info", rest)?;
    Ok(InfoRequest { source, version })
}

/// The options of every endpoint that works on an original: which one (`url`, or the
/// path), its version (`v`), and the URL's lifetime (`exp`). `/screenshot` shares `v` and
/// `exp` (its `url`, a page, is read by its own parser first).
#[derive(Default)]
struct OriginOptions {
    url: Option<url::Url>,
    version: Option<String>,
}

impl OriginOptions {
    /// Takes the option if it is one of these; false when it is the caller's to judge.
    fn take(&mut self, name: &str, v: &str) -> Result<bool, Error> {
        match name {
            // Its form only: the signature layer checks it against the clock.
            "exp" => {
                v.parse::<u64>()
                    .map_err(|_| invalid("exp", "expected unix seconds"))?;
            }
            "v" => self.version = Some(parse_version(v)?),
            "url" => self.url = Some(parse_url(v)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The source of `{endpoint}/{source}/{path}` or `{endpoint}?url=`, exactly one of
    /// them, and the version.
    fn locate(self, endpoint: &str, rest: &str) -> Result<(SourceRef, Option<String>), Error> {
        let source = match (rest, self.url) {
            ("" | "/", Some(url)) => SourceRef::Url(url),
            ("" | "/", None) => {
                return Err(Error::Path(format!(
                    "expected {endpoint}/{{source}}/{{path}} or {endpoint}?url="
                )))
            }
            (_, Some(_)) => return Err(invalid("url", "not allowed together with a source path")),
            (rest, None) => parse_source_path(rest)?,
        };
        Ok((source, self.version))
    }
}

/// `/{source}/{path…}` into a named source and checked path segments.
pub fn parse_source_path(rest: &str) -> Result<SourceRef, Error> {
    let rest = rest
        .strip_prefix('/')
        .ok_or_else(|| Error::Path("expected /{source}/{path}".into()))?;
    let (name, raw_path) = rest
        .split_once('/')
        .ok_or_else(|| Error::Path("expected /{source}/{path}".into()))?;
    if name.is_empty() || raw_path.is_empty() {
        return Err(Error::Path("expected /{source}/{path}".into()));
    }
    let mut segments = Vec::new();
    for raw in raw_path.split('/') {
        let bytes: Vec<u8> = percent_decode_str(raw).collect();
        let seg =
            String::from_utf8(bytes).map_err(|_| Error::Path("path is not valid UTF-8".into()))?;
        if seg.is_empty() {
            return Err(Error::Path("empty path segment".into()));
        }
        if seg == "." || seg == ".." {
            return Err(Error::Path("'.' and '..' segments are not allowed".into()));
        }
        if seg.contains('\0') {
            return Err(Error::Path("NUL byte in path".into()));
        }
        // A decoded slash or backslash would smuggle an extra segment past the checks above.
        if seg.contains('/') || seg.contains('\\') {
            return Err(Error::Path("encoded slash in path segment".into()));
        }
        segments.push(seg);
    }
    Ok(SourceRef::Named {
        name: percent_decode_str(name).decode_utf8_lossy().into_owned(),
        raw_path: raw_path.to_owned(),
        segments,
    })
}

/// The image types `/screenshot` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShotType {
    Jpeg,
    Png,
    Webp,
}

impl ShotType {
    pub fn format(self) -> Format {
        match self {
            Self::Jpeg => Format::Jpeg,
            Self::Png => Format::Png,
            Self::Webp => Format::Webp,
        }
    }
}

/// Everything `/screenshot` does (API.md §4, ImgKit's option names), validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenshotSpec {
    /// Any absolute URL: whether its scheme and address may be rendered is the network
    /// policy's call (403), not the parser's.
    pub url: url::Url,
    pub width: u32,
    pub height: u32,
    pub scale_factor: f64,
    pub prefer_dark: bool,
    pub kind: ShotType,
    pub quality: Option<u8>,
    pub full_page: bool,
    pub wait_for: Option<String>,
    pub delay_ms: u32,
    pub filename: Option<String>,
    /// `v`: a page changes under the same URL; a new `v` renders it again.
    pub version: Option<String>,
}

impl ScreenshotSpec {
    /// Identifies the rendered bytes (not `filename`).
    pub fn result_key(&self) -> String {
        let spec = Self {
            filename: None,
            ..self.clone()
        };
        format!("screenshot|{spec:?}")
    }
}

/// Parses a `/screenshot` query.
pub fn parse_screenshot(query: &str) -> Result<ScreenshotSpec, Error> {
    let mut url = None;
    let mut common = OriginOptions::default();
    let mut spec = ScreenshotSpec {
        url: url::Url::parse("about:blank").map_err(|_| Error::Path("internal".into()))?,
        width: 1200,
        height: 630,
        scale_factor: 1.0,
        prefer_dark: false,
        kind: ShotType::Png,
        quality: None,
        full_page: false,
        wait_for: None,
        delay_ms: 0,
        filename: None,
        version: None,
    };
    for (name, value) in unique_pairs(query)? {
        let v = value.as_ref();
        match name.as_ref() {
            "url" => {
                url = Some(
                    url::Url::parse(v)
                        .map_err(|e| invalid("url", format!("not an absolute URL ({e})")))?,
                )
            }
            "width" => spec.width = int_in("width", v, 16, 3840)?,
            "height" => spec.height = int_in("height", v, 16, 2160)?,
            "scaleFactor" => spec.scale_factor = float_in("scaleFactor", v, 1.0, 3.0)?,
            "preferDark" => spec.prefer_dark = boolean("preferDark", v)?,
            "type" => {
                spec.kind = match v {
                    "jpeg" => ShotType::Jpeg,
                    "png" => ShotType::Png,
                    "webp" => ShotType::Webp,
                    _ => {
                        return Err(invalid(
                            "type",
                            format!("expected jpeg, png or webp, got {v:?}"),
                        ))
                    }
                }
            }
            "quality" => spec.quality = Some(int_in("quality", v, 1, 100)? as u8),
            "fullPage" => spec.full_page = boolean("fullPage", v)?,
            "waitFor" => {
                if v.is_empty() || v.len() > 512 || v.chars().any(char::is_control) {
                    return Err(invalid(
                        "waitFor",
                        "expected a CSS selector of 1–512 characters",
                    ));
                }
                spec.wait_for = Some(v.to_owned());
            }
            "delay" => spec.delay_ms = int_in("delay", v, 0, 10_000)?,
            "filename" => spec.filename = Some(parse_filename(v)?),
            other if common.take(other, v)? => {}
            other => return Err(Error::Unknown(other.to_owned())),
        }
    }
    spec.url = url.ok_or_else(|| invalid("url", "required"))?;
    spec.version = common.version;
    Ok(spec)
}

fn int_in(name: &'static str, v: &str, min: u32, max: u32) -> Result<u32, Error> {
    let n: u32 = v.parse().map_err(|_| {
        invalid(
            name,
            format!("expected a whole number {min}–{max}, got {v:?}"),
        )
    })?;
    if !(min..=max).contains(&n) {
        return Err(invalid(name, format!("{n} is outside {min}–{max}")));
    }
    Ok(n)
}

fn float_in(name: &'static str, v: &str, min: f64, max: f64) -> Result<f64, Error> {
    let n: f64 = v
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| invalid(name, format!("expected a number {min}–{max}, got {v:?}")))?;
    if !(min..=max).contains(&n) {
        return Err(invalid(name, format!("{n} is outside {min}–{max}")));
    }
    Ok(n)
}

/// A two-valued option: `off` or `on`, nothing else.
fn switch(name: &'static str, v: &str, off: &str, on: &str) -> Result<bool, Error> {
    match v {
        _ if v == off => Ok(false),
        _ if v == on => Ok(true),
        _ => Err(invalid(name, format!("expected {off} or {on}, got {v:?}"))),
    }
}

fn flag(name: &'static str, v: &str) -> Result<bool, Error> {
    switch(name, v, "0", "1")
}

fn boolean(name: &'static str, v: &str) -> Result<bool, Error> {
    switch(name, v, "false", "true")
}

fn parse_fit(v: &str) -> Result<Fit, Error> {
    Ok(match v {
        "inside" => Fit::Inside,
        "cover" => Fit::Cover,
        "contain" => Fit::Contain,
        "fill" => Fit::Fill,
        "outside" => Fit::Outside,
        _ => {
            return Err(invalid(
                "fit",
                format!("expected inside, cover, contain, fill or outside, got {v:?}"),
            ))
        }
    })
}

fn parse_gravity(v: &str) -> Result<Gravity, Error> {
    Ok(match v {
        "center" => Gravity::Center,
        "n" => Gravity::North,
        "s" => Gravity::South,
        "e" => Gravity::East,
        "w" => Gravity::West,
        "ne" => Gravity::NorthEast,
        "nw" => Gravity::NorthWest,
        "se" => Gravity::SouthEast,
        "sw" => Gravity::SouthWest,
        "attention" => Gravity::Attention,
        "entropy" => Gravity::Entropy,
        _ => {
            return Err(invalid(
                "g",
                format!(
                    "expected center, n, s, e, w, ne, nw, se, sw, attention or entropy, got {v:?}"
                ),
            ))
        }
    })
}

fn parse_format(v: &str) -> Result<FormatChoice, Error> {
    Ok(match v {
        "jpeg" => FormatChoice::Fixed(Format::Jpeg),
        "png" => FormatChoice::Fixed(Format::Png),
        "webp" => FormatChoice::Fixed(Format::Webp),
        "avif" => FormatChoice::Fixed(Format::Avif),
        "gif" => FormatChoice::Fixed(Format::Gif),
        "auto" => FormatChoice::Auto,
        _ => {
            return Err(invalid(
                "fm",
                format!("expected jpeg, png, webp, avif, gif or auto, got {v:?}"),
            ))
        }
    })
}

fn parse_rotation(v: &str) -> Result<Rotation, Error> {
    Ok(match v {
        "0" => Rotation::R0,
        "90" => Rotation::R90,
        "180" => Rotation::R180,
        "270" => Rotation::R270,
        _ => {
            return Err(invalid(
                "rot",
                format!("expected 0, 90, 180 or 270, got {v:?}"),
            ))
        }
    })
}

fn parse_colour(v: &str) -> Result<Rgba, Error> {
    let bad = || invalid("bg", format!("expected 3, 6 or 8 hex digits, got {v:?}"));
    if !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let digit = |i: usize| u8::from_str_radix(&v[i..=i], 16).map_err(|_| bad());
    let byte = |i: usize| u8::from_str_radix(&v[i..i + 2], 16).map_err(|_| bad());
    Ok(match v.len() {
        3 => Rgba {
            r: digit(0)? * 17,
            g: digit(1)? * 17,
            b: digit(2)? * 17,
            a: 255,
        },
        6 | 8 => Rgba {
            r: byte(0)?,
            g: byte(2)?,
            b: byte(4)?,
            a: if v.len() == 8 { byte(6)? } else { 255 },
        },
        _ => return Err(bad()),
    })
}

fn parse_filename(v: &str) -> Result<String, Error> {
    if v.is_empty() || v.chars().count() > 255 {
        return Err(invalid("filename", "expected 1–255 characters"));
    }
    if v.chars().any(|c| c.is_control() || matches!(c, '/' | '\\')) {
        return Err(invalid(
            "filename",
            "control characters and slashes are not allowed",
        ));
    }
    Ok(v.to_owned())
}

fn parse_version(v: &str) -> Result<String, Error> {
    let ok = (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(
            "v",
            "expected 1–64 characters of A-Z a-z 0-9 . _ -",
        ))
    }
}

fn parse_url(v: &str) -> Result<url::Url, Error> {
    let u = url::Url::parse(v).map_err(|e| invalid("url", format!("not an absolute URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(invalid(
            "url",
            format!("scheme {:?} is not http or https", u.scheme()),
        ));
    }
    if u.host().is_none() {
        return Err(invalid("url", "no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(invalid("url", "credentials in the URL are not allowed"));
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(q: &str) -> Result<TransformSpec, Error> {
        parse_transform("/transform/src/a.jpg", q).map(|r| r.spec)
    }

    #[test]
    fn defaults() {
        let s = spec("").unwrap();
        assert_eq!(s.dpr, 1.0);
        assert_eq!(s.fit, Fit::Inside);
        assert_eq!(s.format, FormatChoice::Source);
        assert_eq!(s.background, Rgba::default());
        assert_eq!(s.pixel_box(), (None, None));
    }

    #[test]
    fn every_option() {
        let s = spec("w=300&h=200&dpr=1.5&fit=cover&g=ne&enlarge=1&fm=webp&q=70&bg=00ff0088&rot=90&blur=2&sharpen=1.2&meta=1&page=3&filename=my+cat&dl=1&exp=99&v=a.b_c-1").unwrap();
        assert_eq!(s.pixel_box(), (Some(450), Some(300)));
        assert_eq!(s.fit, Fit::Cover);
        assert_eq!(s.gravity, Gravity::NorthEast);
        assert!(s.enlarge && s.keep_metadata && s.download);
        assert_eq!(s.format, FormatChoice::Fixed(Format::Webp));
        assert_eq!(s.quality, Some(70));
        assert_eq!(
            s.background,
            Rgba {
                r: 0,
                g: 255,
                b: 0,
                a: 136
            }
        );
        assert_eq!(s.rotate, Rotation::R90);
        assert_eq!(s.blur, Some(2.0));
        assert_eq!(s.sharpen, Some(1.2));
        assert_eq!(s.page, Some(3));
        assert_eq!(s.filename.as_deref(), Some("my cat"));
    }

    #[test]
    fn focal_point_overrides_gravity() {
        let s = spec("g=n&fx=0.25").unwrap();
        assert_eq!(s.gravity, Gravity::Focal { x: 0.25, y: 0.5 });
    }

    #[test]
    fn errors_name_the_option() {
        for (q, name) in [
            ("w=0", "w"),
            ("w=8193", "w"),
            ("h=abc", "h"),
            ("dpr=4.5", "dpr"),
            ("dpr=NaN", "dpr"),
            ("fit=crop", "fit"),
            ("g=north", "g"),
            ("fx=1.5", "fx"),
            ("enlarge=yes", "enlarge"),
            ("fm=bmp", "fm"),
            ("q=101", "q"),
            ("bg=12345", "bg"),
            ("bg=ggg", "bg"),
            ("rot=45", "rot"),
            ("blur=0.1", "blur"),
            ("sharpen=11", "sharpen"),
            ("meta=2", "meta"),
            ("page=1001", "page"),
            ("dl=true", "dl"),
            ("exp=soon", "exp"),
            ("v=a/b", "v"),
            ("filename=a%2Fb", "filename"),
        ] {
            let err = spec(q).unwrap_err();
            assert!(err.to_string().contains(&format!("{name:?}")), "{q}: {err}");
        }
        assert_eq!(spec("W=1"), Err(Error::Unknown("W".into())));
        assert_eq!(spec("w=1&w=2"), Err(Error::Repeated("w".into())));
    }

    #[test]
    fn result_keys_ignore_header_only_options() {
        let key = |q: &str| {
            parse_transform("/transform/src/a.jpg", q)
                .unwrap()
                .result_key()
        };
        assert_eq!(key("w=5&exp=1"), key("w=5&filename=x&dl=1"));
        assert_ne!(key("w=5"), key("w=6"));
        assert_ne!(key("w=5"), key("w=5&v=2"));
    }

    #[test]
    fn screenshot_options() {
        let s = parse_screenshot("url=https%3A%2F%2Fexample.com%2F&width=800&height=400&scaleFactor=2&preferDark=true&type=webp&quality=70&fullPage=false&waitFor=%23card&delay=250&filename=card").unwrap();
        assert_eq!(s.url.as_str(), "https://example.com/");
        assert_eq!((s.width, s.height, s.scale_factor), (800, 400, 2.0));
        assert!(s.prefer_dark && !s.full_page);
        assert_eq!(s.kind, ShotType::Webp);
        assert_eq!(s.wait_for.as_deref(), Some("#card"));
        assert_eq!(s.delay_ms, 250);
        let key = |q: &str| parse_screenshot(q).unwrap().result_key();
        assert_ne!(
            key("url=http%3A%2F%2Fa%2F"),
            key("url=http%3A%2F%2Fa%2F&v=2")
        );
        assert_eq!(
            key("url=http%3A%2F%2Fa%2F"),
            key("url=http%3A%2F%2Fa%2F&filename=x&exp=9")
        );
        let d = parse_screenshot("url=https%3A%2F%2Fexample.com%2F").unwrap();
        assert_eq!((d.width, d.height, d.kind), (1200, 630, ShotType::Png));
        // The scheme is the policy's to refuse (403), not a parse error.
        assert!(parse_screenshot("url=file%3A%2F%2F%2Fetc%2Fpasswd").is_ok());
        for (q, name) in [
            ("", "url"),
            ("url=x", "url"),
            ("url=http%3A%2F%2Fa%2F&width=15", "width"),
            ("url=http%3A%2F%2Fa%2F&height=2161", "height"),
            ("url=http%3A%2F%2Fa%2F&scaleFactor=4", "scaleFactor"),
            ("url=http%3A%2F%2Fa%2F&preferDark=1", "preferDark"),
            ("url=http%3A%2F%2Fa%2F&type=gif", "type"),
            ("url=http%3A%2F%2Fa%2F&delay=10001", "delay"),
            ("url=http%3A%2F%2Fa%2F&w=3", "w"),
        ] {
            let err = parse_screenshot(q).unwrap_err();
            assert!(err.to_string().contains(&format!("{name:?}")), "{q}: {err}");
        }
    }

    #[test]
    fn signature_is_not_an_option() {
        assert!(spec("w=10&s=abcdef").is_ok());
    }

    #[test]
    fn named_source_paths() {
        let r = parse_transform("/transform/images/a%20b/cat.jpg", "").unwrap();
        assert_eq!(
            r.source,
            SourceRef::Named {
                name: "images".into(),
                raw_path: "a%20b/cat.jpg".into(),
                segments: vec!["a b".into(), "cat.jpg".into()],
            }
        );
        assert_eq!(r.source.file_name().as_deref(), Some("cat.jpg"));
        for bad in [
            "/transform/images/../etc/passwd",
            "/transform/images/a/%2e%2e/b",
            "/transform/images/a%00.jpg",
            "/transform/images//etc/passwd",
            "/transform/images/a%2Fb",
            "/transform/images",
            "/transform/images/",
            "/transform",
        ] {
            assert!(
                matches!(parse_transform(bad, ""), Err(Error::Path(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn url_sources() {
        let r = parse_transform(
            "/transform",
            "url=https%3A%2F%2Fexample.com%2Fa%2Fb.png&w=5",
        )
        .unwrap();
        assert_eq!(
            r.source,
            SourceRef::Url("https://example.com/a/b.png".parse().unwrap())
        );
        assert_eq!(r.source.file_name().as_deref(), Some("b.png"));
        for bad in [
            "url=file%3A%2F%2F%2Fetc%2Fpasswd",
            "url=relative",
            "url=http%3A%2F%2Fu%3Ap%40h%2F",
        ] {
            assert!(
                matches!(
                    parse_transform("/transform", bad),
                    Err(Error::Invalid { name: "url", .. })
                ),
                "{bad}"
            );
        }
        assert!(
            parse_transform("/transform/src/a.jpg", "url=https%3A%2F%2Fexample.com%2F").is_err()
        );
    }
}
