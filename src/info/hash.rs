//! Perceptual hashes and colours from the small renderings `imaging::analyse` makes.
//! Pure arithmetic on pixel buffers, so every property is unit-tested without libvips.

use std::f64::consts::PI;

/// pHash: the 8×8 lowest frequencies of the 32×32 DCT-II of the grey image, each bit set
/// when its coefficient is above their median (the DC term, which only says how bright
/// the image is, excluded from the median). Robust to resizing and recompression.
pub fn phash(grey: &[u8], side: usize) -> u64 {
    debug_assert_eq!(grey.len(), side * side);
    let px = |x: usize, y: usize| f64::from(grey[y * side + x]);
    // cos table: cos[k][n] = cos(π (2n + 1) k / 2N), for the 8 frequencies kept.
    let cos: Vec<Vec<f64>> = (0..8)
        .map(|k| {
            (0..side)
                .map(|n| (PI * (2 * n + 1) as f64 * k as f64 / (2 * side) as f64).cos())
                .collect()
        })
        .collect();
    // Separable: rows first (8 frequencies per row), then columns.
    let rows: Vec<[f64; 8]> = (0..side)
        .map(|y| {
            let mut out = [0.0; 8];
            for (u, o) in out.iter_mut().enumerate() {
                *o = (0..side).map(|x| px(x, y) * cos[u][x]).sum();
            }
            out
        })
        .collect();
    let mut coeffs = [0.0f64; 64];
    for v in 0..8 {
        for u in 0..8 {
            coeffs[v * 8 + u] = (0..side).map(|y| rows[y][u] * cos[v][y]).sum();
        }
    }
    let mut ac: Vec<f64> = coeffs[1..].to_vec();
    ac.sort_by(f64::total_cmp);
    let median = (ac[31] + ac[32]) / 2.0;
    bits(coeffs.iter().map(|&c| c > median))
}

/// dHash: for each of 8 rows of a 9×8 grey image, whether each pixel is brighter than
/// its right neighbour.
pub fn dhash(grey: &[u8]) -> u64 {
    debug_assert_eq!(grey.len(), 72);
    bits((0..8).flat_map(|y| (0..8).map(move |x| grey[y * 9 + x] > grey[y * 9 + x + 1])))
}

fn bits(it: impl Iterator<Item = bool>) -> u64 {
    it.fold(0u64, |acc, b| (acc << 1) | u64::from(b))
}

/// A hash as `/info` writes it: 16 lowercase hex digits.
pub fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}

/// Up to `k` colours that cover the image, most of it first, as `#rrggbb`: k-means in RGB
/// from evenly spread starting points (deterministic: one image, one answer), colours
/// covering under 2% of the pixels and near-duplicates dropped — unless that would leave
/// fewer than three, for an image in a narrow range of tones still has three.
pub fn dominant_colours(rgb: &[u8], k: usize) -> Vec<String> {
    let pixels: Vec<[f64; 3]> = rgb
        .chunks_exact(3)
        .map(|p| [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])])
        .collect();
    if pixels.is_empty() {
        return Vec::new();
    }
    // Start from pixels spread through the image in order of brightness.
    let mut by_light: Vec<&[f64; 3]> = pixels.iter().collect();
    by_light.sort_by(|a, b| (a[0] + a[1] + a[2]).total_cmp(&(b[0] + b[1] + b[2])));
    let mut centres: Vec<[f64; 3]> = (0..k)
        .map(|i| *by_light[(2 * i + 1) * by_light.len() / (2 * k)])
        .collect();
    let mut counts = vec![0usize; k];
    for _ in 0..12 {
        let mut sums = vec![[0.0f64; 3]; k];
        counts = vec![0; k];
        for p in &pixels {
            let c = nearest(&centres, p);
            counts[c] += 1;
            for (s, v) in sums[c].iter_mut().zip(p) {
                *s += v;
            }
        }
        for ((centre, sum), &n) in centres.iter_mut().zip(&sums).zip(&counts) {
            if n > 0 {
                *centre = sum.map(|s| s / n as f64);
            }
        }
    }
    let mut ranked: Vec<([f64; 3], usize)> = centres.into_iter().zip(counts).collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
    let hex = |c: &[f64; 3]| {
        let [r, g, b] = c.map(|v| v.round().clamp(0.0, 255.0) as u8);
        format!("#{r:02x}{g:02x}{b:02x}")
    };
    let mut kept: Vec<[f64; 3]> = Vec::new();
    for (c, n) in &ranked {
        let enough = n * 50 >= pixels.len();
        if enough && kept.iter().all(|k| distance(k, c) > 24.0 * 24.0) {
            kept.push(*c);
        }
    }
    for (c, n) in &ranked {
        if kept.len() >= 3 {
            break;
        }
        if *n > 0 && kept.iter().all(|k| hex(k) != hex(c)) {
            kept.push(*c);
        }
    }
    kept.iter().map(hex).collect()
}

fn nearest(centres: &[[f64; 3]], p: &[f64; 3]) -> usize {
    (0..centres.len())
        .min_by(|&a, &b| distance(&centres[a], p).total_cmp(&distance(&centres[b], p)))
        .unwrap_or(0)
}

fn distance(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth test picture: a diagonal gradient with a bright disc.
    fn picture(side: usize, shift: f64) -> Vec<u8> {
        (0..side * side)
            .map(|i| {
                let (x, y) = ((i % side) as f64, (i / side) as f64);
                let s = side as f64;
                let disc = ((x - s * 0.3).powi(2) + (y - s * 0.4).powi(2)).sqrt() < s * 0.2;
                let v = 40.0 + 120.0 * (x + y) / (2.0 * s) + if disc { 80.0 } else { 0.0 };
                (v + shift).clamp(0.0, 255.0) as u8
            })
            .collect()
    }

    #[test]
    fn phash_survives_brightness_and_tells_pictures_apart() {
        let a = phash(&picture(32, 0.0), 32);
        let brighter = phash(&picture(32, 12.0), 32);
        assert!((a ^ brighter).count_ones() <= 4);
        let flipped: Vec<u8> = picture(32, 0.0)
            .chunks(32)
            .rev()
            .flatten()
            .copied()
            .collect();
        assert!((a ^ phash(&flipped, 32)).count_ones() >= 16);
        assert_eq!(hex(a).len(), 16);
    }

    #[test]
    fn dhash_reads_left_to_right_gradients() {
        let rising: Vec<u8> = (0..72).map(|i| (i % 9) as u8 * 20).collect();
        assert_eq!(dhash(&rising), 0);
        let falling: Vec<u8> = (0..72).map(|i| 200 - (i % 9) as u8 * 20).collect();
        assert_eq!(dhash(&falling), u64::MAX);
    }

    #[test]
    fn dominant_colours_rank_by_area() {
        // Three quarters red, one quarter blue.
        let mut rgb = Vec::new();
        for i in 0..400 {
            rgb.extend_from_slice(if i % 4 == 0 {
                &[0, 0, 255]
            } else {
                &[255, 0, 0]
            });
        }
        assert_eq!(dominant_colours(&rgb, 5), vec!["#ff0000", "#0000ff"]);
        assert!(dominant_colours(&[], 5).is_empty());
    }
}
