use super::*;
use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// Parses `args` with `env` set, as `main` does, against a config file with `text`.
fn run(args: &[&str], text: &str) -> (Cli, Config) {
    let matches = Cli::command().try_get_matches_from(args).unwrap();
    let mut cli = Cli::from_arg_matches(&matches).unwrap();
    let file = file::parse(text).unwrap();
    let config = resolve(
        PathBuf::from("config.toml"),
        true,
        &file,
        |id| matches.value_source(id),
        false,
        &mut cli.global,
    );
    (cli, config)
}

fn source(config: &Config, key: &str) -> Source {
    config
        .effective
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.source.clone())
        .unwrap()
}

#[test]
fn the_file_fills_in_what_flags_leave_out() {
    let (cli, config) = run(
        &["p2p-chat", "listen"],
        "listen = \"127.0.0.1:4000\"\nbell = false\nrelay_only = true\nport_mapping = false\n",
    );
    assert_eq!(cli.global.listen, "127.0.0.1:4000".parse().unwrap());
    assert!(cli.global.no_bell && cli.global.relay_only && cli.global.no_port_mapping);
    assert!(!cli.global.refuse_strangers);
    assert_eq!(source(&config, "listen"), Source::File);
    assert_eq!(source(&config, "bell"), Source::File);
    assert_eq!(source(&config, "refuse_strangers"), Source::Default);
    let printed = report(&config);
    assert!(printed.contains("bell = false"), "{printed}");
    assert!(printed.contains("port_mapping = false"), "{printed}");
}

#[test]
fn a_flag_beats_the_file_wherever_it_is_written() {
    // Global options may come before or after the subcommand.
    for args in [
        &[
            "p2p-chat",
            "--listen",
            "127.0.0.1:5000",
            "--no-bell",
            "listen",
        ][..],
        &[
            "p2p-chat",
            "listen",
            "--listen",
            "127.0.0.1:5000",
            "--no-bell",
        ][..],
    ] {
        let (cli, config) = run(args, "listen = \"127.0.0.1:4000\"\nbell = true\n");
        assert_eq!(
            cli.global.listen,
            "127.0.0.1:5000".parse().unwrap(),
            "{args:?}"
        );
        assert!(cli.global.no_bell, "{args:?}");
        assert_eq!(source(&config, "listen"), Source::Flag, "{args:?}");
        assert_eq!(source(&config, "bell"), Source::Flag, "{args:?}");
    }
}

#[test]
fn defaults_apply_without_a_file() {
    let (cli, config) = run(&["p2p-chat"], "");
    assert_eq!(cli.global.listen.to_string(), crate::cli::DEFAULT_LISTEN);
    assert!(!cli.global.no_bell);
    assert!(config.effective.iter().all(|e| e.source == Source::Default));
    assert_eq!(config.window, WindowSettings::default());
    // What `config` prints parses as a config file that changes nothing.
    let printed = report(&config);
    assert_eq!(
        file::parse(&printed).unwrap().listen,
        Some(cli.global.listen)
    );
}

#[test]
fn window_settings_come_from_the_file() {
    let (_, config) = run(
        &["p2p-chat"],
        "read_receipts = true\nmute = [\"bob\"]\ntimestamp_format = \"%H:%M:%S\"\ntheme = \"light\"\n",
    );
    assert!(config.window.read_receipts);
    assert!(config.window.mute.contains("bob"));
    assert_eq!(config.window.timestamp_format, "%H:%M:%S");
    assert_eq!(config.window.theme, Theme::Light);
    assert_eq!(source(&config, "mute"), Source::File);
}

#[test]
fn a_missing_named_file_is_an_error_and_a_missing_default_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("nope.toml");
    let err = read(&absent, true).unwrap_err();
    assert!(err.to_string().contains("nope.toml"), "{err}");
    assert_eq!(
        read(&absent, false).unwrap(),
        (FileConfig::default(), false)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "bell = true\ncolor = \"red\"\n").unwrap();
    let err = read(&bad, false).unwrap_err().to_string();
    assert!(
        err.contains("bad.toml") && err.contains("line 2") && err.contains("color"),
        "{err}"
    );
}

#[test]
fn timestamp_formats_are_checked() {
    assert!(check_timestamp_format("%H:%M").is_ok());
    assert!(check_timestamp_format("%d.%m. %H:%M").is_ok());
    assert!(check_timestamp_format("%").is_err());
    assert!(check_timestamp_format("%Q").is_err());
}
