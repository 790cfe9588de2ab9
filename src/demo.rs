//! Demo mode: with no configuration at all, serve the bundled sample images as the source
//! `demo` and print signed example URLs, so `make run` shows something at once.

use std::path::{Path, PathBuf};

use crate::config::{Config, Source, SourceBase};

const SAMPLES: &[(&str, &[u8])] = &[
    ("rocket.jpg", include_bytes!("../samples/rocket.jpg")),
    ("logo.png", include_bytes!("../samples/logo.png")),
    (
        "hopper-rotated.jpg",
        include_bytes!("../samples/hopper-rotated.jpg"),
    ),
    ("animated.gif", include_bytes!("../samples/animated.gif")),
];

const EXAMPLES: &[&str] = &[
    "/transform/demo/rocket.jpg?w=400&fm=webp",
    "/transform/demo/rocket.jpg?w=300&h=300&fit=cover&g=attention&fm=auto",
    "/transform/demo/logo.png?w=200&h=120&fit=contain&bg=1e293b&fm=jpeg",
    "/transform/demo/hopper-rotated.jpg?w=256&rot=90&fm=png",
    "/transform/demo/animated.gif?w=50&fm=webp",
    "/info/demo/rocket.jpg",
];

/// Writes the samples under the cache directory and adds them as the source `demo`.
pub fn install(config: &mut Config) -> std::io::Result<PathBuf> {
    let dir = config.cache_dir.join("demo-samples");
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in SAMPLES {
        write_if_changed(&dir.join(name), bytes)?;
    }
    config.sources.retain(|s| s.name != "demo");
    config.sources.push(Source {
        name: "demo".into(),
        base: SourceBase::Dir(dir.clone()),
    });
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
    out.push_str("Configure with --config FILE or FERROTYPE_* variables (see README.md) to leave demo mode.\n");
    out
}
