//! The originals cache and coalescing, observed from outside: origin request counts,
//! `/metrics`, bytes on disk, restarts and `kill -9`.

mod common;

use std::path::{Path, PathBuf};

use common::{Origin, Server};

fn server(origin: &Origin, cache: &Path, extra: &[(&str, &str)]) -> Server {
    let mut b = Server::builder()
        .env("FERROTYPE_SOURCES", format!("web={}", origin.base()))
        .cache_dir(cache);
    for (k, v) in extra {
        b = b.env(k, *v);
    }
    b.start()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn an_original_is_downloaded_once_and_survives_restarts() {
    let origin = Origin::start(common::corpus());
    let cache = tempfile::tempdir().unwrap();
    let s = server(&origin, cache.path(), &[]);
    assert_eq!(
        s.get("/transform/web/photo/rocket.jpg?w=100")
            .await
            .image()
            .width,
        100
    );
    assert_eq!(origin.hits(), 1);
    // Another size, another format: the same original.
    assert_eq!(
        s.get("/transform/web/photo/rocket.jpg?w=200&fm=webp")
            .await
            .image()
            .width,
        200
    );
    assert_eq!(origin.hits(), 1);
    // `v` busts it.
    assert_eq!(
        s.get("/transform/web/photo/rocket.jpg?w=200&v=2")
            .await
            .status,
        200
    );
    assert_eq!(origin.hits(), 2);
    drop(s);

    let s = server(&origin, cache.path(), &[]);
    assert_eq!(
        s.get("/transform/web/photo/rocket.jpg?w=300")
            .await
            .image()
            .width,
        300
    );
    assert_eq!(
        s.get("/transform/web/photo/rocket.jpg?w=300&v=2")
            .await
            .status,
        200
    );
    assert_eq!(origin.hits(), 2, "a restart keeps what was cached");
}

#[tokio::test]
async fn concurrent_first_requests_for_one_original_make_one_origin_request() {
    let origin = Origin::start(common::corpus());
    let cache = tempfile::tempdir().unwrap();
    let s = server(&origin, cache.path(), &[]);
    // Sixteen different sizes, so only the original is shared; a slow origin keeps them
    // all waiting on the same download.
    let requests = (0..16).map(|i| {
        let target = format!("/transform/web/slow/300/photo/rocket.jpg?w={}", 100 + i);
        let s = &s;
        async move { s.get(&target).await }
    });
    for (i, r) in futures::future::join_all(requests)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(r.image().width, 100 + i as u32);
    }
    assert_eq!(origin.hits(), 1);
    assert_eq!(s.metric("ferrotype_origin_requests_total").await, 1.0);
}

#[tokio::test]
async fn concurrent_identical_urls_run_one_transform() {
    let origin = Origin::start(common::corpus());
    let cache = tempfile::tempdir().unwrap();
    let s = server(&origin, cache.path(), &[]);
    let target = "/transform/web/slow/200/photo/bench-small-2mp.jpg?w=640&fm=webp";
    let replies = futures::future::join_all((0..16).map(|_| s.get(target))).await;
    let first = &replies[0];
    first.image();
    for r in &replies {
        assert_eq!(r.status, 200);
        assert_eq!(r.body, first.body);
        assert_eq!(r.header("etag"), first.header("etag"));
    }
    assert_eq!(s.metric("ferrotype_transforms_total").await, 1.0);
    assert_eq!(origin.hits(), 1);
    // Later hits come from the result cache.
    s.get(target).await.image();
    assert_eq!(s.metric("ferrotype_transforms_total").await, 1.0);
    assert_eq!(
        s.metric("ferrotype_results_total{cache=\"hit\"}").await,
        16.0
    );
}

#[tokio::test]
async fn the_disk_cache_stays_under_its_cap() {
    let origin = Origin::start(common::corpus());
    let cache = tempfile::tempdir().unwrap();
    let cap: u64 = 400_000;
    let s = server(
        &origin,
        cache.path(),
        &[("FERROTYPE_CACHE_MAX_BYTES", "400000")],
    );
    let photos: Vec<String> = std::fs::read_dir(common::corpus().join("photo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jpg") || n.ends_with(".png"))
        .collect();
    assert!(photos.len() >= 8);
    for name in &photos {
        // Decodable or not (one is truncated), every original passes through the cache.
        let r = s.get(&format!("/transform/web/photo/{name}?w=32")).await;
        assert!(r.status == 200 || r.status == 422, "{name}: {}", r.status);
        let on_disk: u64 = files_under(&cache.path().join("originals"))
            .iter()
            .filter_map(|p| p.metadata().ok())
            .map(|m| m.len())
            .sum();
        assert!(
            on_disk <= cap,
            "{on_disk} bytes on disk after {name}, cap {cap}"
        );
    }
    assert_eq!(origin.hits(), photos.len());
}

#[tokio::test]
async fn kill_9_during_first_downloads_leaves_no_partial_original() {
    let origin = Origin::start(common::corpus());
    let cache = tempfile::tempdir().unwrap();
    let photos = [
        "rocket.jpg",
        "bench-small-2mp.jpg",
        "coffee.png",
        "fallenleaf-canon70d.jpg",
    ];
    let mut s = server(
        &origin,
        cache.path(),
        &[("FERROTYPE_FETCH_TIMEOUT_MS", "20000")],
    );
    // Each original arrives in 4 KiB chunks 50 ms apart: seconds per download.
    let targets: Vec<String> = photos
        .iter()
        .map(|p| format!("/transform/web/trickle/50/photo/{p}?w=64"))
        .collect();
    let client = s.client.clone();
    let urls: Vec<String> = targets.iter().map(|t| s.url(&s.signed(t))).collect();
    let burst: Vec<_> = urls
        .iter()
        .map(|u| tokio::spawn(client.get(u.clone()).send()))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let temps_during = files_under(&cache.path().join("originals"))
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .count();
    s.kill9();
    for b in burst {
        let _ = b.await;
    }
    assert!(
        temps_during > 0,
        "downloads were in progress when the server was killed"
    );

    let s = server(
        &origin,
        cache.path(),
        &[("FERROTYPE_FETCH_TIMEOUT_MS", "20000")],
    );
    let left = files_under(&cache.path().join("originals"));
    assert!(
        left.iter().all(|p| !p.to_string_lossy().ends_with(".tmp")),
        "{left:?}"
    );
    for t in &targets {
        let r = s.get(t).await;
        assert_eq!(r.image().width, 64, "{t}");
    }
    // And what is cached now is byte for byte the originals.
    let cached = files_under(&cache.path().join("originals"));
    assert_eq!(cached.len(), photos.len());
    for p in photos {
        let original = std::fs::read(common::corpus().join("photo").join(p)).unwrap();
        assert!(
            cached.iter().any(|c| std::fs::read(c).unwrap() == original),
            "{p}"
        );
    }
}
