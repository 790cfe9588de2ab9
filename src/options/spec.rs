//! The typed requests: what every URL dialect parses into, and what the rest of the
//! server works from.

use percent_encoding::percent_decode_str;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fit {
    #[default]
    Inside,
    Cover,
    Contain,
    Fill,
    Outside,
    /// imgproxy's `fill-down`: `cover`, but an image too small for the box is cut to the
    /// box's aspect ratio instead of being smaller than it.
    CoverDown,
    /// imgproxy's `force`: stretched to the box; a side not given keeps the source's.
    Force,
    /// imgproxy's `auto`: `cover` when the image and the box are both portrait or both
    /// landscape, else `inside`.
    Auto,
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
    /// The detected faces kept in frame (API.md §10); `Attention` when there is none.
    Face,
}

/// How `faces` hides each detected face.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Obscure {
    Blur,
    Pixelate,
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

/// The quality each lossy format is written at when the URL gives no `q`
/// (`FERROTYPE_QUALITY`, else API.md §3's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qualities {
    pub jpeg: u8,
    pub webp: u8,
    pub avif: u8,
}

impl Default for Qualities {
    fn default() -> Self {
        Self {
            jpeg: 80,
            webp: 80,
            avif: 55,
        }
    }
}

impl Qualities {
    /// The default for `format`; `None` for the lossless ones.
    pub fn of(&self, format: Format) -> Option<u8> {
        match format {
            Format::Jpeg => Some(self.jpeg),
            Format::Webp => Some(self.webp),
            Format::Avif => Some(self.avif),
            Format::Png | Format::Gif => None,
        }
    }

    /// `jpeg=82,webp=79,avif=50`; formats left out keep their default.
    pub fn parse(v: &str) -> Result<Self, String> {
        let mut q = Self::default();
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (format, value) = item
                .split_once('=')
                .ok_or_else(|| format!("expected format=quality, got {item:?}"))?;
            let value: u8 = value
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| format!("{format}: expected a quality 1–100, got {value:?}"))?;
            match format.trim() {
                "jpeg" => q.jpeg = value,
                "webp" => q.webp = value,
                "avif" => q.avif = value,
                other => return Err(format!("{other:?}: expected jpeg, webp or avif")),
            }
        }
        Ok(q)
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
    /// imgproxy's auto formats: the first of these `Accept` allows, else as `Source`.
    Preferred([Option<Format>; 2]),
    Fixed(Format),
}

impl FormatChoice {
    /// Whether the choice reads `Accept` (and the response varies with it).
    pub fn negotiates(self) -> bool {
        matches!(self, Self::Auto | Self::Preferred(_))
    }
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

/// One coordinate of `crop`: pixels, or a fraction of the image's width or height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Length {
    Pixels(u32),
    Fraction(f64),
}

impl Length {
    /// In pixels of a side `of` pixels long.
    pub fn resolve(self, of: u32) -> u32 {
        match self {
            Self::Pixels(p) => p,
            Self::Fraction(f) => (f * f64::from(of)).round() as u32,
        }
    }
}

/// `crop`: a region in the oriented, rotated and flipped image (API.md §3), or (imgproxy)
/// a size placed by a gravity (`None`: the image's gravity).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Crop {
    Region {
        x: Length,
        y: Length,
        width: Length,
        height: Length,
    },
    Anchored {
        width: Length,
        height: Length,
        anchor: Option<Anchor>,
    },
}

/// A rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Crop {
    /// The gravity an anchored crop names, if any.
    pub fn anchor(&self) -> Option<Anchor> {
        match self {
            Self::Anchored { anchor, .. } => *anchor,
            Self::Region { .. } => None,
        }
    }

    /// The same crop placed by `anchor` instead of its own.
    pub fn with_anchor(self, to: Anchor) -> Self {
        match self {
            Self::Anchored { width, height, .. } => Self::Anchored {
                width,
                height,
                anchor: Some(to),
            },
            region => region,
        }
    }

    /// The region in an image of `size`, clipped to it; `None` when nothing is left.
    /// `fallback` places an anchored crop that names no gravity of its own.
    pub fn resolve(&self, (w, h): (u32, u32), fallback: Anchor) -> Option<Rect> {
        let (x, y, width, height) = match *self {
            Self::Region {
                x,
                y,
                width,
                height,
            } => {
                let x = x.resolve(w).min(w);
                let y = y.resolve(h).min(h);
                (
                    x,
                    y,
                    width.resolve(w).min(w - x),
                    height.resolve(h).min(h - y),
                )
            }
            Self::Anchored {
                width,
                height,
                anchor,
            } => {
                let cw = width.resolve(w).min(w);
                let ch = height.resolve(h).min(h);
                let (x, y) = anchor.unwrap_or(fallback).place((w, h), (cw, ch));
                (x, y, cw, ch)
            }
        };
        (width > 0 && height > 0).then_some(Rect {
            x,
            y,
            width,
            height,
        })
    }
}

impl Anchor {
    /// Where a `part` sits in a `whole` (top-left corner), by gravity and offset, kept
    /// inside the whole. Smart gravities, which need the pixels, sit in the centre.
    pub fn place(&self, whole: (u32, u32), part: (u32, u32)) -> (u32, u32) {
        let spare = (
            f64::from(whole.0.saturating_sub(part.0)),
            f64::from(whole.1.saturating_sub(part.1)),
        );
        let offset = |o: f64, side: u32| {
            if o.abs() < 1.0 {
                o * f64::from(side)
            } else {
                o
            }
        };
        let (ox, oy) = (
            offset(self.offset.0, whole.0),
            offset(self.offset.1, whole.1),
        );
        let (x, y) = match self.gravity {
            Gravity::Focal { x, y } => (
                x * f64::from(whole.0) - f64::from(part.0) / 2.0,
                y * f64::from(whole.1) - f64::from(part.1) / 2.0,
            ),
            g => {
                let (gx, gy) = g.compass();
                // Offsets move away from the edge the gravity names (from the centre,
                // right and down).
                let along = |g: f64, spare: f64, o: f64| {
                    if g == 1.0 {
                        spare - o
                    } else {
                        g * spare + o
                    }
                };
                (along(gx, spare.0, ox), along(gy, spare.1, oy))
            }
        };
        (
            x.clamp(0.0, spare.0).round() as u32,
            y.clamp(0.0, spare.1).round() as u32,
        )
    }
}

/// The nine compass gravities, by their names in ferrotype's URLs (`g`, `wm_pos`) and in
/// imgproxy's (`gravity`, `extend`, `crop`, `watermark`).
const COMPASS: [(&str, &str, Gravity); 9] = [
    ("center", "ce", Gravity::Center),
    ("n", "no", Gravity::North),
    ("s", "so", Gravity::South),
    ("e", "ea", Gravity::East),
    ("w", "we", Gravity::West),
    ("ne", "noea", Gravity::NorthEast),
    ("nw", "nowe", Gravity::NorthWest),
    ("se", "soea", Gravity::SouthEast),
    ("sw", "sowe", Gravity::SouthWest),
];

impl Gravity {
    /// A compass gravity by its name in ferrotype's URLs.
    pub(super) fn named(v: &str) -> Option<Self> {
        COMPASS.iter().find(|c| c.0 == v).map(|c| c.2)
    }

    /// A compass gravity by its name in imgproxy's URLs.
    pub(super) fn imgproxy_named(v: &str) -> Option<Self> {
        COMPASS.iter().find(|c| c.1 == v).map(|c| c.2)
    }

    /// Where a compass gravity sits, as fractions of the spare width and height (the
    /// centre for the others).
    pub fn compass(self) -> (f64, f64) {
        match self {
            Self::North => (0.5, 0.0),
            Self::South => (0.5, 1.0),
            Self::East => (1.0, 0.5),
            Self::West => (0.0, 0.5),
            Self::NorthEast => (1.0, 0.0),
            Self::NorthWest => (0.0, 0.0),
            Self::SouthEast => (1.0, 1.0),
            Self::SouthWest => (0.0, 1.0),
            _ => (0.5, 0.5),
        }
    }
}

/// A gravity and an offset from it, in CSS pixels (or, under 1, fractions of the side):
/// where a crop is taken from, or where an image sits in a larger canvas.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Anchor {
    pub gravity: Gravity,
    pub offset: (f64, f64),
}

/// imgproxy's sizing options beyond the box (API.md §8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sizing {
    /// `min-width`, `min-height` in CSS pixels.
    pub min: (Option<u32>, Option<u32>),
    /// `zoom`: multiplies the result's size, after the box.
    pub zoom: (f64, f64),
    /// `extend`: a result smaller than the box is placed in a canvas of the box's size.
    pub extend: Option<Anchor>,
    /// `extend_aspect_ratio`: the canvas grows to the box's aspect ratio.
    pub extend_aspect: Option<Anchor>,
}

impl Default for Sizing {
    fn default() -> Self {
        Self {
            min: (None, None),
            zoom: (1.0, 1.0),
            extend: None,
            extend_aspect: None,
        }
    }
}

/// `trim`: the border's tolerance and, when known, its colour; whether to cut as much
/// from both sides of an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trim {
    pub threshold: u8,
    pub colour: Option<Rgba>,
    pub equal_horizontal: bool,
    pub equal_vertical: bool,
}

impl Trim {
    pub fn threshold(threshold: u8) -> Self {
        Self {
            threshold,
            colour: None,
            equal_horizontal: false,
            equal_vertical: false,
        }
    }
}

/// `pad`, in CSS pixels: top, right, bottom, left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Sides {
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
    pub left: u32,
}

/// `flip`: mirror horizontally, vertically, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Flip {
    pub horizontal: bool,
    pub vertical: bool,
}

/// Where a watermark goes: a compass gravity, or repeated over the whole image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Placement {
    At(Gravity),
    Tile,
}

impl Default for Placement {
    fn default() -> Self {
        Self::At(Gravity::SouthEast)
    }
}

/// The `wm` family: what is overlaid, where and how.
#[derive(Clone, Debug, PartialEq)]
pub struct Watermark {
    /// A name from `FERROTYPE_WATERMARKS` (checked by the parser).
    pub image: Option<String>,
    /// Plain text, drawn as it is (never markup).
    pub text: Option<String>,
    pub placement: Placement,
    pub opacity: f64,
    /// Width as a fraction of the output's width.
    pub scale: Option<f64>,
    /// CSS pixels from the edges, horizontally and vertically (between tiles for `tile`).
    pub margin: (u32, u32),
    pub colour: Rgba,
}

impl Default for Watermark {
    fn default() -> Self {
        Self {
            image: None,
            text: None,
            placement: Placement::default(),
            opacity: 1.0,
            scale: None,
            margin: (10, 10),
            colour: Rgba::default(),
        }
    }
}

impl Watermark {
    /// Whether anything would be drawn.
    pub fn draws(&self) -> bool {
        (self.image.is_some() || self.text.is_some()) && self.opacity > 0.0
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
    pub flip: Flip,
    pub trim: Option<Trim>,
    pub crop: Option<Crop>,
    /// Offsets of `gravity` for `cover`'s crop (imgproxy's `g:…:x:y`), CSS pixels.
    pub gravity_offset: (f64, f64),
    /// imgproxy's `min-width`, `zoom`, `extend`, `extend_aspect_ratio`.
    pub sizing: Sizing,
    /// imgproxy's `auto_rotate:0`: EXIF orientation ignored.
    pub ignore_orientation: bool,
    /// imgproxy's `format_quality`: the quality of some formats when `q` is not given.
    pub format_quality: Vec<(Format, u8)>,
    /// imgproxy's `keep_copyright`: when metadata is stripped, the EXIF Artist and
    /// Copyright stay.
    pub keep_copyright: bool,
    /// imgproxy's `skip_processing`: originals in these formats are answered as they are
    /// when the output format is theirs; `raw` (every format) sets them all.
    pub pass_through: Vec<Format>,
    /// Block size in output pixels.
    pub pixelate: Option<u32>,
    /// Every detected face hidden.
    pub faces: Option<Obscure>,
    pub pad: Option<Sides>,
    pub watermark: Watermark,
    pub max_bytes: Option<u32>,
}

impl TransformSpec {
    /// The target box in device pixels (`w`, `h` times `dpr`).
    pub fn pixel_box(&self) -> (Option<u32>, Option<u32>) {
        (
            self.width.map(|v| self.device(v)),
            self.height.map(|v| self.device(v)),
        )
    }

    /// The gravity with its offset in device pixels (fractions stay fractions).
    pub fn anchor(&self) -> Anchor {
        let device = |o: f64| if o.abs() < 1.0 { o } else { o * self.dpr };
        Anchor {
            gravity: self.gravity,
            offset: (device(self.gravity_offset.0), device(self.gravity_offset.1)),
        }
    }

    /// Whether the faces must be found: for `faces`, or for a crop by them.
    pub fn needs_faces(&self) -> bool {
        let by_faces = |a: Option<Anchor>| a.is_some_and(|a| a.gravity == Gravity::Face);
        self.faces.is_some()
            || self.gravity == Gravity::Face
            || by_faces(self.crop.as_ref().and_then(Crop::anchor))
    }

    /// CSS pixels in device pixels.
    pub fn device(&self, css: u32) -> u32 {
        (f64::from(css) * self.dpr).round() as u32
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
    /// imgproxy's `local:///path`, under `FERROTYPE_IMGPROXY_LOCAL_ROOT`: checked segments.
    Local { segments: Vec<String> },
    /// imgproxy's `s3://bucket/key`.
    S3 { bucket: String, key: String },
}

impl SourceRef {
    /// The last path segment, used as the default download name.
    pub fn file_name(&self) -> Option<String> {
        let last = match self {
            Self::Named { segments, .. } | Self::Local { segments } => segments.last().cloned(),
            Self::S3 { key, .. } => key.rsplit('/').next().map(str::to_owned),
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

/// `/info/{source}/{path}` or `/info?url=` (API.md §6): the original and its `v`.
#[derive(Clone, Debug, PartialEq)]
pub struct InfoRequest {
    pub source: SourceRef,
    pub version: Option<String>,
}

/// Output formats the client's `Accept` header lists, for `fm=auto`; read from the
/// header by `http`, at the edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Accepts {
    pub avif: bool,
    pub webp: bool,
}
