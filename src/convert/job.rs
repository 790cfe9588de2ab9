//! One file: judged, transformed and written whole or not at all — into a hidden partial
//! file beside the output, renamed over it once complete, so a run killed at any moment
//! leaves every output either absent, old or complete.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::imaging::{self, Imaging};
use crate::options::{Accepts, Format, FormatChoice, TransformSpec};

/// What became of one file.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Converted {
        bytes_in: u64,
        bytes_out: u64,
    },
    /// Not an image ferrotype reads.
    NotAnImage,
    /// Its output is newer than it.
    UpToDate,
    Failed(String),
}

pub struct Job<'a> {
    pub imaging: &'a Imaging,
    pub spec: &'a TransformSpec,
    pub dst: &'a Path,
    pub overwrite: bool,
    pub max_bytes: u64,
}

impl Job<'_> {
    pub fn run(&self, path: &Path, relative: &Path) -> Outcome {
        match self.convert(path, relative) {
            Ok(outcome) => outcome,
            Err(why) => Outcome::Failed(why),
        }
    }

    fn convert(&self, path: &Path, relative: &Path) -> Result<Outcome, String> {
        let meta = fs::metadata(path).map_err(|e| e.to_string())?;
        if meta.len() > self.max_bytes {
            return Err(format!(
                "{} bytes, over FERROTYPE_MAX_SOURCE_BYTES ({})",
                meta.len(),
                self.max_bytes
            ));
        }
        let modified = meta.modified().ok();
        // A fixed output format names the output before the file is read.
        if let FormatChoice::Fixed(format) = self.spec.format {
            if self.up_to_date(&self.output(relative, format), modified) {
                return Ok(Outcome::UpToDate);
            }
        }
        let bytes = fs::read(path).map_err(|e| e.to_string())?;
        let format = match self
            .imaging
            .output_format(&bytes, self.spec, Accepts::default())
        {
            Ok(format) => format,
            // Sniffed as no image format ferrotype reads: a text file, a BMP…
            Err(imaging::Error::Unsupported(_)) => return Ok(Outcome::NotAnImage),
            Err(e) => return Err(e.to_string()),
        };
        let output = self.output(relative, format);
        if self.up_to_date(&output, modified) {
            return Ok(Outcome::UpToDate);
        }
        let made = self
            .imaging
            .transform(&bytes, self.spec, Accepts::default())
            .map_err(|e| e.to_string())?;
        write_whole(&output, &made.bytes).map_err(|e| format!("{}: {e}", output.display()))?;
        Ok(Outcome::Converted {
            bytes_in: bytes.len() as u64,
            bytes_out: made.bytes.len() as u64,
        })
    }

    /// Where `relative`'s output goes: the same relative path, the format's extension.
    fn output(&self, relative: &Path, format: Format) -> PathBuf {
        self.dst.join(relative).with_extension(format.extension())
    }

    fn up_to_date(&self, output: &Path, source_modified: Option<SystemTime>) -> bool {
        if self.overwrite {
            return false;
        }
        let made = fs::metadata(output).and_then(|m| m.modified()).ok();
        matches!((made, source_modified), (Some(made), Some(source)) if made > source)
    }
}

/// The partial file an output is written to before it is renamed into place.
fn partial_name(output: &Path) -> PathBuf {
    let name = output.file_name().map_or_else(Default::default, |n| {
        let mut hidden = std::ffi::OsString::from(".");
        hidden.push(n);
        hidden.push(".ferrotype-partial");
        hidden
    });
    output.with_file_name(name)
}

fn write_whole(output: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = output.parent() {
        fs::create_dir_all(parent)?;
    }
    let partial = partial_name(output);
    let mut file = fs::File::create(&partial)?;
    file.write_all(bytes)?;
    // On disk before it takes the output's name: a crash after the rename finds it whole.
    file.sync_data()?;
    drop(file);
    fs::rename(&partial, output)
}
