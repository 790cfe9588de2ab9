//! Past the worker pool and its queue, requests are refused at once with 503 and
//! `Retry-After` rather than piling up; nothing else fails.

mod common;

use common::Server;

#[tokio::test]
async fn a_burst_past_the_queue_gets_503_with_retry_after_and_no_other_5xx() {
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env("FERROTYPE_WORKERS", "1")
        .env("FERROTYPE_QUEUE", "2")
        .start();
    // 2.5 megapixels enlarged to 4–5 each, every URL different: 30 real decodes and WebP
    // encodes wanted at once.
    let requests = (0..30).map(|i| {
        let target = format!(
            "/transform/corpus/photo/bench-small-2mp.jpg?w={}&enlarge=1&fm=webp",
            2600 + i
        );
        let s = &s;
        async move { s.get(&target).await }
    });
    let replies = futures::future::join_all(requests).await;
    let mut ok = 0;
    let mut shed = 0;
    for r in &replies {
        match r.status {
            200 => {
                assert_eq!(r.image().format, "webp");
                ok += 1;
            }
            503 => {
                assert!(
                    r.header("retry-after").parse::<u32>().is_ok_and(|s| s >= 1),
                    "Retry-After"
                );
                assert_eq!(r.header("cache-control"), "no-store");
                shed += 1;
            }
            other => panic!("{}: unexpected {other}: {}", r.target, r.text()),
        }
    }
    assert!(ok >= 1, "some requests were served");
    assert!(shed >= 1, "some requests were shed ({ok} served)");
    // With one worker and two places in the queue, most of a simultaneous burst is shed.
    assert!(shed >= 20, "{shed} shed, {ok} served");
    assert!(s.healthy().await);
    let after = s
        .get("/transform/corpus/photo/bench-small-2mp.jpg?w=300")
        .await;
    assert_eq!(
        after.status, 200,
        "the server serves again once the burst is over"
    );
}
