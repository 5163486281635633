//! The config file and the precedence flag > environment > file > default, through the real
//! binary's `check-config` (and a server started from a file).

use std::path::Path;
use std::process::Output;

use crate::binary::{directory, launch, stop};

fn write(dir: &Path, text: &str) -> String {
    let path = dir.join("directory.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = directory();
    command.args(args).arg("check-config");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run check-config")
}

/// The `value  (source)` of `key` in check-config's output.
fn setting(out: &Output, key: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} in:\n{text}"));
    line[key.len()..].trim().to_owned()
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "# the operator's settings\nlisten = \"127.0.0.1:1111\"\nmailbox_ttl_days = 7\n\
         relay_max_sessions = 9\nregistration = \"closed\"\npublic_listing = true\n\
         trusted_proxies = [\"192.0.2.1\", \"198.51.100.0/24\"]\n",
    );
    let out = check(
        &["--config", &file, "--listen", "127.0.0.1:3333"],
        &[
            ("P2P_CHAT_DIRECTORY_LISTEN", "127.0.0.1:2222"),
            ("P2P_CHAT_DIRECTORY_MAILBOX_TTL_DAYS", "3"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(setting(&out, "listen"), "127.0.0.1:3333  (command line)");
    assert_eq!(
        setting(&out, "mailbox_ttl_days"),
        "3  (environment P2P_CHAT_DIRECTORY_MAILBOX_TTL_DAYS)"
    );
    assert_eq!(setting(&out, "relay_max_sessions"), "9  (config file)");
    assert_eq!(setting(&out, "registration"), "closed  (config file)");
    assert_eq!(setting(&out, "public_listing"), "true  (config file)");
    assert_eq!(
        setting(&out, "trusted_proxies"),
        "192.0.2.1,198.51.100.0/24  (config file)"
    );
    assert_eq!(setting(&out, "bcrypt_cost"), "12  (default)");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("config file: {file}")));

    // The environment names the file too.
    let out = check(&[], &[("P2P_CHAT_DIRECTORY_CONFIG", &file)]);
    assert_eq!(setting(&out, "listen"), "127.0.0.1:1111  (config file)");
}

#[test]
fn mistakes_in_the_file_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, needles) in [
        (
            "\n# ttl\nmailbox_ttl_days = 999\n",
            &["line 3", "key `mailbox_ttl_days`", "999", "1..=365"][..],
        ),
        (
            "listen = \"nowhere\"\n",
            &["line 1", "key `listen`", "nowhere"],
        ),
        (
            "registration = \"sometimes\"\n",
            &["key `registration`", "open, invite, closed"],
        ),
        (
            "\n\nlisen = 1\n",
            &["line 3", "key `lisen`", "no such setting", "listen"],
        ),
        (
            "public_listing = \"yes\"\n",
            &["key `public_listing`", "true or false"],
        ),
        ("listen = [\"a\", \"b\"]\n", &["key `listen`", "one value"]),
        ("[mailbox]\nttl = 3\n", &["line 1", "key `mailbox`"]),
        ("listen = \n", &["line 1", "column"]),
        (
            "config = \"other.toml\"\n",
            &["key `config`", "no such setting"],
        ),
        ("tls_cert = \"cert.pem\"\n", &["tls_key"]),
    ] {
        let file = write(dir.path(), text);
        let out = check(&["--config", &file], &[]);
        assert_eq!(out.status.code(), Some(1), "{text:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&file), "{text:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{text:?} lacks {needle:?}: {err}");
        }
    }
    let out = check(
        &[
            "--config",
            &dir.path().join("absent.toml").display().to_string(),
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config file"));
}

#[test]
fn check_config_hides_a_database_password_and_reads_the_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "database = \"postgres://chat:s3cret@192.0.2.5/chat\"\ntls_cert = \"missing.pem\"\n\
         tls_key = \"missing.pem\"\n",
    );
    let out = check(&["--config", &file], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tls_cert, tls_key: cannot read missing.pem") && !err.contains("s3cret"),
        "{err}"
    );
    let file = write(
        dir.path(),
        "database = \"postgres://chat:s3cret@192.0.2.5/chat\"\n",
    );
    let out = check(&["--config", &file], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("s3cret") && text.contains("chat:***@"),
        "{text}"
    );
}

#[test]
fn the_server_serves_with_the_files_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("d.db").display());
    let file = write(
        dir.path(),
        &format!("listen = \"127.0.0.1:0\"\ndatabase = \"{db}\"\nbcrypt_cost = 4\n"),
    );
    let (mut server, url) = launch(directory(), &["--config", &file]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    stop(&mut server);
    assert!(
        dir.path().join("d.db").exists(),
        "the file's database was used"
    );
    // The operator's commands read the same file.
    let out = directory()
        .args(["--config", &file, "users", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_refuses_what_the_server_could_not_start_with() {
    for (args, says) in [
        (
            &["--database", "/var/lib/x.db"][..],
            "database /var/lib/x.db",
        ),
        (
            &["--database", "mysql://h/db"][..],
            "unsupported database URL scheme",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:27182",
                "--metrics-listen",
                "127.0.0.1:27182",
            ][..],
            "an address of their own",
        ),
    ] {
        let out = check(args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
