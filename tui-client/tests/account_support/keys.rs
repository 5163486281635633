//! `rotate-key` and `verify` through the real binary: publishing a new key, what a contact
//! sees, interrupted rotations, and verifying from the pin while the directory cannot help.

use std::path::Path;

use p2p_chat::identity::{Identity, PENDING_IDENTITY_FILE, fingerprint};
use p2p_chat_protocol::api::{ClientRecord, UpdateRequest};
use tempfile::TempDir;

use crate::account_support::{Directory, PASSWORD, directory, p2p, profile, register_args};

fn register(dir: &Directory, home: &Path, name: &str) {
    p2p(
        home,
        &register_args(name, &dir.url),
        &format!("{PASSWORD}\n"),
    )
    .assert_ok();
}

/// The fingerprint `whoami` prints.
fn whoami_fingerprint(home: &Path) -> String {
    let out = p2p(home, &["whoami"], "");
    let line = out
        .assert_ok()
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint: "));
    line.unwrap_or_else(|| panic!("no fingerprint in {out:?}"))
        .to_owned()
}

fn lookup(home: &Path, name: &str) -> ClientRecord {
    serde_json::from_str(p2p(home, &["lookup", name, "--json"], "").assert_ok()).unwrap()
}

fn key_of(home: &Path) -> String {
    Identity::load_or_create(home).unwrap().public_hex()
}

/// Points the profile of `home` at a port where no directory answers.
fn lose_the_directory(home: &Path) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut saved = profile(home);
    saved["server"] = url.into();
    std::fs::write(home.join("profile.json"), saved.to_string()).unwrap();
}

#[test]
fn rotate_key_publishes_a_new_key_that_contacts_see_as_a_change() {
    let dir = directory();
    let (alice, bob) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (alice, bob) = (alice.path(), bob.path());
    register(&dir, alice, "alice");
    register(&dir, bob, "bob");
    // Bob pins alice's current key.
    p2p(bob, &["verify", "alice", "--confirm"], "").assert_ok();
    let (old_key, old_fp) = (key_of(alice), whoami_fingerprint(alice));

    let closed = p2p(alice, &["rotate-key"], "");
    assert!(!closed.success, "{closed:?}");
    let last = closed.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("pass --yes"),
        "{closed:?}"
    );
    let declined = p2p(alice, &["rotate-key"], "n\n");
    assert_eq!(declined.assert_ok(), "Nothing was changed.\n");
    assert!(declined.stderr.contains("[y/N]"), "{declined:?}");
    assert_eq!(key_of(alice), old_key);
    assert_eq!(lookup(bob, "alice").public_key, old_key);

    let out = p2p(alice, &["rotate-key", "--yes"], "");
    let new_key = key_of(alice);
    assert_ne!(new_key, old_key);
    let new_fp = whoami_fingerprint(alice);
    let text = out.assert_ok();
    assert!(
        text.contains(&format!("old fingerprint: {old_fp}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("new fingerprint: {new_fp}\n")),
        "{text}"
    );
    assert!(text.contains("verify alice --accept-new-key"), "{text}");
    assert!(!alice.join(PENDING_IDENTITY_FILE).exists());
    let record = lookup(bob, "alice");
    assert_eq!(record.public_key, new_key);
    assert_eq!((record.host.as_str(), record.port), ("127.0.0.1", 4000));

    let expected = format!("alice's key changed: pinned {old_fp}, now {new_fp}");
    p2p(bob, &["verify", "alice"], "").assert_error(&expected);
    let accepted = p2p(bob, &["verify", "alice", "--accept-new-key"], "");
    assert!(
        accepted
            .assert_ok()
            .contains("now trusting alice's new key")
    );
    p2p(bob, &["verify", "alice"], "").assert_ok();

    // An answer typed at the prompt works too.
    p2p(alice, &["rotate-key"], "YES\n").assert_ok();
    assert_ne!(key_of(alice), new_key);
}

#[test]
fn interrupted_or_refused_rotations_leave_one_consistent_key() {
    let dir = directory();
    let home = TempDir::new().unwrap();
    let home = home.path();
    register(&dir, home, "carol");
    let token = profile(home)["token"].as_str().unwrap().to_owned();

    // A side file the directory never saw is thrown away, and the rotation goes ahead.
    let unpublished = Identity::generate().unwrap();
    unpublished.save_pending(home).unwrap();
    let whoami = p2p(home, &["whoami"], "");
    assert!(whoami.stderr.contains("interrupted"), "{whoami:?}");
    let out = p2p(home, &["rotate-key", "--yes"], "");
    assert!(out.stderr.contains("discarded"), "{out:?}");
    out.assert_ok();
    let key = key_of(home);
    assert_ne!(key, unpublished.public_hex());
    assert_eq!(lookup(home, "carol").public_key, key);

    // A crash after the directory took the key: the next rotate-key finishes the job.
    let published = Identity::generate().unwrap();
    published.save_pending(home).unwrap();
    let update = UpdateRequest {
        host: "127.0.0.1".into(),
        port: Some(4000),
        public_key: Some(published.public_hex()),
        candidates: None,
        relay_only: None,
    };
    let status = dir.runtime.block_on(async {
        let http = reqwest::Client::new();
        let url = format!("{}/clients/carol", dir.url);
        let put = http.put(url).bearer_auth(&token).json(&update);
        put.send().await.unwrap().status().as_u16()
    });
    assert_eq!(status, 200);
    assert_eq!(
        key_of(home),
        key,
        "the side file is not used before it is finished"
    );
    let out = p2p(home, &["rotate-key", "--yes"], "");
    assert!(out.stderr.contains("finished an interrupted"), "{out:?}");
    assert!(
        out.assert_ok().contains(&format!(
            "new fingerprint: {}",
            fingerprint(published.public())
        )),
        "{out:?}"
    );
    assert_eq!(key_of(home), published.public_hex());
    assert!(!home.join(PENDING_IDENTITY_FILE).exists());

    // A refused update changes nothing.
    let copy = TempDir::new().unwrap();
    std::fs::copy(home.join("profile.json"), copy.path().join("profile.json")).unwrap();
    std::fs::copy(
        home.join("identity.json"),
        copy.path().join("identity.json"),
    )
    .unwrap();
    p2p(home, &["logout"], "").assert_ok();
    let stale = p2p(copy.path(), &["rotate-key", "--yes"], "");
    stale.assert_error("your identity key was not changed: your login expired");
    assert_eq!(key_of(copy.path()), published.public_hex());
    assert!(!copy.path().join(PENDING_IDENTITY_FILE).exists());
    p2p(home, &["rotate-key", "--yes"], "").assert_error("run `p2p-chat login` first");
}

#[test]
fn verify_falls_back_to_the_pin_when_the_directory_cannot_help() {
    let dir = directory();
    let (dan, erin) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (dan, erin) = (dan.path(), erin.path());
    register(&dir, dan, "dan");
    register(&dir, erin, "erin");
    let confirmed = p2p(erin, &["verify", "dan", "--confirm"], "");
    let number: Vec<String> = confirmed
        .assert_ok()
        .lines()
        .filter(|l| l.split(' ').count() == 6)
        .map(str::to_owned)
        .collect();
    assert_eq!(number.len(), 2, "{confirmed:?}");

    // The directory is unreachable: the pin still gives the safety number.
    let saved = std::fs::read(erin.join("profile.json")).unwrap();
    lose_the_directory(erin);
    let offline = p2p(erin, &["verify", "dan"], "");
    let text = offline.assert_ok();
    assert!(number.iter().all(|l| text.contains(l.as_str())), "{text}");
    assert!(text.contains("dan's key is verified"), "{text}");
    assert!(
        offline
            .stderr
            .starts_with("note: showing the pinned key of dan")
            && offline.stderr.contains("cannot reach the directory"),
        "{offline:?}"
    );
    p2p(erin, &["verify", "nobody"], "").assert_error("no key of nobody is pinned");
    p2p(erin, &["verify", "dan", "--accept-new-key"], "").assert_error("none to take");

    // Dan leaves the directory: erin still has his key pinned.
    std::fs::write(erin.join("profile.json"), saved).unwrap();
    let unregister = ["unregister", "--password-stdin"];
    p2p(dan, &unregister, &format!("{PASSWORD}\n")).assert_ok();
    let unlisted = p2p(erin, &["verify", "dan"], "");
    assert!(unlisted.assert_ok().contains(number[0].as_str()));
    assert!(
        unlisted
            .stderr
            .contains("the directory lists no key for dan"),
        "{unlisted:?}"
    );
}
