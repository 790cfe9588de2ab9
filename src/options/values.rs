//! One parser per kind of value, shared by the dialects; each error names the option.

use super::{invalid, Error};

pub(super) fn int_in(name: &'static str, v: &str, min: u32, max: u32) -> Result<u32, Error> {
    let n: u32 = v.parse().map_err(|_| {
        invalid(
            name,
            format!("expected a whole number {min}–{max}, got {v:?}"),
        )
    })?;
    if !(min..=max).contains(&n) {
        return Err(invalid(name, format!("{n} is outside {min}–{max}")));
    }
    Ok(n)
}

pub(super) fn float_in(name: &'static str, v: &str, min: f64, max: f64) -> Result<f64, Error> {
    let n: f64 = v
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| invalid(name, format!("expected a number {min}–{max}, got {v:?}")))?;
    if !(min..=max).contains(&n) {
        return Err(invalid(name, format!("{n} is outside {min}–{max}")));
    }
    Ok(n)
}

/// A two-valued option: `off` or `on`, nothing else.
pub(super) fn switch(name: &'static str, v: &str, off: &str, on: &str) -> Result<bool, Error> {
    match v {
        _ if v == off => Ok(false),
        _ if v == on => Ok(true),
        _ => Err(invalid(name, format!("expected {off} or {on}, got {v:?}"))),
    }
}

pub(super) fn flag(name: &'static str, v: &str) -> Result<bool, Error> {
    switch(name, v, "0", "1")
}

pub(super) fn boolean(name: &'static str, v: &str) -> Result<bool, Error> {
    switch(name, v, "false", "true")
}

pub(super) fn parse_filename(v: &str) -> Result<String, Error> {
    if v.is_empty() || v.chars().count() > 255 {
        return Err(invalid("filename", "expected 1–255 characters"));
    }
    if v.chars().any(|c| c.is_control() || matches!(c, '/' | '\\')) {
        return Err(invalid(
            "filename",
            "control characters and slashes are not allowed",
        ));
    }
    Ok(v.to_owned())
}

pub(super) fn parse_version(v: &str) -> Result<String, Error> {
    let ok = (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(
            "v",
            "expected 1–64 characters of A-Z a-z 0-9 . _ -",
        ))
    }
}

pub(super) fn parse_url(v: &str) -> Result<url::Url, Error> {
    let u = url::Url::parse(v).map_err(|e| invalid("url", format!("not an absolute URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(invalid(
            "url",
            format!("scheme {:?} is not http or https", u.scheme()),
        ));
    }
    if u.host().is_none() {
        return Err(invalid("url", "no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(invalid("url", "credentials in the URL are not allowed"));
    }
    Ok(u)
}
