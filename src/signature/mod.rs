//! URL signatures (API.md §2): the canonical form, HMAC under one of several keys, and
//! the check of a request target (signature, then expiry).
//!
//! This module knows nothing of HTTP: `http::verify` applies [`check`] (or, for imgproxy's
//! dialect, [`ImgproxySigner::verify`]) to every route that must be signed, before anything
//! else about the request is looked at.

mod imgproxy;

pub use imgproxy::{split_signature, ImgproxySigner};

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("missing or invalid signature")]
    BadSignature,
    #[error("this URL has expired")]
    Expired,
}

/// The HMAC's hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    Sha1,
    Sha256,
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sha1" => Ok(Self::Sha1),
            "sha256" => Ok(Self::Sha256),
            other => Err(format!("expected sha1 or sha256, got {other:?}")),
        }
    }
}

/// The configured keys; the first one signs, any one verifies.
#[derive(Clone)]
pub struct Signer {
    algorithm: Algorithm,
    keys: Arc<[Vec<u8>]>,
}

// Keys never reach logs, not even through a `{:?}` of the configuration.
impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm)
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .finish()
    }
}

impl Signer {
    /// `keys` must not be empty; configuration guarantees it.
    pub fn new(algorithm: Algorithm, keys: Vec<Vec<u8>>) -> Self {
        assert!(!keys.is_empty(), "a Signer needs at least one key");
        Self {
            algorithm,
            keys: keys.into(),
        }
    }

    /// The key that signs; printed only in demo mode, where it was generated.
    pub fn signing_key(&self) -> &[u8] {
        &self.keys[0]
    }

    fn mac(&self, key: &[u8], canonical: &str) -> Vec<u8> {
        match self.algorithm {
            Algorithm::Sha1 => keyed::<Hmac<Sha1>>(key, canonical)
                .finalize()
                .into_bytes()
                .to_vec(),
            Algorithm::Sha256 => keyed::<Hmac<Sha256>>(key, canonical)
                .finalize()
                .into_bytes()
                .to_vec(),
        }
    }

    /// The lowercase hex signature of `target` (path and query, raw) under the first key.
    pub fn sign(&self, target: &str) -> String {
        hex::encode(self.mac(&self.keys[0], &canonical(target)))
    }

    /// `target` with `s` replaced by its signature under the first key; the other pieces
    /// keep their order, as a person wrote them.
    pub fn signed_url(&self, target: &str) -> String {
        let sig = self.sign(target);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && piece_name(p) != "s")
            .collect();
        if kept.is_empty() {
            format!("{path}?s={sig}")
        } else {
            format!("{path}?{}&s={sig}", kept.join("&"))
        }
    }

    /// Checks `s` of a raw request target against every key in constant time.
    pub fn verify(&self, target: &str) -> Result<(), Error> {
        let given = signature_piece(target).ok_or(Error::BadSignature)?;
        // `s` is compared case-insensitively: hex decoding accepts both cases.
        let given = hex::decode(given).map_err(|_| Error::BadSignature)?;
        let canonical = canonical(target);
        let mut ok = false;
        for key in self.keys.iter() {
            // Every key is tried so the time taken does not say which one matched.
            ok |= self.verify_with(key, &canonical, &given);
        }
        if ok {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }

    fn verify_with(&self, key: &[u8], canonical: &str, given: &[u8]) -> bool {
        match self.algorithm {
            Algorithm::Sha1 => keyed::<Hmac<Sha1>>(key, canonical)
                .verify_slice(given)
                .is_ok(),
            Algorithm::Sha256 => keyed::<Hmac<Sha256>>(key, canonical)
                .verify_slice(given)
                .is_ok(),
        }
    }
}

/// An HMAC already fed with `canonical`.
fn keyed<M: Mac + KeyInit>(key: &[u8], canonical: &str) -> M {
    // HMAC accepts keys of any length, so the fallible constructor is not needed.
    let mut mac =
        <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| M::new(&Default::default()));
    mac.update(canonical.as_bytes());
    mac
}

fn piece_name(piece: &str) -> &str {
    piece.split_once('=').map_or(piece, |(name, _)| name)
}

/// The canonical form of API.md §2 for a raw request target.
pub fn canonical(target: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut pieces: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && piece_name(p) != "s")
        .collect();
    pieces.sort_unstable();
    if pieces.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", pieces.join("&"))
    }
}

/// The value of the one `s` piece; two `s` pieces are ambiguous and verify nothing.
fn signature_piece(target: &str) -> Option<&str> {
    let (_, query) = target.split_once('?')?;
    let mut found = query.split('&').filter(|p| piece_name(p) == "s");
    let first = found.next()?;
    if found.next().is_some() {
        return None;
    }
    first.split_once('=').map(|(_, v)| v)
}

/// `exp` as unix seconds when it is a plain number; anything else is the option
/// parser's to reject with a 400, after the signature has been checked.
fn expiry(target: &str) -> Option<u64> {
    let (_, query) = target.split_once('?')?;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("exp="))
        .and_then(|v| v.parse().ok())
}

/// Checks the signature, then the expiry, of a raw request target (API.md §2, §5).
pub fn check(signer: &Signer, target: &str, now: SystemTime) -> Result<(), Error> {
    signer.verify(target)?;
    if let Some(exp) = expiry(target) {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if now > exp {
            return Err(Error::Expired);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn signer(alg: Algorithm, keys: &[&str]) -> Signer {
        Signer::new(alg, keys.iter().map(|k| k.as_bytes().to_vec()).collect())
    }

    #[test]
    fn canonical_sorts_and_drops_s_and_empty_pieces() {
        assert_eq!(
            canonical("/transform/images/cat.jpg?w=600&h=600&s=abc"),
            "/transform/images/cat.jpg?h=600&w=600"
        );
        assert_eq!(canonical("/a?s=1&&b=2&"), "/a?b=2");
        assert_eq!(canonical("/a?s=1"), "/a");
        assert_eq!(canonical("/a"), "/a");
        assert_eq!(canonical("/a?"), "/a");
        // Bytewise on the raw, still-encoded pieces: '%' (0x25) sorts before 'a'.
        assert_eq!(
            canonical("/a?url=x%2Fy&a=1&%41=2"),
            "/a?%41=2&a=1&url=x%2Fy"
        );
        // A piece named `s` is dropped whether or not it has a value; `sx` is kept.
        assert_eq!(canonical("/a?s&sx=1"), "/a?sx=1");
    }

    #[test]
    fn api_md_worked_example() {
        let url = "/transform/images/cat.jpg?w=600&h=600";
        assert_eq!(
            signer(Algorithm::Sha1, &["secret"]).sign(url),
            "a553f3414679280a38bea2bb3795608c1eecbf9e"
        );
        assert_eq!(
            signer(Algorithm::Sha256, &["secret"]).sign(url),
            "cb164b078ead9f84d06a0035305c0fe03e1d4f46f7db6f653849909813803fa4"
        );
    }

    #[test]
    fn hmac_sha1_reference_vector() {
        assert_eq!(
            signer(Algorithm::Sha1, &["key"]).sign("data"),
            "104152c5bfdca07bc633eebd46199f0255c9f49d"
        );
    }

    #[test]
    fn verify_accepts_any_order_any_position_any_case() {
        let s = signer(Algorithm::Sha1, &["secret"]);
        let sig = "a553f3414679280a38bea2bb3795608c1eecbf9e";
        for target in [
            format!("/transform/images/cat.jpg?w=600&h=600&s={sig}"),
            format!("/transform/images/cat.jpg?s={sig}&h=600&w=600"),
            format!(
                "/transform/images/cat.jpg?h=600&s={}&w=600",
                sig.to_uppercase()
            ),
        ] {
            assert_eq!(s.verify(&target), Ok(()), "{target}");
        }
    }

    #[test]
    fn verify_refuses_wrong_missing_doubled_or_truncated() {
        let s = signer(Algorithm::Sha1, &["secret"]);
        let good = "a553f3414679280a38bea2bb3795608c1eecbf9e";
        for target in [
            "/transform/images/cat.jpg?w=600&h=600".to_owned(),
            "/transform/images/cat.jpg?w=600&h=601&s=a553f3414679280a38bea2bb3795608c1eecbf9e"
                .to_owned(),
            format!("/transform/images/cat.jpg?w=600&h=600&s={}", &good[..38]),
            format!("/transform/images/cat.jpg?w=600&h=600&s={good}&s={good}"),
            "/transform/images/cat.jpg?w=600&h=600&s=zz".to_owned(),
            "/transform/images/cat.jpg?w=600&h=600&s".to_owned(),
        ] {
            assert_eq!(s.verify(&target), Err(Error::BadSignature), "{target}");
        }
    }

    #[test]
    fn any_of_several_keys_verifies_and_the_first_signs() {
        let old = signer(Algorithm::Sha256, &["old"]);
        let both = signer(Algorithm::Sha256, &["new", "old"]);
        let url = old.signed_url("/info/a/b.png");
        assert_eq!(both.verify(&url), Ok(()));
        assert_ne!(both.sign("/info/a/b.png"), old.sign("/info/a/b.png"));
        assert_eq!(
            signer(Algorithm::Sha256, &["new"]).verify(&both.signed_url("/info/a/b.png")),
            Ok(())
        );
    }

    #[test]
    fn expiry_comes_after_the_signature() {
        let s = signer(Algorithm::Sha1, &["k"]);
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let past = s.signed_url("/transform/a/b.jpg?exp=999");
        let future = s.signed_url("/transform/a/b.jpg?exp=1001");
        assert_eq!(check(&s, &past, now), Err(Error::Expired));
        assert_eq!(check(&s, &future, now), Ok(()));
        assert!(future.starts_with("/transform/a/b.jpg?exp=1001&s="));
        assert_eq!(
            check(&s, "/transform/a/b.jpg?exp=999&s=00", now),
            Err(Error::BadSignature)
        );
    }
}
