//! The real nginx from Debian, configured by `scripts/nginx-front` from
//! `nginx/ferrotype.conf`, in front of real ferrotype servers.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Origin, Server};

/// nginx in the foreground, stopped (and its workers with it) when dropped.
struct Front {
    child: Child,
    addr: SocketAddr,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Front {
    fn start(upstreams: &[SocketAddr]) -> Front {
        let dir = tempfile::tempdir().unwrap();
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let list: Vec<String> = upstreams.iter().map(|a| a.to_string()).collect();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/nginx-front");
        let child = Command::new(script)
            .args([&list.join(","), &addr.to_string()])
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("scripts/nginx-front");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Front {
            child,
            addr,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            _dir: dir,
        }
    }

    async fn get(&self, target: &str, accept: Option<&str>) -> Answer {
        let mut req = self.client.get(format!("http://{}{target}", self.addr));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.unwrap();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        Answer {
            status: resp.status().as_u16(),
            cache: header("x-cache-status"),
            content_type: header("content-type"),
            body: resp.bytes().await.unwrap().to_vec(),
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        // SIGTERM: nginx's fast shutdown, workers included.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    cache: String,
    content_type: String,
    body: Vec<u8>,
}

const TRANSFORMS: &str = r#"ferrotype_http_requests_total{route="/transform",status="200"}"#;

async fn upstream_requests(s: &Server) -> f64 {
    s.metric_sum(r#"ferrotype_http_requests_total{route="/transform","#)
        .await
}

#[tokio::test]
async fn the_front_caches_and_collapses() {
    let origin = Origin::start(common::corpus());
    let s = Server::with_corpus_and_web(&origin);
    let front = Front::start(&[s.addr]);

    let url = s.signed("/transform/corpus/photo/rocket.jpg?w=120");
    let first = front.get(&url, None).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.cache, "MISS");
    let second = front.get(&url, None).await;
    assert_eq!(second.cache, "HIT");
    assert_eq!(second.body, first.body);
    assert_eq!(s.metric(TRANSFORMS).await, 1.0);

    // Ten browsers ask for one new URL at once (a slow origin keeps them together).
    let url = s.signed("/transform/web/slow/500/photo/rocket.jpg?w=90");
    let answers = futures::future::join_all((0..10).map(|_| front.get(&url, None))).await;
    assert!(answers.iter().all(|a| a.status == 200));
    assert!(answers.iter().all(|a| a.body == answers[0].body));
    assert_eq!(
        s.metric(TRANSFORMS).await,
        2.0,
        "one upstream request for ten"
    );
    assert_eq!(origin.hits(), 1);
}

#[tokio::test]
async fn errors_are_cached_briefly_or_not_at_all() {
    let origin = Origin::start(common::corpus());
    let s = Server::with_corpus_and_web(&origin);
    let front = Front::start(&[s.addr]);

    // A bad signature first, then the right one for the same path: the 403 is not served.
    let path = "/transform/corpus/photo/rocket.jpg?w=70";
    let forged = format!("{path}&s={}", "0".repeat(40));
    assert_eq!(front.get(&forged, None).await.status, 403);
    let good = front.get(&s.signed(path), None).await;
    assert_eq!(good.status, 200);
    // And the cached 200 is not served to the forged signature either.
    let again = front.get(&forged, None).await;
    assert_eq!(again.status, 403);
    assert_ne!(again.cache, "HIT");

    // 404 is cached briefly (ferrotype says max-age=60): the second never reaches it.
    let missing = s.signed("/transform/corpus/photo/nope.jpg?w=10");
    assert_eq!(front.get(&missing, None).await.status, 404);
    let before = upstream_requests(&s).await;
    let cached = front.get(&missing, None).await;
    assert_eq!((cached.status, cached.cache.as_str()), (404, "HIT"));
    assert_eq!(upstream_requests(&s).await, before);

    // 5xx is never cached: the origin failing answers 502 twice, both from ferrotype.
    let failing = s.signed("/transform/web/status/500?w=10");
    let hits = origin.hits();
    for _ in 0..2 {
        let a = front.get(&failing, None).await;
        assert_eq!(a.status, 502);
        assert_ne!(a.cache, "HIT");
    }
    assert_eq!(origin.hits(), hits + 2);
}

#[tokio::test]
async fn fm_auto_is_cached_per_negotiated_format() {
    let s = Server::with_corpus();
    let front = Front::start(&[s.addr]);
    let url = s.signed("/transform/corpus/photo/rocket.jpg?w=64&fm=auto");
    let avif = "image/avif,image/webp,*/*";
    let webp = "image/webp,*/*";

    let a = front.get(&url, Some(avif)).await;
    assert_eq!(
        (a.content_type.as_str(), a.cache.as_str()),
        ("image/avif", "MISS")
    );
    let w = front.get(&url, Some(webp)).await;
    assert_eq!(
        (w.content_type.as_str(), w.cache.as_str()),
        ("image/webp", "MISS")
    );
    let j = front.get(&url, Some("*/*")).await;
    assert_eq!(
        (j.content_type.as_str(), j.cache.as_str()),
        ("image/jpeg", "MISS")
    );
    // Other spellings of the same preference share the cached variant.
    let a2 = front.get(&url, Some("image/avif")).await;
    assert_eq!(
        (a2.content_type.as_str(), a2.cache.as_str()),
        ("image/avif", "HIT")
    );
    assert_eq!(a2.body, a.body);
    let w2 = front.get(&url, Some("text/html,image/webp;q=0.9")).await;
    assert_eq!(
        (w2.content_type.as_str(), w2.cache.as_str()),
        ("image/webp", "HIT")
    );
    assert_eq!(s.metric(TRANSFORMS).await, 3.0);
}

#[tokio::test]
async fn several_nodes_each_url_on_one_node() {
    let nodes = [Server::with_corpus(), Server::with_corpus()];
    let urls: Vec<String> = (0..24)
        .map(|i| nodes[0].signed(&format!("/transform/corpus/photo/rocket.jpg?w={}", 40 + i)))
        .collect();
    // Which node answered each URL, seen through the nodes' own request counters.
    async fn route(front: &Front, nodes: &[Server; 2], urls: &[String]) -> Vec<usize> {
        let mut placed = Vec::new();
        for url in urls {
            let before = [
                upstream_requests(&nodes[0]).await,
                upstream_requests(&nodes[1]).await,
            ];
            assert_eq!(front.get(url, None).await.status, 200);
            let mut moved = Vec::new();
            for (n, node) in nodes.iter().enumerate() {
                if upstream_requests(node).await > before[n] {
                    moved.push(n);
                }
            }
            assert_eq!(moved.len(), 1, "exactly one node answered {url}");
            placed.push(moved[0]);
        }
        placed
    }
    let addrs = [nodes[0].addr, nodes[1].addr];
    let first = route(&Front::start(&addrs), &nodes, &urls).await;
    // A second front, with its own empty cache: every URL goes to the same node again.
    let second = route(&Front::start(&addrs), &nodes, &urls).await;
    assert_eq!(first, second);
    assert!(
        first.contains(&0) && first.contains(&1),
        "both nodes used: {first:?}"
    );
}

#[tokio::test]
async fn a_dead_nodes_urls_are_answered_from_the_result_storage() {
    use common::{S3Server, S3_ACCESS_KEY, S3_SECRET_KEY};
    let s3 = S3Server::start("shared-results").await;
    let node = || {
        Server::builder()
            .env("FERROTYPE_SOURCES", common::corpus_source())
            .env("FERROTYPE_RESULT_STORAGE", "s3://shared-results/r/")
            .env("FERROTYPE_S3_ENDPOINT", s3.endpoint.clone())
            .env("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
            .start()
    };
    let mut nodes = [node(), node()];
    let addrs = [nodes[0].addr, nodes[1].addr];
    let url = nodes[0].signed("/transform/corpus/photo/rocket.jpg?w=90");
    let front = Front::start(&addrs);
    let first = front.get(&url, None).await;
    assert_eq!(first.status, 200);
    let owner = if upstream_requests(&nodes[0]).await > 0.0 {
        0
    } else {
        1
    };
    let other = 1 - owner;
    // The owner stores the response in the background.
    let stored = async {
        for _ in 0..100 {
            if nodes[owner]
                .metric_sum("ferrotype_result_storage_total")
                .await
                > 0.0
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    stored.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(front);
    // The owner dies; a front with an empty cache sends the URL to the other node, which
    // answers the owner's bytes from the storage without transforming anything.
    nodes[owner].kill9();
    let front = Front::start(&addrs);
    let again = front.get(&url, None).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(nodes[other].metric("ferrotype_transforms_total").await, 0.0);
    assert_eq!(
        nodes[other]
            .metric("ferrotype_result_storage_total{outcome=\"hit\"}")
            .await,
        1.0
    );
}
