//! The binary as a person meets it: start-up, configuration mistakes, `sign`, `--help`,
//! demo mode, HTTP/2. (Routing, methods and signatures are checked in process, in
//! `tests/service.rs`.)

mod common;

use std::process::Command;

use common::Server;

fn ferrotype(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrotype"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ferrotype")
}

#[test]
fn configuration_mistakes_are_one_line_each_and_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ferrotype.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:0\"\nworkerz = 2\nkeys = [\"k\"]\n",
    )
    .unwrap();
    let out = ferrotype(
        &["serve", "--config", file.to_str().unwrap()],
        &[
            ("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/40"),
            ("FERROTYPE_QUEUE", "-1"),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("  ") || l.contains(": "))
        .collect();
    assert!(err.contains("unknown key \"workerz\""), "{err}");
    assert!(
        err.contains("FERROTYPE_ALLOWED_NETWORKS: \"127.0.0.0/40\" is not a CIDR"),
        "{err}"
    );
    assert!(err.contains("FERROTYPE_QUEUE"), "{err}");
    assert!(lines.len() >= 3, "{err}");
}

#[test]
fn keys_are_required_outside_demo_mode() {
    let out = ferrotype(&["serve"], &[("FERROTYPE_BIND", "127.0.0.1:0")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FERROTYPE_KEYS"));
}

#[test]
fn sign_prints_the_api_md_example() {
    let out = ferrotype(
        &[
            "sign",
            "--key",
            "secret",
            "/transform/images/cat.jpg?w=600&h=600",
        ],
        &[],
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "/transform/images/cat.jpg?w=600&h=600&s=a553f3414679280a38bea2bb3795608c1eecbf9e"
    );
    let out = ferrotype(
        &[
            "sign",
            "https://img.example.com/transform/images/cat.jpg?w=600&h=600&s=old",
        ],
        &[
            ("FERROTYPE_KEYS", "secret,older"),
            ("FERROTYPE_SIGNATURE", "sha256"),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "https://img.example.com/transform/images/cat.jpg?w=600&h=600&s=cb164b078ead9f84d06a0035305c0fe03e1d4f46f7db6f653849909813803fa4"
    );
    let out = ferrotype(&["sign", "/transform/a/b.jpg"], &[]);
    assert!(!out.status.success(), "demo mode has no key to sign with");
}

#[test]
fn help_reads_well() {
    let out = ferrotype(&["--help"], &[]);
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "sign", "FERROTYPE_", "Examples:"] {
        assert!(help.contains(word), "{help}");
    }
}

#[tokio::test]
async fn demo_mode_prints_working_signed_urls() {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrotype"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("XDG_CACHE_HOME", cache.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut urls = Vec::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.trim().strip_prefix("http://") {
            urls.push(format!("http://{u}"));
        }
        if line.starts_with("ferrotype listening on") {
            break;
        }
    }
    assert!(
        urls.len() >= 3,
        "demo mode printed {urls:?} (is 127.0.0.1:8080 taken?)"
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    assert!(urls.iter().any(|u| u.contains("/info/")), "{urls:?}");
    for u in &urls {
        let r = client.get(u).send().await.unwrap();
        assert_eq!(r.status(), 200, "{u}");
        let body = r.bytes().await.unwrap();
        if u.contains("/info/") {
            let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(info["width"].as_u64().is_some_and(|w| w > 0), "{info}");
        } else {
            common::decode(&body);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn speaks_h2c_as_well_as_http_1_1() {
    let server = Server::with_corpus();
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2
        .get(server.url(&server.signed("/transform/corpus/photo/rocket.jpg?w=64&fm=webp")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    assert_eq!(common::decode(&r.bytes().await.unwrap()).width, 64);
    // The client's HTTP/2 connection outlives this function on the test runtime; a
    // graceful stop would wait the full 10 s for it.
    let mut server = server;
    server.kill9();
}
