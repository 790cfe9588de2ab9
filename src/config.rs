//! Configuration (API.md §7): a TOML file whose keys are the `FERROTYPE_*` names in lower
//! case without the prefix, overridden by the environment, validated at start.
//!
//! Both the file and the environment go through one string parser per setting, so a value
//! means the same thing wherever it is written. Every mistake is collected and reported on
//! its own line rather than stopping at the first.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use crate::options::imgproxy::{Dialect, WATERMARK};
use crate::options::{Catalog, Format, Qualities};
use crate::signature::{Algorithm, ImgproxySigner, Signer};
use crate::source::S3Settings;

/// All the mistakes found in one configuration, one per line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct Error(pub Vec<String>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceBase {
    /// An `http(s)://…/` prefix; the request path is appended to it.
    Http(url::Url),
    /// A local directory.
    Dir(PathBuf),
    /// `s3://bucket/prefix/`: keys are the prefix and the request path.
    S3 { bucket: String, prefix: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub base: SourceBase,
}

/// imgproxy's URL dialect as configured.
#[derive(Clone, Debug)]
pub struct Imgproxy {
    pub signer: ImgproxySigner,
    /// Path prefix of its URLs: empty, or `/…` without a trailing slash.
    pub prefix: String,
    /// Where `local:///` sources are read.
    pub local_root: Option<PathBuf>,
    pub dialect: Dialect,
}

/// A host allowed for `?url=`: exact, or any subdomain of a `*.` suffix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    Suffix(String),
}

impl HostPattern {
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self {
            Self::Exact(h) => host == *h,
            Self::Suffix(s) => host.len() > s.len() + 1 && host.ends_with(&format!(".{s}")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub signer: Signer,
    pub sources: Vec<Source>,
    pub allowed_hosts: Vec<HostPattern>,
    pub allowed_networks: Vec<IpNet>,
    pub cache_dir: PathBuf,
    pub cache_max_bytes: u64,
    pub max_source_bytes: u64,
    pub max_source_pixels: u64,
    pub max_frames: u32,
    pub fetch_timeout: Duration,
    pub render_timeout: Duration,
    pub workers: usize,
    pub queue: usize,
    pub chromium: PathBuf,
    pub browser_tabs: usize,
    pub cache_control: String,
    pub result_cache_bytes: u64,
    pub metrics_bind: Option<SocketAddr>,
    /// Default quality per output format.
    pub quality: Qualities,
    /// Presets and watermark names, what URLs may refer to.
    pub catalog: Catalog,
    /// Watermark images by name, read and decoded at start.
    pub watermarks: Vec<(String, PathBuf)>,
    /// Pango font description for `wm_text`.
    pub font: String,
    /// imgproxy's URL dialect (API.md §8), when its keys are configured.
    pub imgproxy: Option<Imgproxy>,
    /// How S3 buckets are reached.
    pub s3: S3Settings,
    /// Buckets imgproxy's `s3://bucket/key` sources may read.
    pub s3_buckets: Vec<String>,
    /// `FERROTYPE_RESULT_STORAGE`: the bucket and prefix responses are shared through.
    pub result_storage: Option<(String, String)>,
    /// Set when no configuration was given: loopback only, a generated key, bundled samples.
    pub demo: bool,
}

const PREFIX: &str = "FERROTYPE_";

/// Every setting's name, lower case without the prefix, as the TOML file spells it.
const KEYS: &[&str] = &[
    "bind",
    "keys",
    "signature",
    "sources",
    "allowed_hosts",
    "allowed_networks",
    "cache_dir",
    "cache_max_bytes",
    "max_source_bytes",
    "max_source_pixels",
    "max_frames",
    "fetch_timeout_ms",
    "render_timeout_ms",
    "workers",
    "queue",
    "chromium",
    "browser_tabs",
    "cache_control",
    "result_cache_bytes",
    "metrics_bind",
    "quality",
    "presets",
    "only_presets",
    "watermarks",
    "font",
    "imgproxy_key",
    "imgproxy_salt",
    "imgproxy_signature_size",
    "imgproxy_prefix",
    "imgproxy_local_root",
    "imgproxy_presets",
    "imgproxy_auto_formats",
    "s3_endpoint",
    "s3_region",
    "s3_path_style",
    "s3_buckets",
    "result_storage",
];

/// Where each raw setting came from, for error messages.
struct Raw {
    values: BTreeMap<&'static str, (String, String)>,
    errors: Vec<String>,
}

impl Raw {
    fn get(&self, key: &str) -> Option<(&str, &str)> {
        self.values
            .get(key)
            .map(|(origin, v)| (origin.as_str(), v.as_str()))
    }
}

impl Config {
    /// Reads `file` (if any) and the process environment, for the server.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        Self::load_for(file, Purpose::Serve)
    }

    /// The same, for `purpose`.
    pub fn load_for(file: Option<&Path>, purpose: Purpose) -> Result<Self, Error> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let text = match file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| Error(vec![format!("{}: {e}", path.display())]))?,
            ),
            None => None,
        };
        Self::from_parts_for(file.zip(text.as_deref()), &env, purpose)
    }

    /// Builds a server's configuration from a file's name and text and environment pairs.
    pub fn from_parts(
        file: Option<(&Path, &str)>,
        env: &[(String, String)],
    ) -> Result<Self, Error> {
        Self::from_parts_for(file, env, Purpose::Serve)
    }

    /// The same, for `purpose`.
    pub fn from_parts_for(
        file: Option<(&Path, &str)>,
        env: &[(String, String)],
        purpose: Purpose,
    ) -> Result<Self, Error> {
        let mut raw = Raw {
            values: BTreeMap::new(),
            errors: Vec::new(),
        };
        if let Some((path, text)) = file {
            read_toml(path, text, &mut raw);
        }
        let mut from_env = false;
        for (name, value) in env {
            let Some(key) = name.strip_prefix(PREFIX) else {
                continue;
            };
            let lower = key.to_ascii_lowercase();
            match KEYS.iter().find(|k| **k == lower) {
                Some(k) => {
                    from_env = true;
                    raw.values.insert(k, (name.clone(), value.clone()));
                }
                // The log settings belong to the logger, read before configuration.
                None if lower.starts_with("log") => {}
                None => raw.errors.push(format!(
                    "{name}: unknown setting (known: {})",
                    KEYS.iter()
                        .map(|k| format!("{PREFIX}{}", k.to_ascii_uppercase()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        let demo = purpose == Purpose::Serve && file.is_none() && !from_env;
        build(&mut raw, demo, purpose)
    }
}

/// What the configuration is read for: `serve` needs signing keys (or runs the demo without
/// any configuration); `convert` signs nothing and has no demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Serve,
    Convert,
}

fn read_toml(path: &Path, text: &str, raw: &mut Raw) {
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let msg = e.message().to_owned();
            raw.errors
                .push(format!("{}: not valid TOML: {msg}", path.display()));
            return;
        }
    };
    for (key, value) in table {
        let Some(k) = KEYS.iter().find(|k| **k == key) else {
            raw.errors.push(format!(
                "{}: unknown key {key:?} (known: {})",
                path.display(),
                KEYS.join(", ")
            ));
            continue;
        };
        let text = match value {
            // `[presets]`, one key per preset, into FERROTYPE_PRESETS's `name=options;…`
            // (a `;` in the options is the same, percent-encoded, to the query parser).
            toml::Value::Table(presets) if key == "presets" => {
                let mut items = Vec::new();
                for (name, options) in presets {
                    match options.as_str() {
                        Some(o) => items.push(format!("{name}={}", o.replace(';', "%3B"))),
                        None => raw.errors.push(format!(
                            "{}: presets.{name}: expected a string of options",
                            path.display()
                        )),
                    }
                }
                items.join(";")
            }
            toml::Value::String(s) => s,
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Array(items) => {
                let strings: Option<Vec<String>> = items
                    .into_iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect();
                match strings {
                    Some(s) => s.join(","),
                    None => {
                        raw.errors.push(format!(
                            "{}: {key}: expected an array of strings",
                            path.display()
                        ));
                        continue;
                    }
                }
            }
            other => {
                raw.errors.push(format!(
                    "{}: {key}: expected a string or a number, got {}",
                    path.display(),
                    other.type_str()
                ));
                continue;
            }
        };
        raw.values
            .insert(k, (format!("{}: {key}", path.display()), text));
    }
}

fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Parses one setting, or records why it could not be and yields `default`.
fn setting<T>(
    raw: &mut Raw,
    key: &str,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> T {
    let Some((origin, value)) = raw.get(key) else {
        return default;
    };
    match parse(value) {
        Ok(v) => v,
        Err(e) => {
            let line = format!("{origin}: {e}");
            raw.errors.push(line);
            default
        }
    }
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    min: T,
) -> impl FnOnce(&str) -> Result<T, String> {
    move |v| {
        let n: T = v
            .trim()
            .parse()
            .map_err(|_| format!("expected a whole number, got {v:?}"))?;
        if n < min {
            return Err(format!("must be at least {min}"));
        }
        Ok(n)
    }
}

fn parse_sources(v: &str) -> Result<Vec<Source>, String> {
    let mut out: Vec<Source> = Vec::new();
    for item in list(v) {
        let (name, base) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?}: expected name=base"))?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(format!(
                "{item:?}: a source name is letters, digits, '-', '_' or '.'"
            ));
        }
        if out.iter().any(|s| s.name == name) {
            return Err(format!("source {name:?} is defined twice"));
        }
        let base = base.trim();
        let parsed = url::Url::parse(base).map_err(|e| format!("{item:?}: {e}"))?;
        let base = match parsed.scheme() {
            "http" | "https" => {
                if !base.ends_with('/') {
                    return Err(format!("{item:?}: an http(s) base must end with '/'"));
                }
                SourceBase::Http(parsed)
            }
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|_| format!("{item:?}: expected file:///absolute/dir"))?;
                SourceBase::Dir(dir)
            }
            "s3" => s3_base(base).map_err(|e| format!("{item:?}: {e}"))?,
            other => {
                return Err(format!(
                    "{item:?}: scheme {other:?} is not http, https, file or s3"
                ))
            }
        };
        out.push(Source {
            name: name.to_owned(),
            base,
        });
    }
    Ok(out)
}

/// `s3://bucket/` or `s3://bucket/prefix/` (the prefix ends with `/`, or is empty).
fn s3_base(base: &str) -> Result<SourceBase, String> {
    let rest = base.strip_prefix("s3://").unwrap_or(base);
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    if !valid_bucket {
        return Err(format!("{bucket:?} is not an S3 bucket name"));
    }
    if !prefix.is_empty() && !prefix.ends_with('/') {
        return Err("an s3 prefix must end with '/'".into());
    }
    Ok(SourceBase::S3 {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
    })
}

fn parse_hosts(v: &str) -> Result<Vec<HostPattern>, String> {
    list(v)
        .map(|h| {
            let h = h.to_ascii_lowercase();
            let h = h.trim_start_matches('[').trim_end_matches(']').to_owned();
            match h.strip_prefix("*.") {
                Some(s) if !s.is_empty() && !s.contains('*') => {
                    Ok(HostPattern::Suffix(s.to_owned()))
                }
                _ if h.contains('*')
                    || h.contains('/')
                    || h.contains(':') && h.parse::<IpAddr>().is_err() =>
                {
                    Err(format!(
                        "{h:?}: expected a host name, an IP literal or *.domain"
                    ))
                }
                _ => Ok(HostPattern::Exact(h)),
            }
        })
        .collect()
}

fn parse_networks(v: &str) -> Result<Vec<IpNet>, String> {
    list(v)
        .map(|n| {
            n.parse::<IpNet>()
                .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{n:?} is not a CIDR like 127.0.0.0/8 or fd00::/8"))
        })
        .collect()
}

fn parse_bind(v: &str) -> Result<SocketAddr, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{v:?} is not an address like 127.0.0.1:8080"))
}

fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("ferrotype")
}

fn build(raw: &mut Raw, demo: bool, purpose: Purpose) -> Result<Config, Error> {
    let default_bind = SocketAddr::from(([127, 0, 0, 1], 8080));
    let bind = setting(raw, "bind", default_bind, parse_bind);
    let algorithm = setting(raw, "signature", Algorithm::Sha1, |v| v.trim().parse());
    let keys: Vec<Vec<u8>> = setting(raw, "keys", Vec::new(), |v| {
        Ok(list(v).map(|k| k.as_bytes().to_vec()).collect())
    });
    let sources = setting(raw, "sources", Vec::new(), parse_sources);
    let allowed_hosts = setting(raw, "allowed_hosts", Vec::new(), parse_hosts);
    let allowed_networks = setting(raw, "allowed_networks", Vec::new(), parse_networks);
    let cache_dir = setting(raw, "cache_dir", default_cache_dir(), |v| {
        Ok(PathBuf::from(v))
    });
    let cache_max_bytes = setting(raw, "cache_max_bytes", 10 << 30, number(1u64));
    let max_source_bytes = setting(raw, "max_source_bytes", 50 << 20, number(1u64));
    let max_source_pixels = setting(raw, "max_source_pixels", 50_000_000, number(1u64));
    let max_frames = setting(raw, "max_frames", 200, number(1u32));
    let fetch_ms = setting(raw, "fetch_timeout_ms", 5000, number(1u64));
    let render_ms = setting(raw, "render_timeout_ms", 15000, number(1u64));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = setting(raw, "workers", cores, number(1usize));
    let queue = setting(raw, "queue", 64, number(0usize));
    let chromium = setting(raw, "chromium", PathBuf::from("/usr/bin/chromium"), |v| {
        Ok(PathBuf::from(v))
    });
    let browser_tabs = setting(raw, "browser_tabs", 2, number(1usize));
    let cache_control = setting(
        raw,
        "cache_control",
        "public, max-age=31536000, immutable".to_owned(),
        |v| {
            http::HeaderValue::from_str(v)
                .map(|_| v.to_owned())
                .map_err(|_| format!("{v:?} is not a valid header value"))
        },
    );
    let result_cache_bytes = setting(raw, "result_cache_bytes", 256 << 20, number(0u64));
    let metrics_bind = setting(raw, "metrics_bind", None, |v| {
        if v.trim().is_empty() {
            Ok(None)
        } else {
            parse_bind(v).map(Some)
        }
    });

    let quality = setting(raw, "quality", Qualities::default(), Qualities::parse);
    let watermarks = setting(raw, "watermarks", Vec::new(), parse_watermarks);
    let only_presets = setting(raw, "only_presets", false, boolean);
    let catalog = Catalog::new(watermarks.iter().map(|(n, _)| n.clone()), only_presets);
    let catalog = setting(raw, "presets", catalog.clone(), |v| {
        parse_presets(catalog, v)
    });
    let font = setting(raw, "font", "sans bold".to_owned(), |v| {
        let v = v.trim();
        if v.is_empty() {
            Err("expected a Pango font description such as \"sans bold\"".into())
        } else {
            Ok(v.to_owned())
        }
    });

    let imgproxy = imgproxy(raw, watermarks.iter().any(|(n, _)| n == WATERMARK));

    let s3 = s3_settings(raw);
    let s3_buckets = setting(raw, "s3_buckets", Vec::new(), |v| {
        Ok(list(v).map(str::to_owned).collect())
    });
    let result_storage = setting(raw, "result_storage", None, |v| {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        if !v.starts_with("s3://") {
            return Err(format!("{v:?}: expected s3://bucket/prefix/"));
        }
        match s3_base(v)? {
            SourceBase::S3 { bucket, prefix } => Ok(Some((bucket, prefix))),
            _ => Err(format!("{v:?}: expected s3://bucket/prefix/")),
        }
    });

    // `convert` signs and verifies nothing: a random key stands in, as in demo mode.
    let stand_in = demo || (purpose == Purpose::Convert && keys.is_empty());
    let keys = if stand_in { vec![demo_key()] } else { keys };
    if keys.is_empty() && purpose == Purpose::Serve {
        raw.errors.push(format!(
            "{PREFIX}KEYS: no signing key configured; set at least one (outside demo mode the server refuses to start without one)"
        ));
    }
    if !raw.errors.is_empty() {
        return Err(Error(std::mem::take(&mut raw.errors)));
    }
    Ok(Config {
        bind,
        signer: Signer::new(algorithm, keys),
        sources,
        allowed_hosts,
        allowed_networks,
        cache_dir,
        cache_max_bytes,
        max_source_bytes,
        max_source_pixels,
        max_frames,
        fetch_timeout: Duration::from_millis(fetch_ms),
        render_timeout: Duration::from_millis(render_ms),
        workers,
        queue,
        chromium,
        browser_tabs,
        cache_control,
        result_cache_bytes,
        metrics_bind,
        quality,
        catalog,
        watermarks,
        font,
        imgproxy,
        s3,
        s3_buckets,
        result_storage,
        demo,
    })
}

/// `FERROTYPE_S3_ENDPOINT`, `_REGION` (else `AWS_REGION`, else us-east-1), `_PATH_STYLE`
/// (on when an endpoint is set).
fn s3_settings(raw: &mut Raw) -> S3Settings {
    let endpoint = setting(raw, "s3_endpoint", None, |v| {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        url::Url::parse(v)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|_| Some(v.trim_end_matches('/').to_owned()))
            .ok_or_else(|| format!("{v:?} is not an http(s) URL"))
    });
    let region = setting(raw, "s3_region", None, |v| Ok(Some(v.trim().to_owned())))
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let path_style = setting(raw, "s3_path_style", endpoint.is_some(), boolean);
    S3Settings {
        endpoint,
        region,
        path_style,
    }
}

/// API.md §7's `FERROTYPE_IMGPROXY_*`: on when both keys and salts are set.
fn imgproxy(raw: &mut Raw, has_watermark: bool) -> Option<Imgproxy> {
    let text = |raw: &Raw, key: &str| raw.get(key).map(|(_, v)| v.to_owned());
    let size = setting(raw, "imgproxy_signature_size", 32, |v| {
        let n = number(1usize)(v)?;
        if n > 32 {
            return Err(format!("{n} is over 32 (an HMAC-SHA256 has 32 bytes)"));
        }
        Ok(n)
    });
    let prefix = setting(raw, "imgproxy_prefix", String::new(), |v| {
        let v = v.trim().trim_end_matches('/');
        if v.is_empty() || (v.starts_with('/') && !v.contains(['?', '#', ' '])) {
            Ok(v.to_owned())
        } else {
            Err(format!("expected a path such as /img, got {v:?}"))
        }
    });
    let local_root = setting(raw, "imgproxy_local_root", None, |v| {
        let dir = PathBuf::from(v.trim());
        if dir.is_dir() {
            Ok(Some(dir))
        } else {
            Err(format!("{v:?} is not a directory"))
        }
    });
    let auto_formats = setting(raw, "imgproxy_auto_formats", Vec::new(), |v| {
        list(v)
            .map(|f| match f {
                "avif" => Ok(Format::Avif),
                "webp" => Ok(Format::Webp),
                other => Err(format!("{other:?}: expected avif or webp")),
            })
            .collect()
    });
    let dialect = setting(
        raw,
        "imgproxy_presets",
        Dialect::new(auto_formats.clone(), has_watermark),
        |v| {
            let mut dialect = Dialect::new(auto_formats.clone(), has_watermark);
            each_preset(list(v), |name, options| dialect.add_preset(name, options))?;
            Ok(dialect)
        },
    );
    let (keys, salts) = (text(raw, "imgproxy_key"), text(raw, "imgproxy_salt"));
    let (keys, salts) = match (keys, salts) {
        (None, None) => return None,
        (Some(k), Some(s)) => (k, s),
        (Some(_), None) | (None, Some(_)) => {
            raw.errors.push(format!(
                "{PREFIX}IMGPROXY_KEY and {PREFIX}IMGPROXY_SALT: set both (with as many values each) or neither"
            ));
            return None;
        }
    };
    let keys: Vec<&str> = list(&keys).collect();
    let salts: Vec<&str> = list(&salts).collect();
    match ImgproxySigner::new(&keys, &salts, size) {
        Ok(signer) => Some(Imgproxy {
            signer,
            prefix,
            local_root,
            dialect,
        }),
        Err(e) => {
            raw.errors
                .push(format!("{PREFIX}IMGPROXY_KEY, {PREFIX}IMGPROXY_SALT: {e}"));
            None
        }
    }
}

/// `name=file:///path,…`: the names checked, the files read later (at start, by the app).
fn parse_watermarks(v: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for item in list(v) {
        let (name, location) = item
            .split_once('=')
            .ok_or_else(|| format!("expected name=file:///path, got {item:?}"))?;
        let name = name.trim();
        if name.is_empty() || out.iter().any(|(n, _)| n == name) {
            return Err(format!("watermark name {name:?} is empty or given twice"));
        }
        let path = url::Url::parse(location.trim())
            .ok()
            .filter(|u| u.scheme() == "file")
            .and_then(|u| u.to_file_path().ok())
            .ok_or_else(|| format!("{name}: expected a file:///absolute/path, got {location:?}"))?;
        out.push((name.to_owned(), path));
    }
    Ok(out)
}

/// `name=options;…`, each preset's options parsed now: a bad one stops the start.
fn parse_presets(mut catalog: Catalog, v: &str) -> Result<Catalog, String> {
    let items = v.split(';').map(str::trim).filter(|s| !s.is_empty());
    each_preset(items, |name, options| catalog.add_preset(name, options))?;
    Ok(catalog)
}

/// `name=options` items handed to `add`, each mistake a line naming its preset.
fn each_preset<'a, E: std::fmt::Display>(
    items: impl Iterator<Item = &'a str>,
    mut add: impl FnMut(&str, &str) -> Result<(), E>,
) -> Result<(), String> {
    for item in items {
        let (name, options) = item
            .split_once('=')
            .ok_or_else(|| format!("expected name=options, got {item:?}"))?;
        add(name.trim(), options.trim()).map_err(|e| format!("preset {:?}: {e}", name.trim()))?;
    }
    Ok(())
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// A random key for demo mode, printable so the example URLs can be re-signed by hand.
fn demo_key() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    // Without an OS random source a fixed demo key is still safe: demo mode binds loopback only.
    if getrandom::fill(&mut bytes).is_err() {
        return b"ferrotype-demo".to_vec();
    }
    hex::encode(bytes).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nothing_configured_is_demo_mode() {
        let c = Config::from_parts(None, &env(&[("PATH", "/bin")])).unwrap();
        assert!(c.demo);
        assert_eq!(c.bind, "127.0.0.1:8080".parse().unwrap());
    }

    #[test]
    fn environment_overrides_the_file() {
        let toml = "bind = \"127.0.0.1:9000\"\nkeys = [\"a\", \"b\"]\nworkers = 3\nsources = \"img=https://cdn.example.com/i/, local=file:///srv/img\"\n";
        let c = Config::from_parts(
            Some((Path::new("f.toml"), toml)),
            &env(&[("FERROTYPE_WORKERS", "5")]),
        )
        .unwrap();
        assert!(!c.demo);
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.workers, 5);
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[1].base, SourceBase::Dir("/srv/img".into()));
    }

    #[test]
    fn every_mistake_gets_its_own_line() {
        let toml = "bindd = \"x\"\nworkers = \"many\"\n";
        let err = Config::from_parts(
            Some((Path::new("f.toml"), toml)),
            &env(&[
                ("FERROTYPE_ALLOWED_NETWORKS", "10.0.0.0/33"),
                ("FERROTYPE_SOURCES", "x=ftp://a/"),
            ]),
        )
        .unwrap_err();
        let lines = err.0;
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains("unknown key \"bindd\"")));
        assert!(lines.iter().any(|l| l.contains("f.toml: workers")));
        assert!(lines
            .iter()
            .any(|l| l.contains("FERROTYPE_ALLOWED_NETWORKS") && l.contains("CIDR")));
        assert!(lines.iter().any(|l| l.contains("FERROTYPE_SOURCES")));
        assert!(lines.iter().any(|l| l.contains("FERROTYPE_KEYS")));
    }

    #[test]
    fn presets_from_a_toml_table_or_the_environment() {
        let toml = "keys = [\"k\"]\nwatermarks = \"logo=file:///srv/logo.png\"\nquality = \"jpeg=70\"\nonly_presets = true\n\n[presets]\nthumb = \"w=200&h=200&fit=cover\"\nmarked = \"wm=logo&wm_text=a;b\"\n";
        let parse = |env: &[(&str, &str)]| {
            Config::from_parts(Some((Path::new("f.toml"), toml)), &super::tests::env(env))
        };
        let c = parse(&[]).unwrap();
        assert_eq!(c.quality.jpeg, 70);
        assert_eq!(
            c.watermarks,
            vec![("logo".to_owned(), PathBuf::from("/srv/logo.png"))]
        );
        let spec = |c: &Config, q: &str| c.catalog.parse_transform("/transform/s/a.jpg", q);
        assert_eq!(spec(&c, "preset=thumb").unwrap().spec.width, Some(200));
        let marked = spec(&c, "preset=marked").unwrap().spec;
        assert_eq!(marked.watermark.text.as_deref(), Some("a;b"));
        assert!(spec(&c, "w=10").is_err(), "only presets");
        // The environment replaces the file's table.
        let c = parse(&[("FERROTYPE_PRESETS", "wide=w=900")]).unwrap();
        assert!(spec(&c, "preset=thumb").is_err());
        assert_eq!(spec(&c, "preset=wide").unwrap().spec.width, Some(900));
        // A bad preset is a line of its own, naming it.
        let err = parse(&[("FERROTYPE_PRESETS", "x=w=1;bad=fit=crop")]).unwrap_err();
        assert!(
            err.0.iter().any(|l| l.contains("FERROTYPE_PRESETS")
                && l.contains("\"bad\"")
                && l.contains("fit")),
            "{err}"
        );
    }

    #[test]
    fn host_patterns() {
        let hosts = parse_hosts("example.com, *.cdn.net, 127.0.0.1").unwrap();
        assert!(hosts[0].matches("EXAMPLE.com."));
        assert!(!hosts[0].matches("a.example.com"));
        assert!(hosts[1].matches("a.cdn.net"));
        assert!(!hosts[1].matches("cdn.net"));
        assert!(!hosts[1].matches("evilcdn.net"));
        assert!(hosts[2].matches("127.0.0.1"));
        assert!(parse_hosts("a.*.com").is_err());
    }
}
