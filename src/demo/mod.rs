//! Demo mode: with no configuration at all, serve the bundled sample images as the source
//! `demo`, print signed example URLs, and serve a gallery of every option at `/`, so
//! `make run` shows something at once.
//!
//! - `mod.rs` — the samples written out as the source `demo`, the demo's watermark and
//!   preset, the banner;
//! - `gallery` — the page served at `/`.

pub mod gallery;

use std::path::{Path, PathBuf};

use crate::config::{Config, Source, SourceBase};
use crate::options::Catalog;

const SAMPLES: &[(&str, &[u8])] = &[
    ("rocket.jpg", include_bytes!("../../samples/rocket.jpg")),
    ("logo.png", include_bytes!("../../samples/logo.png")),
    (
        "hopper-rotated.jpg",
        include_bytes!("../../samples/hopper-rotated.jpg"),
    ),
    ("animated.gif", include_bytes!("../../samples/animated.gif")),
];

const EXAMPLES: &[&str] = &[
    "/transform/demo/rocket.jpg?w=400&fm=webp",
    "/transform/demo/rocket.jpg?w=300&h=300&fit=cover&g=attention&fm=auto",
    "/transform/demo/logo.png?w=200&h=120&fit=contain&bg=1e293b&fm=jpeg",
    "/transform/demo/hopper-rotated.jpg?w=256&rot=90&fm=png",
    "/transform/demo/animated.gif?w=50&fm=webp",
    "/info/demo/rocket.jpg",
];

/// The watermark demo mode registers (`wm=logo`): the bundled logo.
pub const WATERMARK: (&str, &str) = ("logo", "logo.png");

/// The presets demo mode registers (`preset=thumb`), in `FERROTYPE_PRESETS`' syntax.
pub const PRESETS: &[(&str, &str)] = &[("thumb", "w=200&h=200&fit=cover&fm=webp")];

/// Why demo mode could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write demo samples under {}: {source}", dir.display())]
    Samples {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("demo preset {name:?}: {source}")]
    Preset {
        name: &'static str,
        source: crate::options::Error,
    },
}

/// Writes the samples under the cache directory and adds them as the source `demo`, the
/// logo as the watermark `logo` and the preset `thumb`.
pub fn install(config: &mut Config) -> Result<PathBuf, Error> {
    let dir = config.cache_dir.join("demo-samples");
    let samples = |source| Error::Samples {
        dir: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(samples)?;
    for (name, bytes) in SAMPLES {
        write_if_changed(&dir.join(name), bytes).map_err(samples)?;
    }
    config.sources.retain(|s| s.name != "demo");
    config.sources.push(Source {
        name: "demo".into(),
        base: SourceBase::Dir(dir.clone()),
    });
    let (watermark, file) = WATERMARK;
    config.watermarks.retain(|(name, _)| name != watermark);
    config
        .watermarks
        .push((watermark.to_owned(), dir.join(file)));
    let mut catalog = Catalog::new(config.watermarks.iter().map(|(n, _)| n.clone()), false);
    for (name, options) in PRESETS {
        catalog
            .add_preset(name, options)
            .map_err(|source| Error::Preset { name, source })?;
    }
    config.catalog = catalog;
    Ok(dir)
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes)
}

/// The banner printed at start: where to look, with URLs signed by the generated key.
pub fn banner(config: &Config) -> String {
    let base = format!("http://{}", config.bind);
    let mut out = String::from("ferrotype demo mode: no configuration given, serving bundled samples as source \"demo\".\n");
    out.push_str(&format!(
        "Signing key (generated at each start): {}\nSigned example URLs:\n",
        String::from_utf8_lossy(config.signer.signing_key())
    ));
    for path in EXAMPLES {
        out.push_str(&format!("  {base}{}\n", config.signer.signed_url(path)));
    }
    out.push_str(&format!("Gallery of every option: {base}/\n"));
    out.push_str("Configure with --config FILE or FERROTYPE_* variables (see README.md) to leave demo mode.\n");
    out
}
