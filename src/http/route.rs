//! The route table: which endpoint a request is for, decided once per request, in the
//! outermost layer, and carried as a request extension. Dispatch, the signature
//! requirement and the log/metrics label all read that one decision, so they cannot
//! disagree about a path.
//!
//! Adding an endpoint is a row in [`ENDPOINTS`] and an arm in `http::dispatch`, which the
//! compiler asks for.

use std::sync::Arc;

use http::Request;

/// An endpoint, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    Transform,
    Screenshot,
    Info,
    Health,
    Ready,
    Metrics,
    /// `/`, demo mode's gallery page; served only by a listener that has one.
    Gallery,
    /// imgproxy's dialect (API.md §8): any other path under its prefix, when configured.
    Imgproxy,
    /// No endpoint: 404, never signed, labelled `other`.
    NotFound,
}

/// A row of the route table.
struct Endpoint {
    route: Route,
    /// The path, and the label of logs and metrics.
    path: &'static str,
    /// Whether `{path}/…` belongs to the endpoint too.
    subpaths: bool,
    /// Whether its URLs carry a signature (API.md §2).
    signed: bool,
}

const ENDPOINTS: [Endpoint; 7] = [
    Endpoint {
        route: Route::Transform,
        path: "/transform",
        subpaths: true,
        signed: true,
    },
    Endpoint {
        route: Route::Info,
        path: "/info",
        subpaths: true,
        signed: true,
    },
    Endpoint {
        route: Route::Screenshot,
        path: "/screenshot",
        subpaths: false,
        signed: true,
    },
    Endpoint {
        route: Route::Health,
        path: "/health",
        subpaths: false,
        signed: false,
    },
    Endpoint {
        route: Route::Ready,
        path: "/ready",
        subpaths: false,
        signed: false,
    },
    Endpoint {
        route: Route::Metrics,
        path: "/metrics",
        subpaths: false,
        signed: false,
    },
    Endpoint {
        route: Route::Gallery,
        path: "/",
        subpaths: false,
        signed: false,
    },
];

impl Route {
    /// The route decided for `req` by [`Routes::route`]; a request that went around it
    /// reaches no endpoint.
    pub fn of<B>(req: &Request<B>) -> Self {
        req.extensions().get().copied().unwrap_or(Self::NotFound)
    }

    fn endpoint(self) -> Option<&'static Endpoint> {
        ENDPOINTS.iter().find(|e| e.route == self)
    }

    /// The label of logs and metrics: a closed set, nothing taken from the client.
    pub fn label(self) -> &'static str {
        match self {
            Self::Imgproxy => "imgproxy",
            _ => self.endpoint().map_or("other", |e| e.path),
        }
    }

    /// Whether requests to it must carry ferrotype's signature (API.md §2); imgproxy's
    /// dialect carries its own.
    pub fn signed(self) -> bool {
        self.endpoint().is_some_and(|e| e.signed)
    }
}

/// Which routes one listener serves: the main one serves every endpoint (`/metrics` unless
/// it has an address of its own, `/` only in demo mode), the metrics listener only
/// `/metrics`.
#[derive(Clone, Debug)]
pub struct Routes {
    metrics: bool,
    gallery: bool,
    everything_else: bool,
    /// imgproxy's prefix, when the dialect is on.
    imgproxy: Option<Arc<str>>,
}

impl Routes {
    /// The main listener; `metrics` is false when `/metrics` has its own address.
    pub fn main(metrics: bool) -> Self {
        Self {
            metrics,
            gallery: false,
            everything_else: true,
            imgproxy: None,
        }
    }

    /// The same, serving demo mode's gallery at `/` when `gallery` is true.
    pub fn with_gallery(self, gallery: bool) -> Self {
        Self { gallery, ..self }
    }

    /// `FERROTYPE_METRICS_BIND`'s listener.
    pub fn metrics_only() -> Self {
        Self {
            metrics: true,
            gallery: false,
            everything_else: false,
            imgproxy: None,
        }
    }

    /// The same, serving imgproxy's dialect under `prefix` (empty: the root).
    pub fn with_imgproxy(self, prefix: Option<&str>) -> Self {
        Self {
            imgproxy: prefix.map(Arc::from),
            ..self
        }
    }

    /// `req` with its route attached, for the layers and the dispatch after it.
    pub fn route<B>(&self, mut req: Request<B>) -> Request<B> {
        let route = self.decide(req.uri().path());
        req.extensions_mut().insert(route);
        req
    }

    /// The route of a request path (without its query).
    pub fn decide(&self, path: &str) -> Route {
        let found = ENDPOINTS.iter().find(|e| {
            path == e.path
                || (e.subpaths
                    && path
                        .strip_prefix(e.path)
                        .is_some_and(|rest| rest.starts_with('/')))
        });
        match found.map(|e| e.route) {
            Some(Route::Metrics) if self.metrics => Route::Metrics,
            Some(Route::Metrics) => Route::NotFound,
            _ if !self.everything_else => Route::NotFound,
            Some(Route::Gallery) if !self.gallery => Route::NotFound,
            None if self.imgproxy_path(path) => Route::Imgproxy,
            None => Route::NotFound,
            Some(route) => route,
        }
    }
}

impl Routes {
    /// `{prefix}/{signature}/{something}`: imgproxy's shape, under its prefix.
    fn imgproxy_path(&self, path: &str) -> bool {
        self.imgproxy.as_deref().is_some_and(|prefix| {
            path.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| {
                    rest.split_once('/')
                        .is_some_and(|(sig, more)| !sig.is_empty() && !more.is_empty())
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_decision_for_dispatch_signature_and_label() {
        let main = Routes::main(true);
        for (path, route, label, signed) in [
            ("/transform", Route::Transform, "/transform", true),
            (
                "/transform/demo/a.jpg",
                Route::Transform,
                "/transform",
                true,
            ),
            ("/info/x/y.png", Route::Info, "/info", true),
            ("/screenshot", Route::Screenshot, "/screenshot", true),
            // Not an endpoint, so neither signed nor labelled as one.
            ("/screenshot/x", Route::NotFound, "other", false),
            ("/transformer", Route::NotFound, "other", false),
            ("/health", Route::Health, "/health", false),
            ("/health/x", Route::NotFound, "other", false),
            ("/metrics", Route::Metrics, "/metrics", false),
            // Outside demo mode, no page at the root.
            ("/", Route::NotFound, "other", false),
            ("/wp-admin/x", Route::NotFound, "other", false),
        ] {
            let got = main.decide(path);
            assert_eq!(got, route, "{path}");
            assert_eq!(got.label(), label, "{path}");
            assert_eq!(got.signed(), signed, "{path}");
        }
    }

    #[test]
    fn the_gallery_is_the_root_only_in_demo_mode() {
        let demo = Routes::main(true).with_gallery(true);
        assert_eq!(demo.decide("/"), Route::Gallery);
        assert_eq!(Route::Gallery.label(), "/");
        assert!(!Route::Gallery.signed());
        for path in ["/x", "//", "/index.html"] {
            assert_eq!(demo.decide(path), Route::NotFound, "{path}");
        }
        assert_eq!(demo.decide("/health"), Route::Health);
        assert_eq!(Routes::main(true).decide("/"), Route::NotFound);
        assert_eq!(
            Routes::metrics_only().with_gallery(true).decide("/"),
            Route::NotFound
        );
    }

    #[test]
    fn metrics_served_where_configured() {
        assert_eq!(Routes::main(false).decide("/metrics"), Route::NotFound);
        let only = Routes::metrics_only();
        assert_eq!(only.decide("/metrics"), Route::Metrics);
        assert_eq!(only.decide("/transform/a/b.jpg"), Route::NotFound);
        assert_eq!(only.decide("/health"), Route::NotFound);
    }
}
