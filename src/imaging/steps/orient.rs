//! `rot` and `flip`, after the loader's EXIF auto-orientation.

use rs_vips::{enums, VipsImage};

use crate::options::{Flip, Rotation};

pub(in crate::imaging) fn orient(
    img: &VipsImage,
    rotate: Rotation,
    flip: Flip,
) -> rs_vips::Result<VipsImage> {
    let mut img = match rotate {
        Rotation::R0 => img.copy(),
        Rotation::R90 => img.rot(enums::Angle::D90),
        Rotation::R180 => img.rot(enums::Angle::D180),
        Rotation::R270 => img.rot(enums::Angle::D270),
    }?;
    if flip.horizontal {
        img = img.flip(enums::Direction::Horizontal)?;
    }
    if flip.vertical {
        img = img.flip(enums::Direction::Vertical)?;
    }
    Ok(img)
}
