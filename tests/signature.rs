//! API.md §2 through the real server: the signature guards every signed route, in any
//! order of options, under SHA-1 or SHA-256, with several keys, and with expiry.

mod common;

use common::Server;
use ferrotype::signature::Algorithm;

const IMG: &str = "/transform/corpus/photo/rocket.jpg";

#[tokio::test]
async fn order_of_options_and_position_of_s_do_not_matter() {
    let s = Server::with_corpus();
    let signed = s.signed(&format!("{IMG}?w=64&fm=png&h=64"));
    let sig = signed.rsplit_once("s=").unwrap().1.to_owned();
    for target in [
        format!("{IMG}?w=64&fm=png&h=64&s={sig}"),
        format!("{IMG}?s={sig}&h=64&w=64&fm=png"),
        format!("{IMG}?fm=png&s={sig}&w=64&h=64"),
        format!("{IMG}?fm=png&s={}&w=64&h=64", sig.to_uppercase()),
    ] {
        let r = s.get_raw(&target, &[]).await;
        assert_eq!(r.status, 200, "{target}: {}", r.text());
    }
}

#[tokio::test]
async fn wrong_or_missing_signature_is_403_before_anything_else() {
    let s = Server::with_corpus();
    let good = s.signed(&format!("{IMG}?w=64"));
    let tampered = good.replace("w=64", "w=65");
    for target in [
        format!("{IMG}?w=64"),
        tampered,
        format!("{IMG}?w=64&s=0000000000000000000000000000000000000000"),
        format!("{IMG}?w=64&s="),
        // Bad options, a missing source, an expired date: the signature still answers first.
        format!("{IMG}?w=0&s=00"),
        "/transform/nosuch/a.jpg?s=00".to_owned(),
        format!("{IMG}?exp=1&s=00"),
        "/transform?url=http%3A%2F%2F169.254.169.254%2F&s=00".to_owned(),
        "/info/corpus/photo/rocket.jpg".to_owned(),
        "/screenshot?url=http%3A%2F%2Fexample.com%2F".to_owned(),
    ] {
        let r = s.get_raw(&target, &[]).await;
        assert_eq!(r.status, 403, "{target}");
        assert_eq!(r.header("cache-control"), "no-store");
        let body = r.text();
        assert!(
            !body.contains(&s.signed(&target)),
            "no hint of the right value"
        );
        assert_eq!(body.trim_end().lines().count(), 1);
    }
}

#[tokio::test]
async fn expiry() {
    let s = Server::with_corpus();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = s.get(&format!("{IMG}?w=32&exp={}", now + 3600)).await;
    assert_eq!(r.status, 200);
    let r = s.get(&format!("{IMG}?w=32&exp={}", now - 1)).await;
    assert_eq!(r.status, 410);
    assert_eq!(r.header("cache-control"), "no-store");
    // Expiry is checked before options.
    let r = s.get(&format!("{IMG}?w=0&exp={}", now - 1)).await;
    assert_eq!(r.status, 410);
    let r = s.get(&format!("{IMG}?w=32&exp=tomorrow")).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn sha256_mode() {
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env("FERROTYPE_SIGNATURE", "sha256")
        .signing(Algorithm::Sha256, common::KEY)
        .start();
    let target = s.signed(&format!("{IMG}?w=32"));
    assert_eq!(target.rsplit_once("s=").unwrap().1.len(), 64);
    assert_eq!(s.get_raw(&target, &[]).await.status, 200);

    let sha1 = Server::with_corpus();
    let sha1_target = sha1.signed(&format!("{IMG}?w=32"));
    assert_eq!(
        s.get_raw(&sha1_target, &[]).await.status,
        403,
        "SHA-1 does not verify in SHA-256 mode"
    );
}

#[tokio::test]
async fn any_of_two_keys_verifies() {
    for key in ["new-key", "old-key"] {
        let s = Server::builder()
            .env("FERROTYPE_SOURCES", common::corpus_source())
            .env("FERROTYPE_KEYS", "new-key,old-key")
            .signing(Algorithm::Sha1, key)
            .start();
        assert_eq!(s.get(&format!("{IMG}?w=32")).await.status, 200, "{key}");
    }
    let s = Server::builder()
        .env("FERROTYPE_SOURCES", common::corpus_source())
        .env("FERROTYPE_KEYS", "new-key,old-key")
        .signing(Algorithm::Sha1, "retired-key")
        .start();
    assert_eq!(s.get(&format!("{IMG}?w=32")).await.status, 403);
}

#[tokio::test]
async fn api_md_worked_example_verifies_on_the_server() {
    let s = Server::builder()
        .env(
            "FERROTYPE_SOURCES",
            format!("images=file://{}/photo", common::corpus().display()),
        )
        .env("FERROTYPE_KEYS", "secret")
        .start();
    // The example's signature is for cat.jpg, which the corpus does not have: a correct
    // signature for a missing file is a 404, not a 403.
    let r = s
        .get_raw(
            "/transform/images/cat.jpg?w=600&h=600&s=a553f3414679280a38bea2bb3795608c1eecbf9e",
            &[],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
}
