//! The output format chosen and the image written in it, with the metadata the savers of
//! libvips 8.14 would otherwise leave in.

use std::sync::{Condvar, Mutex};

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use super::header::has_field;
use super::sniff::SourceFormat;
use super::webp;
use super::{vips_message, Error, Imaging, Output};
use crate::options::{Accepts, Format, FormatChoice, TransformSpec};

impl Imaging {
    pub(super) fn encode(
        &self,
        img: &VipsImage,
        spec: &TransformSpec,
        format: Format,
    ) -> Result<Output, Error> {
        let quality = spec
            .quality
            .or_else(|| {
                spec.format_quality
                    .iter()
                    .find(|(f, _)| *f == format)
                    .map(|(_, q)| *q)
            })
            .or(self.qualities.of(format));
        // With `meta=0`, metadata is gone by now, except the credits `keep_copyright` left:
        // then the savers must write them.
        let strip = !spec.keep_metadata && !has_field(img, "exif-data");
        match (spec.max_bytes, quality) {
            (Some(limit), Some(q)) => self.encode_within(img, strip, format, q, limit as usize),
            _ => self.encode_at(img, strip, format, quality),
        }
    }

    /// `max_bytes`: the quality lowered step by step (not below 10) until the body fits;
    /// the smallest body made when none does.
    fn encode_within(
        &self,
        img: &VipsImage,
        strip: bool,
        format: Format,
        quality: u8,
        limit: usize,
    ) -> Result<Output, Error> {
        const FLOOR: u8 = 10;
        // Computed once: every attempt encodes these pixels again, never the original.
        let img = img.copy_memory().map_err(|e| {
            tracing::debug!(detail = %vips_message(&e), "libvips failed");
            Error::Encode(format)
        })?;
        let mut q = quality;
        let mut smallest = self.encode_at(&img, strip, format, Some(q))?;
        while smallest.bytes.len() > limit && q > FLOOR {
            // Big misses take big steps, as imgproxy does; near misses small ones.
            let miss = smallest.bytes.len() as f64 / limit as f64;
            let step = if miss > 3.0 {
                0.5
            } else if miss > 1.5 {
                0.75
            } else {
                0.9
            };
            q = ((f64::from(q) * step) as u8).clamp(FLOOR, q - 1);
            let out = self.encode_at(&img, strip, format, Some(q))?;
            if out.bytes.len() < smallest.bytes.len() {
                smallest = out;
            }
        }
        Ok(smallest)
    }

    /// `img` written as `format` at `quality` (for the lossy formats).
    fn encode_at(
        &self,
        img: &VipsImage,
        strip: bool,
        format: Format,
        quality: Option<u8>,
    ) -> Result<Output, Error> {
        let err = |e: rs_vips::error::Error| {
            tracing::debug!(detail = %vips_message(&e), "libvips failed to encode");
            Error::Encode(format)
        };
        let q = i32::from(quality.unwrap_or(80));
        let bytes = match format {
            Format::Jpeg => img.jpegsave_buffer_with_opts(
                VOption::new()
                    .set("Q", q)
                    .set("strip", strip)
                    .set("optimize-coding", true),
            ),
            Format::Png => img.pngsave_buffer_with_opts(VOption::new().set("strip", strip)),
            Format::Webp => {
                if let Some(done) = strip.then(|| webp::encode(img, q as u8)).flatten() {
                    let bytes = done.map_err(|()| {
                        tracing::debug!("libwebp failed to encode");
                        Error::Encode(format)
                    })?;
                    return Ok(Output { bytes, format });
                }
                img.webpsave_buffer_with_opts(VOption::new().set("Q", q).set("strip", strip))
                    .map(|b| {
                        if strip {
                            strip_webp_metadata(b)
                        } else {
                            bare_webp_exif(b)
                        }
                    })
            }
            Format::Avif => {
                let _slot = self.avif.acquire();
                img.heifsave_buffer_with_opts(
                    VOption::new()
                        .set("Q", q)
                        .set("compression", "av1")
                        // Effort 4 (the default) costs 8x effort 2 for a few percent of size.
                        .set("effort", 2)
                        .set("strip", strip),
                )
            }
            Format::Gif => img.gifsave_buffer_with_opts(VOption::new().set("strip", strip)),
        }
        .map_err(err)?;
        Ok(Output { bytes, format })
    }
}

/// API.md §3: `fm` absent follows the source; `auto` negotiates; both fall back on
/// JPEG, PNG for alpha, GIF for animation.
pub(super) fn choose_format(
    choice: FormatChoice,
    source: SourceFormat,
    alpha: bool,
    animated: bool,
    accepts: Accepts,
) -> Format {
    let fallback = if animated {
        Format::Gif
    } else if alpha {
        Format::Png
    } else {
        Format::Jpeg
    };
    match choice {
        FormatChoice::Fixed(f) => f,
        FormatChoice::Source => source.as_output().unwrap_or(fallback),
        // libvips 8.14 writes still AVIF only, so animations prefer WebP.
        FormatChoice::Auto if accepts.avif && !animated => Format::Avif,
        FormatChoice::Auto if accepts.webp => Format::Webp,
        FormatChoice::Auto => fallback,
        FormatChoice::Preferred(order) => order
            .into_iter()
            .flatten()
            .find(|f| match f {
                Format::Avif => accepts.avif && !animated,
                Format::Webp => accepts.webp,
                _ => false,
            })
            .unwrap_or_else(|| source.as_output().unwrap_or(fallback)),
    }
}

/// Drops the `EXIF` and `XMP ` chunks of a WebP file. libvips 8.14's webpsave writes a
/// fresh EXIF block (resolution, orientation, dimensions) even with `strip` and with every
/// metadata field removed, so the container is edited after encoding.
pub(super) fn strip_webp_metadata(webp: Vec<u8>) -> Vec<u8> {
    const EXIF_FLAG: u8 = 0x08;
    const XMP_FLAG: u8 = 0x04;
    if webp.len() < 12 || &webp[0..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return webp;
    }
    let mut out = webp[..12].to_vec();
    let mut i = 12;
    while i + 8 <= webp.len() {
        let fourcc = &webp[i..i + 4];
        let size =
            u32::from_le_bytes([webp[i + 4], webp[i + 5], webp[i + 6], webp[i + 7]]) as usize;
        let end = (i + 8 + size + (size & 1)).min(webp.len());
        match fourcc {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let at = out.len() + 8;
                out.extend_from_slice(&webp[i..end]);
                if let Some(flags) = out.get_mut(at) {
                    *flags &= !(EXIF_FLAG | XMP_FLAG);
                }
            }
            _ => out.extend_from_slice(&webp[i..end]),
        }
        i = end;
    }
    let riff_size = u32::try_from(out.len() - 8).unwrap_or(u32::MAX);
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    out
}

/// The WebP container's `EXIF` chunk without the `Exif\0\0` prefix libvips 8.14 copies
/// from JPEG's APP1: in WebP the chunk holds the TIFF structure itself, and readers that
/// follow the specification (browsers' and kamadak-exif's) find nothing otherwise.
pub(super) fn bare_webp_exif(webp: Vec<u8>) -> Vec<u8> {
    const PREFIX: &[u8] = b"Exif\0\0";
    if webp.len() < 12 || &webp[0..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return webp;
    }
    let mut out = webp[..12].to_vec();
    let mut i = 12;
    while i + 8 <= webp.len() {
        let size =
            u32::from_le_bytes([webp[i + 4], webp[i + 5], webp[i + 6], webp[i + 7]]) as usize;
        let end = (i + 8 + size + (size & 1)).min(webp.len());
        let payload = &webp[(i + 8).min(end)..(i + 8 + size).min(end)];
        match payload.strip_prefix(PREFIX) {
            Some(tiff) if &webp[i..i + 4] == b"EXIF" => {
                out.extend_from_slice(b"EXIF");
                out.extend_from_slice(&(tiff.len() as u32).to_le_bytes());
                out.extend_from_slice(tiff);
                if tiff.len() % 2 == 1 {
                    out.push(0);
                }
            }
            _ => out.extend_from_slice(&webp[i..end]),
        }
        i = end;
    }
    let riff_size = u32::try_from(out.len() - 8).unwrap_or(u32::MAX);
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    out
}

/// A blocking counting semaphore: AVIF encodes run inside pool threads, not async tasks.
pub(super) struct CountingSemaphore {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'a>(&'a CountingSemaphore);

impl CountingSemaphore {
    pub fn new(n: usize) -> Self {
        Self {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_choice() {
        let none = Accepts::default();
        let webp = Accepts {
            avif: false,
            webp: true,
        };
        let avif = Accepts {
            avif: true,
            webp: true,
        };
        let src = SourceFormat::Jpeg;
        assert_eq!(
            choose_format(FormatChoice::Auto, src, false, false, avif),
            Format::Avif
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, src, false, false, webp),
            Format::Webp
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, src, false, false, none),
            Format::Jpeg
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, src, true, false, none),
            Format::Png
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, SourceFormat::Gif, false, true, avif),
            Format::Webp
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, SourceFormat::Gif, false, true, none),
            Format::Gif
        );
        assert_eq!(
            choose_format(FormatChoice::Source, SourceFormat::Tiff, false, false, none),
            Format::Jpeg
        );
        assert_eq!(
            choose_format(FormatChoice::Source, SourceFormat::Tiff, true, false, none),
            Format::Png
        );
        assert_eq!(
            choose_format(FormatChoice::Source, SourceFormat::Webp, true, false, none),
            Format::Webp
        );
    }
}
