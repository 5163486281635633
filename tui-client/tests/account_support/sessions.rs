//! `logout`, `passwd`, `register --host auto`, the published identity key, the plain-HTTP
//! password and token warnings and the directory's rate limit, through the real binary.

use std::num::NonZeroU32;
use std::time::Duration;

use p2p_chat::identity::Identity;
use p2p_chat_directory::Settings;
use p2p_chat_directory::limits::RateLimit;
use p2p_chat_protocol::api::ClientRecord;
use tempfile::TempDir;

use crate::account_support::{
    Directory, PASSWORD, directory, directory_with, p2p, profile, register_args,
};

const NEW_PASSWORD: &str = "a brand new passphrase";
const WARNING: &str = "warning: sending your password over plain HTTP";
const TOKEN_WARNING: &str = "warning: sending your login token over plain HTTP";

/// The status of a heartbeat with `token`, sent from the test.
fn heartbeat(dir: &Directory, user: &str, token: &str) -> u16 {
    let url = format!("{}/clients/{user}/heartbeat", dir.url);
    dir.runtime.block_on(async {
        p2p_chat::directory::install_crypto_provider();
        let client = reqwest::Client::new();
        let reply = client.post(url).bearer_auth(token).send().await.unwrap();
        reply.status().as_u16()
    })
}

fn token(home: &std::path::Path) -> Option<String> {
    profile(home)["token"].as_str().map(str::to_owned)
}

#[test]
fn logout_revokes_the_token_and_forgets_it() {
    let dir = directory();
    let home = TempDir::new().unwrap();
    let home = home.path();
    p2p(
        home,
        &register_args("lou", &dir.url),
        &format!("{PASSWORD}\n"),
    )
    .assert_ok();
    let saved = token(home).unwrap();
    assert_eq!(heartbeat(&dir, "lou", &saved), 204);

    let out = p2p(home, &["logout"], "");
    assert_eq!(
        out.assert_ok(),
        format!("Logged out lou from {}.\n", dir.url)
    );
    assert_eq!(token(home), None);
    assert_eq!(
        profile(home)["username"],
        "lou",
        "the account stays in the profile"
    );
    assert_eq!(heartbeat(&dir, "lou", &saved), 401);
    assert_eq!(
        p2p(home, &["logout"], "").assert_ok(),
        "Not logged in; nothing to do.\n"
    );
    p2p(home, &["passwd", "--password-stdin"], "").assert_error("run `p2p-chat login` first");

    // A token the directory already dropped is forgotten too.
    let login = p2p(
        home,
        &["login", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    login.assert_ok();
    let fresh = token(home).unwrap();
    let copy = TempDir::new().unwrap();
    std::fs::copy(home.join("profile.json"), copy.path().join("profile.json")).unwrap();
    p2p(home, &["logout"], "").assert_ok();
    p2p(copy.path(), &["logout"], "").assert_ok();
    assert_eq!(token(copy.path()), None);
    assert_eq!(heartbeat(&dir, "lou", &fresh), 401);

    let empty = TempDir::new().unwrap();
    p2p(empty.path(), &["logout"], "").assert_error("no profile yet");
}

#[test]
fn passwd_changes_the_password_and_renews_the_login() {
    let dir = directory();
    let home = TempDir::new().unwrap();
    let home = home.path();
    p2p(
        home,
        &register_args("pam", &dir.url),
        &format!("{PASSWORD}\n"),
    )
    .assert_ok();
    let old_token = token(home).unwrap();
    let passwd = ["passwd", "--password-stdin"];

    let wrong = p2p(home, &passwd, &format!("not my password\n{NEW_PASSWORD}\n"));
    wrong.assert_error("the current password is wrong");
    p2p(home, &passwd, &format!("{PASSWORD}\nshort\n")).assert_error("at least 8 bytes");
    p2p(home, &passwd, &format!("{PASSWORD}\n")).assert_error("standard input is empty");
    p2p(home, &passwd, &format!("{PASSWORD}\n{PASSWORD}\n")).assert_error("the same");
    assert_eq!(
        token(home).as_deref(),
        Some(old_token.as_str()),
        "nothing changed"
    );

    let out = p2p(home, &passwd, &format!("{PASSWORD}\n{NEW_PASSWORD}\n"));
    assert!(
        out.assert_ok().starts_with("Changed the password of pam"),
        "{out:?}"
    );
    let new_token = token(home).unwrap();
    assert_ne!(new_token, old_token);
    assert_eq!(
        heartbeat(&dir, "pam", &old_token),
        401,
        "old logins are revoked"
    );
    assert_eq!(heartbeat(&dir, "pam", &new_token), 204);
    let login = ["login", "--password-stdin"];
    p2p(home, &login, &format!("{PASSWORD}\n")).assert_error("wrong username or password");
    p2p(home, &login, &format!("{NEW_PASSWORD}\n")).assert_ok();

    // A revoked saved token is reported as such.
    let copy = TempDir::new().unwrap();
    std::fs::copy(home.join("profile.json"), copy.path().join("profile.json")).unwrap();
    p2p(home, &["logout"], "").assert_ok();
    let stale = p2p(
        copy.path(),
        &passwd,
        &format!("{NEW_PASSWORD}\n{PASSWORD}\n"),
    );
    stale.assert_error("your login expired");
}

#[test]
fn register_publishes_the_identity_key_and_host_auto() {
    let dir = directory();
    let home = TempDir::new().unwrap();
    let home = home.path();
    let args = [
        "register",
        "Vic",
        "--server",
        &dir.url,
        "--host",
        "AUTO",
        "--port",
        "4100",
        "--password-stdin",
    ];
    let out = p2p(home, &args, &format!("{PASSWORD}\n"));
    assert!(
        out.assert_ok().contains("reach you at 127.0.0.1:4100."),
        "{out:?}"
    );
    assert!(
        !out.stderr.contains(WARNING),
        "loopback needs no warning: {out:?}"
    );

    let record: ClientRecord =
        serde_json::from_str(p2p(home, &["lookup", "vic", "--json"], "").assert_ok()).unwrap();
    assert_eq!(record.host, "127.0.0.1");
    assert_eq!(record.observed_host.as_deref(), Some("127.0.0.1"));
    let identity = Identity::load_or_create(home).unwrap();
    assert_eq!(record.public_key, identity.public_hex());
}

#[test]
fn passwords_bound_for_plain_http_elsewhere_are_warned_about() {
    let home = TempDir::new().unwrap();
    // TEST-NET-1 (RFC 5737): nothing answers there, but the warning comes before sending.
    let args = [
        "login",
        "zed",
        "--server",
        "http://192.0.2.1:9",
        "--password-stdin",
    ];
    let out = p2p(home.path(), &args, &format!("{PASSWORD}\n"));
    assert!(!out.success, "{out:?}");
    let warnings = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(WARNING))
        .count();
    assert_eq!(warnings, 1, "{out:?}");
    assert!(
        out.stderr.contains("192.0.2.1") && out.stderr.contains("https://"),
        "{out:?}"
    );
}

#[test]
fn tokens_bound_for_plain_http_elsewhere_are_warned_about_once() {
    let home = TempDir::new().unwrap();
    let home = home.path();
    // A login saved for a directory on TEST-NET-1 (RFC 5737), where nothing answers.
    let saved = serde_json::json!({
        "server": "http://192.0.2.1:9",
        "username": "zed",
        "token": "ab".repeat(32),
    });
    std::fs::write(home.join("profile.json"), saved.to_string()).unwrap();
    for args in [&["contacts"][..], &["logout"]] {
        let out = p2p(home, args, "");
        assert!(!out.success, "{out:?}");
        let warnings: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .collect();
        assert_eq!(warnings.len(), 1, "{out:?}");
        assert!(
            warnings[0].starts_with(TOKEN_WARNING)
                && warnings[0].contains("192.0.2.1")
                && warnings[0].contains("replace your published key"),
            "{out:?}"
        );
    }
}

#[test]
fn rate_limits_say_when_to_retry() {
    let dir = directory_with(Settings {
        bcrypt_cost: 4,
        rate_limit: Some(RateLimit {
            burst: NonZeroU32::MIN,
            replenish_every: Duration::from_secs(3600),
        }),
        ..Default::default()
    });
    let home = TempDir::new().unwrap();
    let home = home.path();
    p2p(
        home,
        &register_args("ray", &dir.url),
        &format!("{PASSWORD}\n"),
    )
    .assert_error("too many requests from your address — try again in");
}
