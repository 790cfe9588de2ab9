//! The README's Node.js and Python signing snippets, run with real interpreters against
//! the real server: the documentation cannot drift from the implementation.

mod common;

use std::process::Command;

use common::Server;

/// The body of the first fenced block tagged `lang` in README.md's "Signing URLs" section.
fn snippet(lang: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Signing URLs")
        .nth(1)
        .expect("README has a Signing URLs section");
    let fence = format!("```{lang}\n");
    let start = section
        .find(&fence)
        .unwrap_or_else(|| panic!("no {lang} block"))
        + fence.len();
    let len = section[start..].find("```").expect("closing fence");
    section[start..start + len].to_owned()
}

fn run(program: &str, script: &str, key: &str, target: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sign");
    std::fs::write(&file, script).unwrap();
    let out = Command::new(program)
        .arg(&file)
        .arg(key)
        .arg(target)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn node(key: &str, target: &str) -> String {
    let script = format!(
        "{}\nconsole.log(signUrl(process.argv[2], process.argv[3]));\n",
        snippet("js")
    );
    run("node", &script, key, target)
}

fn python(key: &str, target: &str) -> String {
    let script = format!(
        "{}\nimport sys\nprint(sign_url(sys.argv[1], sys.argv[2]))\n",
        snippet("python")
    );
    run("python3", &script, key, target)
}

#[test]
fn snippets_reproduce_the_api_md_example() {
    let expected =
        "/transform/images/cat.jpg?w=600&h=600&s=a553f3414679280a38bea2bb3795608c1eecbf9e";
    for sign in [node, python] {
        assert_eq!(
            sign("secret", "/transform/images/cat.jpg?w=600&h=600"),
            expected
        );
        // Re-signing replaces an old `s`, wherever it stood.
        assert_eq!(
            sign("secret", "/transform/images/cat.jpg?s=old&w=600&h=600"),
            expected
        );
    }
}

#[tokio::test]
async fn urls_signed_by_the_snippets_are_served() {
    let s = Server::with_corpus();
    let origin = common::Origin::start(common::corpus());
    let proxy = Server::builder()
        .env("FERROTYPE_ALLOWED_HOSTS", "127.0.0.1")
        .env("FERROTYPE_ALLOWED_NETWORKS", "127.0.0.0/8")
        .start();
    let encoded = format!(
        "http%3A%2F%2F127.0.0.1%3A{}%2Fphoto%2Frocket.jpg",
        origin.addr.port()
    );
    for sign in [node, python] {
        for target in [
            "/transform/corpus/photo/rocket.jpg?w=120&fm=webp&fit=cover&h=80",
            "/transform/corpus/png/pngsuite-basn2c16.png",
        ] {
            let r = s.get_raw(&sign(common::KEY, target), &[]).await;
            assert_eq!(r.status, 200, "{target}: {}", r.text());
            r.image();
        }
        let r = proxy
            .get_raw(
                &sign(common::KEY, &format!("/transform?w=50&url={encoded}")),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.image().width, 50);
    }
}
