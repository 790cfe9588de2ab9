//! Bad input gets a clear 4xx and the server carries on: every file of the hostile
//! corpus, from a local directory and from an HTTP origin, and malformed URLs.

mod common;

use common::{Origin, Server};

/// The 4xx answers API.md §5 allows for bad sources and bad URLs.
const SOURCE_ERRORS: &[u16] = &[400, 413, 415, 422];

#[tokio::test]
async fn every_hostile_file_is_a_4xx_and_the_server_stays_healthy() {
    let origin = Origin::start(common::corpus());
    let s = Server::with_corpus_and_web(&origin);
    for name in common::hostile_files() {
        for source in ["corpus", "web"] {
            for options in [
                "",
                "?w=200",
                "?w=100&h=100&fit=cover&fm=webp",
                "?fm=png&page=0",
                // The steps that decode differently: the cut path, and what follows.
                "?trim=10&crop=0,0,0.5,0.5&pad=5&pixelate=4&wm_text=%3Cx%3E&max_bytes=2048",
                // Face detection's own decode of the original.
                "?w=50&h=50&fit=cover&g=face&faces=blur",
            ] {
                let target = format!("/transform/{source}/hostile/{name}{options}");
                let r = s.get(&target).await;
                assert!(
                    SOURCE_ERRORS.contains(&r.status),
                    "{target}: {} {}",
                    r.status,
                    r.text()
                );
                assert!(r.header("content-type").starts_with("text/plain"));
                assert_eq!(r.text().trim_end().lines().count(), 1, "{target}");
                assert_eq!(r.header("cache-control"), "public, max-age=60", "{target}");
            }
        }
        assert!(s.healthy().await, "after {name}");
    }
}

#[tokio::test]
async fn hostile_files_in_parallel_do_not_take_the_server_down() {
    let mut s = Server::with_corpus();
    let names = common::hostile_files();
    let requests = names.iter().cycle().take(48).map(|name| {
        let target = format!("/transform/corpus/hostile/{name}?w=300");
        let s = &s;
        async move { s.get(&target).await }
    });
    for r in futures::future::join_all(requests).await {
        assert!(
            SOURCE_ERRORS.contains(&r.status),
            "{}: {}",
            r.target,
            r.status
        );
    }
    assert!(s.healthy().await);
    assert!(s.alive());
}

#[tokio::test]
async fn malformed_urls_are_4xx() {
    let s = Server::with_corpus();
    let long = "a".repeat(6000);
    for target in [
        "/transform/corpus/%ff%fe.jpg".to_owned(),
        "/transform/corpus/photo/rocket.jpg?w=%ff".to_owned(),
        "/transform/corpus/photo/rocket.jpg?w=%zz".to_owned(),
        "/transform/corpus/photo/rocket.jpg?w".to_owned(),
        "/transform/corpus/photo/rocket.jpg?=&&=1".to_owned(),
        "/transform/corpus/photo/rocket.jpg?w=1e3".to_owned(),
        "/transform/corpus/photo/rocket.jpg?w=+100".to_owned(),
        "/transform/corpus/photo/rocket.jpg?dpr=inf".to_owned(),
        "/transform/corpus/photo/rocket.jpg?bg=%23fff".to_owned(),
        format!("/transform/corpus/photo/rocket.jpg?filename={long}"),
        format!("/transform/corpus/{long}.jpg"),
        "/transform?url=".to_owned(),
        "/transform?url=http%3A%2F%2F".to_owned(),
        "/transform?url=javascript%3Aalert(1)".to_owned(),
        "/transform/?w=3".to_owned(),
        "/transform/corpus".to_owned(),
    ] {
        let signed = s.signed(&target);
        let status = s.raw_status(&signed).await;
        assert!((400..500).contains(&status), "{target}: {status}");
    }
    // Unsigned garbage is a 403, whatever it looks like.
    for target in [
        "/transform/%%%",
        "/transform?%00=%00",
        "/info/../../etc/passwd",
    ] {
        assert_eq!(s.raw_status(target).await, 403, "{target}");
    }
    assert!(s.healthy().await);
}
