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
