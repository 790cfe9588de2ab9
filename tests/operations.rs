//! The operator's view of a running server: Prometheus metrics (also on their own
//! address), one log line per request with nothing secret in it, graceful shutdown.

mod common;

use std::time::{Duration, Instant};

use common::{Origin, Server};
use prometheus_parse::{Scrape, Value};

fn scrape(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .and_then(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(*v),
            Value::Histogram(buckets) => buckets.last().map(|b| b.count),
            _ => None,
        })
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_move_with_requests() {
    let origin = Origin::start(common::corpus());
    let s = Server::with_corpus_and_web(&origin);
    let transforms_200 = [("route", "/transform"), ("status", "200")];
    let before = scrape(&s.get_raw("/metrics", &[]).await.text());
    let count = |sc: &Scrape| sample(sc, "ferrotype_http_requests_total", &transforms_200);
    assert_eq!(count(&before), None, "no transform served yet");

    for w in [100, 100, 120] {
        let url = format!("/transform/web/photo/rocket.jpg?w={w}");
        assert_eq!(s.get(&url).await.status, 200);
    }
    assert_eq!(s.get("/transform/corpus/nope.jpg").await.status, 404);

    let r = s.get_raw("/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/plain"));
    let after = scrape(&r.text());
    assert_eq!(count(&after), Some(3.0));
    let not_found = [("route", "/transform"), ("status", "404")];
    assert_eq!(
        sample(&after, "ferrotype_http_requests_total", &not_found),
        Some(1.0)
    );
    // Latency histograms per stage and per route, as histograms (buckets), not summaries.
    for stage in ["queue", "fetch", "processing", "encoding"] {
        let n = sample(&after, "ferrotype_stage_seconds", &[("stage", stage)]);
        assert!(n.is_some_and(|n| n >= 1.0), "stage {stage}: {n:?}");
    }
    assert!(after
        .samples
        .iter()
        .any(|x| x.metric == "ferrotype_http_request_duration_seconds"
            && matches!(x.value, Value::Histogram(_))));
    assert_eq!(
        sample(&after, "ferrotype_results_total", &[("cache", "hit")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&after, "ferrotype_originals_total", &[("cache", "miss")]),
        Some(1.0)
    );
    assert!(
        sample(&after, "ferrotype_cache_bytes", &[("cache", "originals")]).is_some_and(|b| b > 0.0)
    );
    // The scrape in flight is the one request in flight.
    assert_eq!(
        sample(&after, "ferrotype_http_requests_in_flight", &[]),
        Some(1.0)
    );
}

#[tokio::test]
async fn metrics_can_live_on_their_own_address() {
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env("FERROTYPE_METRICS_BIND", "127.0.0.1:0")
        .start();
    assert_eq!(
        s.get("/transform/corpus/photo/rocket.jpg?w=50")
            .await
            .status,
        200
    );
    assert_eq!(s.get_raw("/metrics", &[]).await.status, 404);
    let addr = s.metrics_addr.expect("metrics address printed");
    assert_ne!(addr, s.addr);
    let text = s
        .client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sc = scrape(&text);
    assert_eq!(
        sample(
            &sc,
            "ferrotype_http_requests_total",
            &[("route", "/transform"), ("status", "200")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn one_json_log_line_per_request_without_secrets() {
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env("FERROTYPE_LOG", "info")
        .env("FERROTYPE_LOG_FORMAT", "json")
        .capture_logs()
        .start();
    let ok = s.signed("/transform/corpus/photo/rocket.jpg?w=64");
    let signature = ok.rsplit("s=").next().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(s.get_raw(&ok, &[]).await.status, 200);
    }
    assert_eq!(
        s.get_raw("/transform/corpus/photo/rocket.jpg?w=64&s=0000", &[])
            .await
            .status,
        403
    );
    assert_eq!(
        s.get_raw("/health", &[("x-request-id", "from-nginx-1")])
            .await
            .status,
        200
    );

    // The line is written after the answer: give it a moment to reach the pipe.
    let deadline = Instant::now() + Duration::from_secs(5);
    let requests = loop {
        let lines: Vec<serde_json::Value> = s
            .logs()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .filter(|v: &serde_json::Value| v["message"] == "request")
            .collect();
        if lines.len() >= 4 || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(requests.len(), 4, "{requests:?}");
    let first = &requests[0];
    assert_eq!(first["method"], "GET");
    assert_eq!(first["route"], "/transform");
    assert_eq!(first["status"], 200);
    assert!(first["bytes"].as_u64().is_some_and(|b| b > 100));
    assert!(first["ms"].as_f64().is_some());
    assert_eq!(first["cache"], "miss");
    assert!(first["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(requests[1]["cache"], "hit");
    assert_ne!(requests[0]["id"], requests[1]["id"]);
    assert_eq!(requests[2]["status"], 403);
    assert_eq!(
        requests[3]["id"], "from-nginx-1",
        "an upstream request id is kept"
    );

    let all = s.logs();
    assert!(!all.contains(&signature), "a signature reached the logs");
    assert!(!all.contains("s=0000"));
    assert!(!all.contains(common::KEY), "the key reached the logs");
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_and_exits_zero() {
    let origin = Origin::start(common::corpus());
    let mut s = Server::with_corpus_and_web(&origin);
    let url = s.url(&s.signed("/transform/web/slow/2000/photo/rocket.jpg?w=80"));
    let client = s.client.clone();
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    // Until the origin has been asked, the request is surely in flight.
    while origin.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    // SIGTERM, then wait up to 15 s for the exit.
    let exit = tokio::task::spawn_blocking(move || s.terminate());
    let resp = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(resp.status(), 200);
    assert_eq!(common::decode(&resp.bytes().await.unwrap()).width, 80);
    let status = exit.await.unwrap().expect("exited");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn ready_reports_a_cache_directory_that_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let s = Server::builder()
        .cache_dir(&cache)
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .start();
    assert_eq!(s.get_raw("/ready", &[]).await.status, 200);
    // Root writes through any permission bits, so the disk "goes away" instead.
    std::fs::remove_dir_all(&cache).unwrap();
    let r = s.get_raw("/ready", &[]).await;
    assert_eq!(r.status, 503);
    assert!(r.text().contains("cache directory"), "{}", r.text());
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(s.healthy().await, "alive, only not ready");
}
