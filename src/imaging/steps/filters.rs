//! `blur` and `sharpen`.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use crate::options::TransformSpec;

pub(in crate::imaging) fn filters(
    frame: VipsImage,
    spec: &TransformSpec,
) -> rs_vips::Result<VipsImage> {
    let mut f = frame;
    if let Some(sigma) = spec.blur {
        f = f.gaussblur(sigma)?;
    }
    if let Some(sigma) = spec.sharpen {
        f = f.sharpen_with_opts(VOption::new().set("sigma", sigma))?;
    }
    Ok(f)
}
