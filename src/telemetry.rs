//! What ferrotype tells operators: the Prometheus recorder every `metrics::` call writes
//! to, stage timings, and the log subscriber.
//!
//! Metric names (all prefixed `ferrotype_`) are listed in the README's "Metrics" section;
//! every series is created by the code path it measures, nothing is formatted by hand.

use std::sync::OnceLock;
use std::time::Instant;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Histogram buckets in seconds, from a cache hit to the slowest render a deadline allows.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide recorder, installed on first use (a process has one).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Times one stage of a request into `ferrotype_stage_seconds{stage}` when dropped, so an
/// early return or an error still counts: `queue` (waiting for an image worker), `fetch`
/// (downloading an original), `processing` (libvips up to the encoder), `encoding`,
/// `rendering` (a screenshot, from tab slot to image).
pub struct Stage {
    name: &'static str,
    started: Instant,
}

impl Stage {
    pub fn start(name: &'static str) -> Self {
        Self {
            name,
            started: Instant::now(),
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        metrics::histogram!("ferrotype_stage_seconds", "stage" => self.name)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// Logs to stderr, filtered by `FERROTYPE_LOG` (`info` by default), as text or, with
/// `FERROTYPE_LOG_FORMAT=json`, one JSON object per line with the fields at the top level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERROTYPE_LOG")
        // chromiumoxide warns about every DevTools message newer than its protocol types.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,chromiumoxide=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let format = std::env::var("FERROTYPE_LOG_FORMAT").unwrap_or_default();
    if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
        if !format.is_empty() && format != "text" {
            tracing::warn!(%format, "FERROTYPE_LOG_FORMAT is json or text; logging text");
        }
    }
}
