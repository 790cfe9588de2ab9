//! Named presets, each a list of typed settings parsed once at start, for any dialect:
//! defined once each, looked up by name, and `default` applied to every URL first.

use std::collections::BTreeMap;

use super::setting::Setting;
use super::{invalid, Error};

/// The preset that applies to every URL of its dialect (API.md §3, §8).
const DEFAULT: &str = "default";

#[derive(Clone, Debug, Default)]
pub(super) struct Presets(BTreeMap<String, Vec<Setting>>);

impl Presets {
    /// Whether `name` is taken.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Adds `name`; the caller checked that it was not taken.
    pub fn insert(&mut self, name: &str, settings: Vec<Setting>) {
        self.0.insert(name.to_owned(), settings);
    }

    /// The settings of preset `name`.
    pub fn get(&self, name: &str) -> Result<&[Setting], Error> {
        self.0
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| invalid("preset", format!("unknown preset {name:?}")))
    }

    /// The `default` preset's settings, which every URL starts from.
    pub fn default_settings(&self) -> &[Setting] {
        self.0.get(DEFAULT).map_or(&[], Vec::as_slice)
    }
}
