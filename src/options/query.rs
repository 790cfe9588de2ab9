//! A query string split into decoded pieces.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::Error;

/// A decoded query piece: name and value.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Query pieces decoded as `application/x-www-form-urlencoded`, the signature dropped.
pub fn query_pairs(query: &str) -> Vec<Pair<'_>> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .filter(|(name, _)| *name != "s")
        .map(|(n, v)| (decode(n), decode(v)))
        .collect()
}

/// [`query_pairs`], refusing a name given twice (API.md §3: a repeated option is a 400).
pub(super) fn unique_pairs(query: &str) -> Result<Vec<Pair<'_>>, Error> {
    let pairs = query_pairs(query);
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(Error::Repeated(name.clone().into_owned()));
        }
    }
    Ok(pairs)
}

pub(super) fn decode(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        let spaced = s.replace('+', " ");
        Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
    } else {
        percent_decode_str(s).decode_utf8_lossy()
    }
}
