//! CenterFace's four maps (at a quarter of the input's resolution) turned into boxes: a face
//! is centred where the heatmap peaks above the threshold; its size is `exp(scale)·4` and
//! its centre is nudged by the offset map. Overlapping boxes are reduced to the best one.

/// A box in pixels of the network's input, with its score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub score: f32,
}

/// The network's resolution step: each map cell covers 4×4 input pixels.
const STRIDE: f32 = 4.0;
/// Heatmap values above this are faces.
pub const THRESHOLD: f32 = 0.5;
/// Boxes overlapping a better one by more than this (intersection over union) are dropped.
pub const OVERLAP: f32 = 0.3;

/// The maps of one image, each `rows × cols`, row-major: `scale` and `offset` hold two maps
/// each (height then width; row then column).
pub struct Maps<'a> {
    pub rows: usize,
    pub cols: usize,
    pub heat: &'a [f32],
    pub scale: &'a [f32],
    pub offset: &'a [f32],
}

/// The faces in the maps, best first, inside an input of `size` pixels.
pub fn decode(maps: &Maps, size: (f32, f32)) -> Vec<Detection> {
    let cells = maps.rows * maps.cols;
    if maps.heat.len() < cells || maps.scale.len() < 2 * cells || maps.offset.len() < 2 * cells {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (i, &score) in maps.heat[..cells].iter().enumerate() {
        // NaN is no face either.
        if score.is_nan() || score <= THRESHOLD {
            continue;
        }
        let (row, col) = ((i / maps.cols) as f32, (i % maps.cols) as f32);
        let h = maps.scale[i].exp() * STRIDE;
        let w = maps.scale[cells + i].exp() * STRIDE;
        let cy = (row + maps.offset[i] + 0.5) * STRIDE;
        let cx = (col + maps.offset[cells + i] + 0.5) * STRIDE;
        let (x0, y0) = (
            (cx - w / 2.0).clamp(0.0, size.0),
            (cy - h / 2.0).clamp(0.0, size.1),
        );
        let (x1, y1) = (
            (cx + w / 2.0).clamp(0.0, size.0),
            (cy + h / 2.0).clamp(0.0, size.1),
        );
        if x1 - x0 >= 1.0 && y1 - y0 >= 1.0 && (x1 - x0).is_finite() && (y1 - y0).is_finite() {
            found.push(Detection {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y1 - y0,
                score,
            });
        }
    }
    suppress(found, OVERLAP)
}

/// Non-maximum suppression: best first, each box kept unless it overlaps a kept one by more
/// than `overlap`.
pub fn suppress(mut boxes: Vec<Detection>, overlap: f32) -> Vec<Detection> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| iou(k, &b) <= overlap) {
            kept.push(b);
        }
    }
    kept
}

fn iou(a: &Detection, b: &Detection) -> f32 {
    let w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
    let h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
    if w <= 0.0 || h <= 0.0 {
        return 0.0;
    }
    let inter = w * h;
    inter / (a.w * a.h + b.w * b.h - inter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: f32, y: f32, w: f32, h: f32, score: f32) -> Detection {
        Detection { x, y, w, h, score }
    }

    #[test]
    fn a_peak_becomes_a_box_of_its_scale_and_offset() {
        // 2×3 cells; one peak at row 1, column 2.
        let heat = [0.1, 0.2, 0.1, 0.3, 0.4, 0.9];
        let mut scale = [0.0f32; 12];
        scale[5] = (16.0f32 / 4.0).ln(); // height 16
        scale[6 + 5] = (8.0f32 / 4.0).ln(); // width 8
        let mut offset = [0.0f32; 12];
        offset[5] = 0.25;
        offset[6 + 5] = -0.5;
        let maps = Maps {
            rows: 2,
            cols: 3,
            heat: &heat,
            scale: &scale,
            offset: &offset,
        };
        let found = decode(&maps, (100.0, 100.0));
        assert_eq!(found.len(), 1);
        let f = found[0];
        // centre: x = (2 - 0.5 + 0.5)·4 = 8, y = (1 + 0.25 + 0.5)·4 = 7
        assert!(
            (f.x - 4.0).abs() < 1e-4 && (f.w - 8.0).abs() < 1e-4,
            "{f:?}"
        );
        assert!(
            (f.y - 0.0).abs() < 1e-4 && (f.h - 15.0).abs() < 1e-4,
            "{f:?}"
        );
        assert_eq!(f.score, 0.9);
    }

    #[test]
    fn boxes_are_clipped_to_the_input_and_nan_is_no_face() {
        let heat = [0.8, f32::NAN];
        let scale = [5.0, 0.0, 5.0, 0.0];
        let offset = [0.0; 4];
        let maps = Maps {
            rows: 1,
            cols: 2,
            heat: &heat,
            scale: &scale,
            offset: &offset,
        };
        let found = decode(&maps, (8.0, 4.0));
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].x, found[0].y, found[0].w, found[0].h),
            (0.0, 0.0, 8.0, 4.0)
        );
    }

    #[test]
    fn short_maps_find_nothing() {
        let maps = Maps {
            rows: 2,
            cols: 2,
            heat: &[0.9; 4],
            scale: &[0.0; 4],
            offset: &[0.0; 8],
        };
        assert!(decode(&maps, (8.0, 8.0)).is_empty());
    }

    #[test]
    fn overlapping_boxes_keep_the_best() {
        let kept = suppress(
            vec![
                d(0.0, 0.0, 10.0, 10.0, 0.6),
                d(1.0, 1.0, 10.0, 10.0, 0.9),
                d(50.0, 50.0, 10.0, 10.0, 0.7),
            ],
            OVERLAP,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].score, 0.7);
    }
}
