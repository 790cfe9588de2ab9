//! What the operator named in the configuration for URLs to refer to: presets, parsed
//! once at start into typed settings, and watermarks.

use std::collections::BTreeSet;

use super::presets::Presets;
use super::query::unique_pairs;
use super::setting::{parse_setting, Setting};
use super::{invalid, Error};

/// What the operator named in the configuration and URLs refer to: presets (parsed once,
/// at start) and watermarks; and whether URLs may choose presets only.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    presets: Presets,
    watermarks: BTreeSet<String>,
    only_presets: bool,
}

impl Catalog {
    pub fn new(watermarks: impl IntoIterator<Item = String>, only_presets: bool) -> Self {
        Self {
            presets: Presets::default(),
            watermarks: watermarks.into_iter().collect(),
            only_presets,
        }
    }

    /// Adds preset `name` from options in `/transform`'s query syntax, checked now so a
    /// mistake stops the start rather than a request.
    pub fn add_preset(&mut self, name: &str, options: &str) -> Result<(), Error> {
        let well_named = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !well_named {
            return Err(invalid(
                "preset",
                format!("name {name:?}: expected letters, digits, '.', '_' or '-'"),
            ));
        }
        if self.presets.has(name) {
            return Err(invalid("preset", format!("{name:?} is defined twice")));
        }
        let mut settings = Vec::new();
        for (option, value) in unique_pairs(options)? {
            match parse_setting(&option, &value, self)? {
                Some(setting) => settings.push(setting),
                None => return Err(Error::Unknown(option.into_owned())),
            }
        }
        self.presets.insert(name, settings);
        Ok(())
    }

    pub(super) fn presets_named(&self, v: &str) -> Result<Vec<&[Setting]>, Error> {
        v.split(',').map(|name| self.presets.get(name)).collect()
    }

    /// The `default` preset's settings, which every `/transform` starts from.
    pub(super) fn default_preset(&self) -> &[Setting] {
        self.presets.default_settings()
    }

    /// Whether URLs may choose presets only (`FERROTYPE_ONLY_PRESETS`).
    pub(super) fn only_presets(&self) -> bool {
        self.only_presets
    }

    pub(super) fn has_watermark(&self, name: &str) -> bool {
        self.watermarks.contains(name)
    }
}
