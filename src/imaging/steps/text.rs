//! `wm_text` drawn by libvips through Pango: plain text (markup characters escaped, so they
//! are drawn, never interpreted) in any script the installed fonts cover, emoji in colour.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use crate::options::Rgba;

/// How big the text should be.
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
    const BASE_DPI: f64 = 72.0;
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
    let sample = draw(BASE_DPI)?;
    let (w0, h0) = (
        f64::from(sample.get_width()),
        f64::from(sample.get_height()),
    );
    let wanted = match goal {
        Goal::Width(w) => f64::from(w) / w0,
        Goal::Height(h) => f64::from(h) / h0,
    };
    let fits = (f64::from(room.0) / w0).min(f64::from(room.1) / h0);
    let img = draw(BASE_DPI * wanted.min(fits))?;
    // Pango's sizes are not quite linear in the DPI: whatever still overflows is shrunk.
    let over = (f64::from(img.get_width()) / f64::from(room.0))
        .max(f64::from(img.get_height()) / f64::from(room.1));
    if over > 1.0 {
        return img.resize(1.0 / over).ok();
    }
    Some(img)
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
