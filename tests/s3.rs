//! S3 sources (API.md §9) against a real S3-compatible server on loopback (SeaweedFS, which
//! checks signatures): transforms and `/info` from a bucket, the statuses of §5, the
//! originals cache in front of it, secrets kept out of answers and logs.

mod common;

use common::{S3Server, Server, S3_ACCESS_KEY, S3_SECRET_KEY};

const BUCKET: &str = "originals";

fn photo() -> Vec<u8> {
    std::fs::read(common::corpus().join("photo/rocket.jpg")).unwrap()
}

/// A server reading `s3src` from the bucket's `photos/`, signing with `secret`.
fn server(s3: &S3Server, secret: &str, extra: &[(&str, &str)]) -> Server {
    let mut b = Server::builder()
        .capture_logs()
        .env("FERROTYPE_SOURCES", format!("s3src=s3://{BUCKET}/photos/"))
        .env("FERROTYPE_S3_ENDPOINT", s3.endpoint.clone())
        .env("FERROTYPE_FETCH_TIMEOUT_MS", "3000")
        .env("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret);
    for (k, v) in extra {
        b = b.env(k, *v);
    }
    b.start()
}

#[tokio::test]
async fn originals_come_from_the_bucket_through_the_disk_cache() {
    let s3 = S3Server::start(BUCKET).await;
    s3.put("photos/rocket.jpg", photo()).await;
    s3.put("photos/with space+plus.jpg", photo()).await;
    let s = server(&s3, S3_SECRET_KEY, &[]);

    let r = s.get("/transform/s3src/rocket.jpg?w=100").await;
    let d = r.image();
    assert_eq!((d.format, d.width, d.height), ("jpeg", 100, 67));
    let r = s
        .get("/transform/s3src/with%20space+plus.jpg?w=50&fm=png")
        .await;
    assert_eq!(r.image().width, 50);
    let info = s.get("/info/s3src/rocket.jpg").await;
    assert_eq!(info.status, 200);
    assert!(info.text().contains("\"width\":640"), "{}", info.text());
    assert_eq!(s.get("/transform/s3src/missing.jpg?w=10").await.status, 404);

    // Downloaded once: another size comes from the disk cache, even once the object is gone,
    // without a request to the store.
    let hits = s.metric("ferrotype_originals_total{cache=\"hit\"}").await;
    let requests = s.metric("ferrotype_origin_requests_total").await;
    assert_eq!(requests, 3.0, "two objects and a missing one");
    s3.delete("photos/rocket.jpg").await;
    assert_eq!(
        s.get("/transform/s3src/rocket.jpg?w=70")
            .await
            .image()
            .width,
        70
    );
    assert!(s.metric("ferrotype_originals_total{cache=\"hit\"}").await > hits);
    assert_eq!(s.metric("ferrotype_origin_requests_total").await, requests);
    // `v` names another original: fetched again, and missing now.
    assert_eq!(
        s.get("/transform/s3src/rocket.jpg?w=70&v=2").await.status,
        404
    );

    // Requests in flight for one new object share one download.
    s3.put("photos/burst.jpg", photo()).await;
    let before = s.metric("ferrotype_origin_requests_total").await;
    let urls: Vec<String> = (0..6)
        .map(|i| format!("/transform/s3src/burst.jpg?w={}", 40 + i))
        .collect();
    let replies = futures::future::join_all(urls.iter().map(|u| s.get(u))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(
        s.metric("ferrotype_origin_requests_total").await,
        before + 1.0
    );
}

#[tokio::test]
async fn limits_failures_and_secrets() {
    let mut s3 = S3Server::start(BUCKET).await;
    s3.put("photos/rocket.jpg", photo()).await;
    // Over the byte limit: 413, decided from the answer's headers. The store's answer
    // trickles through a relay, so reading its body up to the limit would show.
    s3.put("photos/big.jpg", vec![0x5a; 3_000_000]).await;
    let upstream = s3.endpoint.trim_start_matches("http://").parse().unwrap();
    let relay = common::Trickle::start(upstream);
    let small = server(
        &s3,
        S3_SECRET_KEY,
        &[
            ("FERROTYPE_MAX_SOURCE_BYTES", "2000000"),
            ("FERROTYPE_S3_ENDPOINT", &format!("http://{}", relay.addr)),
        ],
    );
    assert_eq!(small.get("/transform/s3src/big.jpg?w=10").await.status, 413);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        relay.relayed() < 256 * 1024,
        "{} bytes of the object were read",
        relay.relayed()
    );
    // Under the limit, the same relay passes the whole object.
    let photo_len = photo().len();
    assert_eq!(
        small.get("/transform/s3src/rocket.jpg?w=10").await.status,
        200
    );
    assert!(relay.relayed() > photo_len);

    // A wrong secret: the store refuses the signature, 502, and the secret is nowhere.
    let secret = "not-the-secret-4f9a2c";
    let wrong = server(&s3, secret, &[]);
    let r = wrong.get("/transform/s3src/rocket.jpg?w=10").await;
    assert_eq!(r.status, 502);
    assert!(!r.text().contains(secret));
    assert!(!wrong.logs().contains(secret), "the secret is in the log");
    assert!(
        wrong.logs().contains("S3 request failed"),
        "{}",
        wrong.logs()
    );

    // The store gone: 502 or 504, and the server stays ready.
    let s = server(&s3, S3_SECRET_KEY, &[]);
    s3.stop();
    let r = s.get("/transform/s3src/rocket.jpg?w=11").await;
    assert!([502, 504].contains(&r.status), "{}", r.status);
    assert!(s.healthy().await);
    assert_eq!(s.get_raw("/ready", &[]).await.status, 200);
}

#[tokio::test]
async fn imgproxy_reads_the_listed_buckets_only() {
    use ferrotype::signature::ImgproxySigner;
    let s3 = S3Server::start(BUCKET).await;
    s3.put("photos/rocket.jpg", photo()).await;
    let s = server(
        &s3,
        S3_SECRET_KEY,
        &[
            ("FERROTYPE_IMGPROXY_KEY", "736563726574"),
            ("FERROTYPE_IMGPROXY_SALT", "68656C6C6F"),
            ("FERROTYPE_S3_BUCKETS", BUCKET),
        ],
    );
    let signer = ImgproxySigner::new(&["736563726574"], &["68656C6C6F"], 32).unwrap();
    let get = |path: String| {
        let target = format!("/{}{path}", signer.sign(&path));
        let s = &s;
        async move { s.get_raw(&target, &[]).await }
    };
    let r = get(format!("/w:100/plain/s3://{BUCKET}/photos/rocket.jpg")).await;
    assert_eq!(r.image().width, 100);
    assert_eq!(
        get("/w:100/plain/s3://elsewhere/photos/rocket.jpg".into())
            .await
            .status,
        403
    );
}

/// The objects under `prefix`, with their ETags (what would change if one were rewritten).
async fn objects(s3: &S3Server, prefix: &str) -> Vec<(String, Option<String>)> {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let store = s3.store(S3_SECRET_KEY);
    let prefix = object_store::path::Path::parse(prefix).unwrap();
    let mut found: Vec<(String, Option<String>)> = store
        .list(Some(&prefix))
        .map_ok(|m| (m.location.to_string(), m.e_tag))
        .try_collect()
        .await
        .unwrap_or_default();
    found.sort();
    found
}

/// A node reading the corpus and sharing results through the bucket's `results/`, signing
/// with `key`, its own memory cache off.
fn node(s3: &S3Server, key: &str, capture: bool) -> Server {
    let mut b = Server::builder()
        .env("FERROTYPE_KEYS", key)
        .signing(ferrotype::signature::Algorithm::Sha1, key)
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env(
            "FERROTYPE_RESULT_STORAGE",
            format!("s3://{BUCKET}/results/"),
        )
        .env("FERROTYPE_RESULT_CACHE_BYTES", "0")
        .env("FERROTYPE_S3_ENDPOINT", s3.endpoint.clone())
        .env("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY);
    if capture {
        b = b.capture_logs();
    }
    b.start()
}

#[tokio::test]
async fn nodes_share_finished_responses_through_the_result_storage() {
    let mut s3 = S3Server::start(BUCKET).await;
    let a = node(&s3, "key-of-node-a", false);
    let b = node(&s3, "key-of-node-b", true);
    let url = "/transform/corpus/photo/rocket.jpg?w=120&fm=webp";
    let first = a.get(url).await;
    assert_eq!(first.image().width, 120);
    // Stored once, in the background.
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = objects(&s3, "results/").await;
        if !stored.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stored.len(), 1, "{stored:?}");

    // Another node, another key, other exp/filename/dl: the same object, no transform.
    for extra in ["", "&filename=other&dl=1", "&exp=99999999999"] {
        let r = b.get(&format!("{url}{extra}")).await;
        assert_eq!(r.status, 200, "{extra}");
        assert_eq!(r.body, first.body, "{extra}");
        assert_eq!(r.header("etag"), first.header("etag"));
        assert_eq!(r.header("content-type"), "image/webp");
    }
    // With the memory cache off (0 bytes), the same URL again asks the storage again.
    assert_eq!(b.get(url).await.body, first.body);
    assert_eq!(b.metric("ferrotype_transforms_total").await, 0.0);
    assert_eq!(
        b.metric("ferrotype_result_storage_total{outcome=\"hit\"}")
            .await,
        4.0
    );
    // Another size is computed and stored beside it; nothing was rewritten.
    assert_eq!(
        b.get("/transform/corpus/photo/rocket.jpg?w=60")
            .await
            .image()
            .width,
        60
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let now = objects(&s3, "results/").await;
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(
        now.contains(&stored[0]),
        "the first object changed: {now:?}"
    );

    // The storage gone: requests are answered all the same (computed), counted as errors.
    s3.stop();
    let r = b.get("/transform/corpus/photo/rocket.jpg?w=61").await;
    assert_eq!(r.image().width, 61);
    assert!(
        b.metric("ferrotype_result_storage_total{outcome=\"error\"}")
            .await
            >= 1.0
    );
    assert!(!b.logs().contains(S3_SECRET_KEY));
}

#[tokio::test]
async fn no_credentials_cost_one_deadline_at_most() {
    let s3 = S3Server::start(BUCKET).await;
    s3.put("photos/rocket.jpg", photo()).await;
    // No AWS_* at all: the credential chain ends at the instance metadata address, which
    // does not answer here; the fetch deadline (2 s) bounds the whole request.
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", format!("s3src=s3://{BUCKET}/photos/"))
        .env("FERROTYPE_S3_ENDPOINT", s3.endpoint.clone())
        .env("FERROTYPE_FETCH_TIMEOUT_MS", "2000")
        .start();
    let started = std::time::Instant::now();
    let r = s.get("/transform/s3src/rocket.jpg?w=10").await;
    assert!([502, 504].contains(&r.status), "{}", r.status);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(s.healthy().await);
}

#[tokio::test]
async fn nodes_racing_for_one_response_store_it_once() {
    use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};
    let s3 = S3Server::start(BUCKET).await;
    // The store honours the conditional create ferrotype writes with, so an overwrite would
    // show here.
    let store = s3.store(S3_SECRET_KEY);
    let probe = object_store::path::Path::from("results-probe/x");
    store.put(&probe, b"first".to_vec().into()).await.unwrap();
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let again = store
        .put_opts(&probe, b"second".to_vec().into(), create)
        .await;
    assert!(
        matches!(
            again,
            Err(object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. })
        ),
        "{again:?}"
    );
    let kept = store.get(&probe).await.unwrap().bytes().await.unwrap();
    assert_eq!(&kept[..], b"first");

    // Two nodes asked for the same new responses at once: both compute, one object each.
    let a = node(&s3, "key-of-node-a", false);
    let b = node(&s3, "key-of-node-b", false);
    let urls: Vec<String> = (0..6)
        .map(|i| format!("/transform/corpus/photo/rocket.jpg?w={}", 90 + i))
        .collect();
    for url in &urls {
        let (x, y) = tokio::join!(a.get(url), b.get(url));
        assert_eq!((x.status, y.status), (200, 200));
        assert_eq!(x.body, y.body);
    }
    for _ in 0..100 {
        if objects(&s3, "results/").await.len() >= urls.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(objects(&s3, "results/").await.len(), urls.len());
    let computed =
        a.metric("ferrotype_transforms_total").await + b.metric("ferrotype_transforms_total").await;
    assert!(computed > 6.0, "no race happened: {computed} transforms");
    for n in [&a, &b] {
        assert_eq!(
            n.metric("ferrotype_result_storage_total{outcome=\"error\"}")
                .await,
            0.0,
            "a lost race is not a storage error"
        );
    }
}
