//! `pixelate`: square blocks of `block` output pixels, each the average of what it covers.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

pub(in crate::imaging) fn pixelate(frame: &VipsImage, block: u32) -> rs_vips::Result<VipsImage> {
    let (w, h) = (frame.get_width(), frame.get_height());
    let n = (block as i32).min(w.max(h)).max(1);
    // Whole blocks only: the edge is repeated to fill the last row and column, averaged
    // into their blocks, and cut away again after the zoom.
    let whole_blocks = |side: i32| (side + n - 1) / n * n;
    let (bw, bh) = (whole_blocks(w), whole_blocks(h));
    let whole = frame.embed_with_opts(0, 0, bw, bh, VOption::new().set("extend", "copy"))?;
    let blocks = whole.shrink(f64::from(n), f64::from(n))?;
    blocks.zoom(n, n)?.extract_area(0, 0, w, h)
}
