//! The signature requirement (API.md §2, §5, §8) as a tower layer: every request whose
//! [`Route`] is signed is checked — signature, then expiry — before the inner service
//! runs (imgproxy's dialect: its own signature here, its expiry with its options), so an unsigned URL learns nothing else about the server: not whether its options
//! parse, not whether the source exists, not even whether it has expired.
//!
//! ```
//! use ferrotype::http::route::Routes;
//! use ferrotype::http::verify;
//! use ferrotype::signature::{Algorithm, Signer};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let signer = Signer::new(Algorithm::Sha1, vec![b"secret".to_vec()]);
//! let svc = ServiceBuilder::new()
//!     .map_request(|req: http::Request<()>| Routes::main(true).route(req))
//!     .layer(verify::layer(signer.clone()))
//!     .service(service_fn(|_| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Default::default()))
//!     }));
//! let get = |uri: String| http::Request::get(uri).body(()).unwrap();
//! let refused = svc.clone().oneshot(get("/transform/a/b.jpg?w=1".into())).await.unwrap();
//! assert_eq!(refused.status(), 403);
//! let signed = signer.signed_url("/transform/a/b.jpg?w=1");
//! assert_eq!(svc.clone().oneshot(get(signed)).await.unwrap().status(), 200);
//! // Unsigned routes pass untouched.
//! assert_eq!(svc.oneshot(get("/health".into())).await.unwrap().status(), 200);
//! # });
//! ```

use std::sync::Arc;
use std::time::SystemTime;

use http::{Request, Response};
use tower_http::validate_request::{ValidateRequest, ValidateRequestHeaderLayer};

use super::response::error_response;
use super::route::Route;
use super::Body;
use crate::signature::{self, split_signature, ImgproxySigner, Signer};
use crate::Error;

/// Checks the raw request target of signed routes against the configured keys.
#[derive(Clone, Debug)]
pub struct VerifySignature {
    signer: Signer,
    /// imgproxy's signer and prefix, when the dialect is on.
    imgproxy: Option<(ImgproxySigner, Arc<str>)>,
}

/// The layer; it reads the [`Route`] the route layer decided.
pub fn layer(signer: Signer) -> ValidateRequestHeaderLayer<VerifySignature> {
    with_imgproxy(signer, None)
}

/// [`layer`], checking imgproxy's signature too on its routes (its signer and prefix).
pub fn with_imgproxy(
    signer: Signer,
    imgproxy: Option<(ImgproxySigner, &str)>,
) -> ValidateRequestHeaderLayer<VerifySignature> {
    ValidateRequestHeaderLayer::custom(VerifySignature {
        signer,
        imgproxy: imgproxy.map(|(s, prefix)| (s, Arc::from(prefix))),
    })
}

impl<B> ValidateRequest<B> for VerifySignature {
    type ResponseBody = Body;

    fn validate(&mut self, req: &mut Request<B>) -> Result<(), Response<Body>> {
        if Route::of(req) == Route::Imgproxy {
            let verified = self.imgproxy.as_ref().and_then(|(signer, prefix)| {
                let (signature, path) = split_signature(prefix, req.uri().path())?;
                signer.verify(signature, path).ok()
            });
            return verified
                .ok_or_else(|| error_response(&Error::from(signature::Error::BadSignature)));
        }
        if !Route::of(req).signed() {
            return Ok(());
        }
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        signature::check(&self.signer, target, SystemTime::now())
            .map_err(|e| error_response(&Error::from(e)))
    }
}
