//! The request headers read at the edge and turned into typed values for the modules
//! behind it: today the output formats `Accept` allows, for `fm=auto`.

use http::header::ACCEPT;
use http::HeaderMap;

use crate::options::Accepts;

/// The formats `fm=auto` may choose: AVIF and WebP when the client lists them (`q=0`
/// means "not acceptable"); wildcards do not count, as browsers list the formats they
/// decode.
pub fn accepts(headers: &HeaderMap) -> Accepts {
    let items = || {
        headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
    };
    let listed = |mime: &str| {
        items().any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case(mime) && !refused
        })
    };
    Accepts {
        avif: listed("image/avif"),
        webp: listed("image/webp"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn of(values: &[&'static str]) -> Accepts {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT, HeaderValue::from_static(v));
        }
        accepts(&h)
    }

    #[test]
    fn formats_listed_and_not_refused() {
        let none = Accepts::default();
        let webp = Accepts {
            avif: false,
            webp: true,
        };
        let both = Accepts {
            avif: true,
            webp: true,
        };
        assert_eq!(of(&[]), none);
        assert_eq!(of(&["image/webp,*/*"]), webp);
        assert_eq!(of(&["image/avif,image/webp;q=0.9"]), both);
        assert_eq!(of(&["image/avif;q=0, image/webp"]), webp);
        assert_eq!(of(&["image/*,*/*;q=0.8"]), none);
        // Several header lines count as one list.
        assert_eq!(of(&["image/AVIF", "image/webp"]), both);
    }
}
