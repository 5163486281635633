//! Tests of the command line: defaults, ranges, repeated and paired options.

use super::*;
use crate::state::Settings;
use std::time::Duration;

#[test]
fn defaults_match_the_documented_values() {
    let config = Config::try_parse_from(["p2p-chat-directory"]).unwrap();
    assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(config.database, DEFAULT_DATABASE);
    let settings = config.settings();
    let defaults = Settings::default();
    assert_eq!(settings.presence_window, defaults.presence_window);
    assert_eq!(settings.token_ttl, defaults.token_ttl);
    assert_eq!(settings.bcrypt_cost, 12);
    assert_eq!(settings.rate_limit, defaults.rate_limit);
    assert!(!settings.public_listing && settings.trusted_proxies.is_empty());
    assert_eq!(settings.mailbox, defaults.mailbox);
    assert_eq!(config.tls_files(), None);
}

#[test]
fn proxies_repeat_and_tls_needs_both_files() {
    let config = Config::try_parse_from([
        "p2p-chat-directory",
        "--trusted-proxy",
        "10.0.0.0/8",
        "--trusted-proxy",
        "::1,192.0.2.1",
        "--rate-limit-per-minute",
        "0",
        "--public-listing",
    ])
    .unwrap();
    let proxies: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(proxies, ["10.0.0.0/8", "::1/128", "192.0.2.1/32"]);
    let settings = config.settings();
    assert_eq!(settings.rate_limit, None);
    assert!(settings.public_listing);

    for args in [&["--tls-cert", "c.pem"][..], &["--tls-key", "k.pem"]] {
        let err = Config::try_parse_from([&["p2p-chat-directory"][..], args].concat());
        let text = err.unwrap_err().to_string();
        assert!(text.contains("--tls-"), "{text}");
    }
    let both = [
        "p2p-chat-directory",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
    ];
    assert!(Config::try_parse_from(both).unwrap().tls_files().is_some());
}

#[test]
fn out_of_range_values_are_refused() {
    for args in [
        ["--bcrypt-cost", "3"],
        ["--bcrypt-cost", "32"],
        ["--presence-window-secs", "0"],
        ["--token-ttl-days", "0"],
        ["--token-ttl-days", "3651"],
        ["--listen", "localhost"],
        ["--trusted-proxy", "proxy.example"],
        ["--rate-limit-burst", "0"],
        ["--rate-limit-per-minute", "-1"],
        ["--mailbox-max-messages", "0"],
        ["--mailbox-max-bytes", "0"],
        ["--mailbox-max-message-bytes", "65537"],
        ["--mailbox-ttl-days", "0"],
        ["--mailbox-ttl-days", "366"],
        ["--database-max-connections", "0"],
        ["--database-max-connections", "1001"],
    ] {
        let parsed = Config::try_parse_from(["p2p-chat-directory", args[0], args[1]]);
        assert!(parsed.is_err(), "{args:?} accepted");
    }
}

#[test]
fn mailbox_limits_come_from_the_options() {
    let config = Config::try_parse_from([
        "p2p-chat-directory",
        "--mailbox-max-messages",
        "5",
        "--mailbox-max-bytes",
        "4096",
        "--mailbox-max-message-bytes",
        "1024",
        "--mailbox-ttl-days",
        "2",
    ])
    .unwrap();
    let limits = config.settings().mailbox;
    assert_eq!((limits.max_messages, limits.max_bytes), (5, 4096));
    assert_eq!(limits.max_message_bytes, 1024);
    assert_eq!(limits.ttl, Duration::from_secs(2 * SECS_PER_DAY));
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    Config::command().debug_assert();
}

#[test]
fn registration_defaults_to_invite_and_takes_each_mode() {
    use crate::registration::Registration;
    let config = Config::try_parse_from(["p2p-chat-directory"]).unwrap();
    assert_eq!(config.settings().registration, Registration::Invite);
    for (word, mode) in [
        ("open", Registration::Open),
        ("invite", Registration::Invite),
        ("closed", Registration::Closed),
    ] {
        let config =
            Config::try_parse_from(["p2p-chat-directory", "--registration", word]).unwrap();
        assert_eq!(config.settings().registration, mode);
    }
    assert!(Config::try_parse_from(["p2p-chat-directory", "--registration", "maybe"]).is_err());
}
