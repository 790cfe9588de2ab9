//! `wm_text` drawn by libvips through Pango: plain text (markup characters escaped, so they
//! are drawn, never interpreted) in any script the installed fonts cover, emoji in colour.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use crate::imaging::resample::{lanczos, pixels_of, Pixels};
use crate::options::Rgba;

/// How big the text should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::imaging) enum Goal {
    Width(u32),
    Height(u32),
}

/// `text` as an RGBA image in `colour`, sized for `goal` and shrunk to fit `room`; `None`
/// when there is nothing to draw (blank text).
pub(in crate::imaging) fn render(
    text: &str,
    font: &str,
    colour: Rgba,
    goal: Goal,
    room: (u32, u32),
) -> Option<VipsImage> {
    let markup = format!(
        "<span foreground=\"#{:02x}{:02x}{:02x}\">{}</span>",
        colour.r,
        colour.g,
        colour.b,
        escape(text)
    );
    let draw = |dpi: f64| {
        VipsImage::text_with_opts(
            &markup,
            VOption::new()
                .set("font", font)
                .set("dpi", dpi.round().clamp(1.0, 100_000.0) as i32)
                .set("rgba", true),
        )
        .ok()
        .filter(|img| img.get_width() > 0 && img.get_height() > 0)
    };
    // How much bigger the drawn text should be, for the goal and the room.
    let short_of = |img: &VipsImage| {
        let (w, h) = (f64::from(img.get_width()), f64::from(img.get_height()));
        let wanted = match goal {
            Goal::Width(goal) => f64::from(goal) / w,
            Goal::Height(goal) => f64::from(goal) / h,
        };
        wanted.min(f64::from(room.0) / w).min(f64::from(room.1) / h)
    };
    // Drawn once, at a DPI guessed from the font's usual proportions (at 72 DPI its ink is
    // about 10 px tall and 6 px a character): Pango's layout costs more than the resize
    // that corrects the guess. Only a guess too small is drawn again, at the right DPI.
    let chars = text.chars().count().max(1) as f64;
    let by_width = |w: u32| 72.0 * f64::from(w) / (6.0 * chars);
    let by_height = |h: u32| 72.0 * f64::from(h) / 10.0;
    let guess = match goal {
        Goal::Width(w) => by_width(w),
        Goal::Height(h) => by_height(h),
    }
    .min(by_width(room.0))
    .min(by_height(room.1));
    let mut img = draw(guess)?;
    let scale = short_of(&img);
    if scale > 1.05 {
        img = draw(guess * scale)?;
    }
    let scale = short_of(&img);
    if scale >= 0.98 {
        return Some(img);
    }
    shrink(&img, scale)
}

/// `img` (RGBA) made `scale` times smaller by the SIMD resampler.
fn shrink(img: &VipsImage, scale: f64) -> Option<VipsImage> {
    let rgba = pixels_of(img)?;
    let size = (img.get_width() as u32, img.get_height() as u32);
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    let pixels = Pixels {
        data: &rgba,
        size,
        bands: 4,
    };
    lanczos(&pixels, size, (side(size.0), side(size.1))).ok()
}

/// Text for Pango's markup parser, drawn as written; control characters (but line breaks)
/// as spaces.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push('\n'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<b>&amp;</b>\"'\u{0}\n"),
            "&lt;b&gt;&amp;amp;&lt;/b&gt;&quot;&apos; \n"
        );
    }
}
