//! imgproxy's URL signature (API.md §8): `base64url(HMAC-SHA256(key, salt ‖ path))`,
//! truncated, under any of several key/salt pairs, compared in constant time.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Error;

/// One key and its salt, hex-decoded.
#[derive(Clone)]
struct Pair {
    key: Vec<u8>,
    salt: Vec<u8>,
}

/// The configured key/salt pairs; the first signs, any one verifies.
#[derive(Clone)]
pub struct ImgproxySigner {
    pairs: Arc<[Pair]>,
    /// Bytes of the HMAC kept, 1–32.
    size: usize,
}

// Keys and salts never reach logs.
impl fmt::Debug for ImgproxySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImgproxySigner")
            .field("pairs", &format_args!("<{} redacted>", self.pairs.len()))
            .field("size", &self.size)
            .finish()
    }
}

impl ImgproxySigner {
    /// `keys` and `salts` as configured (hex), paired in order; `size` bytes of the HMAC
    /// kept. Errors say which value is wrong, never what it is.
    pub fn new(keys: &[&str], salts: &[&str], size: usize) -> Result<Self, String> {
        if keys.len() != salts.len() {
            return Err(format!(
                "{} keys but {} salts: they pair in order, so the counts must match",
                keys.len(),
                salts.len()
            ));
        }
        if keys.is_empty() {
            return Err("no key and salt".into());
        }
        if !(1..=32).contains(&size) {
            return Err(format!("signature size {size} is outside 1–32"));
        }
        let pairs = keys
            .iter()
            .zip(salts)
            .enumerate()
            .map(|(i, (k, s))| {
                let hex = |v: &str, what: &str| {
                    hex::decode(v.trim())
                        .ok()
                        .filter(|b| !b.is_empty())
                        .ok_or_else(|| format!("{what} number {} is not hex", i + 1))
                };
                Ok(Pair {
                    key: hex(k, "key")?,
                    salt: hex(s, "salt")?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            pairs: pairs.into(),
            size,
        })
    }

    fn mac(pair: &Pair, path: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&pair.key)
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        mac.update(&pair.salt);
        mac.update(path.as_bytes());
        mac
    }

    /// The signature of `path` (everything after the signature segment, from its `/`)
    /// under the first pair.
    pub fn sign(&self, path: &str) -> String {
        let digest = Self::mac(&self.pairs[0], path).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&digest[..self.size])
    }

    /// Checks `signature` of `path` against every pair, in constant time.
    pub fn verify(&self, signature: &str, path: &str) -> Result<(), Error> {
        let given = URL_SAFE_NO_PAD
            .decode(signature.trim_end_matches('='))
            .map_err(|_| Error::BadSignature)?;
        if given.len() != self.size {
            return Err(Error::BadSignature);
        }
        let mut ok = false;
        for pair in self.pairs.iter() {
            // Every pair is tried, so the time taken does not say which one matched.
            ok |= Self::mac(pair, path).verify_truncated_left(&given).is_ok();
        }
        if ok {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

/// The signature segment and the path it signs (from the `/` after it) of a request path
/// under `prefix`.
pub fn split_signature<'a>(prefix: &str, path: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = path.strip_prefix(prefix)?.strip_prefix('/')?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str =
        "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png";

    #[test]
    fn imgproxy_documented_vector() {
        let s = ImgproxySigner::new(&["736563726574"], &["68656C6C6F"], 32).unwrap();
        assert_eq!(s.sign(PATH), "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8");
        assert_eq!(
            s.verify("oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8", PATH),
            Ok(())
        );
        assert!(s
            .verify("oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH9", PATH)
            .is_err());
        assert!(s
            .verify("oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8", "/x")
            .is_err());
        assert!(s.verify("not base64!", PATH).is_err());
        assert!(s.verify("", PATH).is_err());
    }

    #[test]
    fn rotation_and_truncation() {
        let old = ImgproxySigner::new(&["6f6c64"], &["73616c74"], 32).unwrap();
        let both = ImgproxySigner::new(&["6e6577", "6f6c64"], &["6e657773616c74", "73616c74"], 32)
            .unwrap();
        assert_eq!(both.verify(&old.sign(PATH), PATH), Ok(()));
        assert_eq!(both.verify(&both.sign(PATH), PATH), Ok(()));
        assert!(old.verify(&both.sign(PATH), PATH).is_err());

        let short = ImgproxySigner::new(&["736563726574"], &["68656C6C6F"], 8).unwrap();
        let sig = short.sign(PATH);
        assert_eq!(sig.len(), 11);
        assert!("oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8".starts_with(&sig[..10]));
        assert_eq!(short.verify(&sig, PATH), Ok(()));
        // The full signature is not a truncated one.
        assert!(short
            .verify("oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8", PATH)
            .is_err());
    }

    #[test]
    fn the_signature_segment() {
        assert_eq!(
            split_signature("", "/sig/w:1/plain/x"),
            Some(("sig", "/w:1/plain/x"))
        );
        assert_eq!(split_signature("/img", "/img/sig/x"), Some(("sig", "/x")));
        assert_eq!(split_signature("/img", "/sig/x"), None);
        assert_eq!(split_signature("", "/sig"), None);
    }

    #[test]
    fn configuration_mistakes() {
        assert!(ImgproxySigner::new(&["aa"], &[], 32).is_err());
        assert!(ImgproxySigner::new(&["zz"], &["aa"], 32).is_err());
        assert!(ImgproxySigner::new(&["aa"], &["aa"], 0).is_err());
        assert!(ImgproxySigner::new(&["aa"], &["aa"], 33).is_err());
        let dbg = format!("{:?}", ImgproxySigner::new(&["aa"], &["bb"], 32).unwrap());
        assert!(!dbg.contains("aa") && !dbg.contains("170"), "{dbg}");
    }
}
