//! The `?url=` fetch path cannot be turned against the network it runs in: every spelling
//! of a private address, DNS names, and redirects are refused with 403 before any
//! connection; downloads are bounded in bytes and time.

mod common;

use std::time::{Duration, Instant};

use common::{Origin, Server};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

fn proxied(url: &str) -> String {
    format!(
        "/transform?url={}&w=32",
        utf8_percent_encode(url, NON_ALPHANUMERIC)
    )
}

#[tokio::test]
async fn private_addresses_in_every_spelling_are_refused_without_a_connection() {
    let target = Origin::start(common::corpus());
    let port = target.addr.port();
    // Every host below is on the allow-list: the refusal must come from the address rule.
    let s = Server::builder()
        .env(
            "FERROTYPE_ALLOWED_HOSTS",
            "127.0.0.1,localhost,::1,0.0.0.0,169.254.169.254,10.0.0.1,::ffff:127.0.0.1,::127.0.0.1,2002:7f00:1::,64:ff9b::7f00:1",
        )
        .start();
    for url in [
        format!("http://127.0.0.1:{port}/photo/rocket.jpg"),
        format!("http://2130706433:{port}/photo/rocket.jpg"),
        format!("http://0x7f000001:{port}/photo/rocket.jpg"),
        format!("http://0177.0.0.1:{port}/photo/rocket.jpg"),
        format!("http://017700000001:{port}/photo/rocket.jpg"),
        format!("http://127.1:{port}/photo/rocket.jpg"),
        format!("http://0x7f.1:{port}/photo/rocket.jpg"),
        format!("http://localhost:{port}/photo/rocket.jpg"),
        format!("http://LOCALHOST.:{port}/photo/rocket.jpg"),
        format!("http://[::1]:{port}/photo/rocket.jpg"),
        format!("http://[::ffff:127.0.0.1]:{port}/photo/rocket.jpg"),
        format!("http://[::ffff:7f00:1]:{port}/photo/rocket.jpg"),
        format!("http://[::127.0.0.1]:{port}/photo/rocket.jpg"),
        format!("http://[2002:7f00:1::]:{port}/photo/rocket.jpg"),
        format!("http://[64:ff9b::7f00:1]:{port}/photo/rocket.jpg"),
        format!("http://0.0.0.0:{port}/photo/rocket.jpg"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/a.jpg".to_owned(),
    ] {
        let r = s.get(&proxied(&url)).await;
        assert_eq!(r.status, 403, "{url}: {}", r.text());
        assert_eq!(r.header("cache-control"), "no-store");
    }
    assert_eq!(
        target.hits(),
        0,
        "the loopback target was never connected to"
    );
}

#[tokio::test]
async fn redirects_are_checked_at_every_hop() {
    let target = Origin::start(common::corpus());
    // An allowed origin on another loopback address, the only network the server may reach.
    let allowed = Origin::start_on("127.0.0.2", common::corpus());
    let s = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.2,127.0.0.1")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.2/32")
        .start();
    let base = format!("http://127.0.0.2:{}", allowed.addr.port());
    let forbidden = format!("http://127.0.0.1:{}/photo/rocket.jpg", target.addr.port());
    let hop = |to: &str| {
        format!(
            "{base}/redirect/{}",
            utf8_percent_encode(to, NON_ALPHANUMERIC)
        )
    };

    // Allowed → allowed: followed.
    let r = s
        .get(&proxied(&hop(&format!("{base}/photo/rocket.jpg"))))
        .await;
    assert_eq!(r.image().width, 32);
    // Allowed → loopback, directly or after two more hops: refused, never connected.
    assert_eq!(s.get(&proxied(&hop(&forbidden))).await.status, 403);
    assert_eq!(
        s.get(&proxied(&hop(&hop(&hop(&forbidden))))).await.status,
        403
    );
    // A relative Location resolves against the hop it came from.
    assert_eq!(
        s.get(&proxied(&hop("/photo/coffee.png")))
            .await
            .image()
            .width,
        32
    );
    // Not a hop too many.
    let mut chain = format!("{base}/photo/rocket.jpg");
    for _ in 0..6 {
        chain = hop(&chain);
    }
    assert_eq!(s.get(&proxied(&chain)).await.status, 502);
    assert_eq!(target.hits(), 0);
}

#[tokio::test]
async fn bodies_past_the_cap_are_413_with_or_without_content_length() {
    let origin = Origin::start(common::corpus());
    let s = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.1")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8")
        .env("FERROTYPE_SOURCES", format!("web={}", origin.base()))
        .env("FERROTYPE_MAX_SOURCE_BYTES", "100000")
        .start();
    let base = format!("http://127.0.0.1:{}", origin.addr.port());
    // No Content-Length: counted while streaming.
    let r = s.get(&proxied(&format!("{base}/stream/5000000"))).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(s.get("/transform/web/stream/5000000").await.status, 413);
    // Content-Length over the cap: refused before the body.
    assert_eq!(
        s.get(&proxied(&format!("{base}/photo/bench-small-2mp.jpg")))
            .await
            .status,
        413
    );
    // Under the cap, streamed: fine (and not a partial file in the cache).
    let r = s
        .get(&proxied(&format!("{base}/trickle/1/photo/rocket.jpg")))
        .await;
    assert_eq!(r.status, 413, "rocket.jpg is 112 kB, over 100 kB");
    let r = s
        .get(&proxied(&format!(
            "{base}/trickle/1/photo/flower-exif-canon-s40.jpg"
        )))
        .await;
    assert_eq!(r.image().width, 32);
}

#[tokio::test]
async fn an_origin_that_hangs_is_504_within_the_deadline() {
    let origin = Origin::start(common::corpus());
    let s = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.1")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8")
        .env("FERROTYPE_FETCH_TIMEOUT_MS", "1500")
        .start();
    for path in ["/hang", "/trickle/400/photo/rocket.jpg"] {
        let started = Instant::now();
        let r = s
            .get(&proxied(&format!(
                "http://127.0.0.1:{}{path}",
                origin.addr.port()
            )))
            .await;
        let took = started.elapsed();
        assert_eq!(r.status, 504, "{path}");
        assert_eq!(r.header("cache-control"), "no-store");
        assert!(took < Duration::from_millis(2500), "{path}: {took:?}");
        assert!(took >= Duration::from_millis(1400), "{path}: {took:?}");
    }
    assert!(s.healthy().await);
}

#[tokio::test]
async fn loopback_is_reachable_when_its_network_is_allowed() {
    let origin = Origin::start(common::corpus());
    let s = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "localhost,127.0.0.1")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
        .start();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("http://{host}:{}/photo/rocket.jpg", origin.addr.port());
        assert_eq!(s.get(&proxied(&url)).await.image().width, 32, "{url}");
    }
}
