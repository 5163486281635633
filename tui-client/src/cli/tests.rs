use super::*;
use clap::CommandFactory;

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

/// The man pages in docs/man of both programs are generated from their clap definitions:
/// a changed `--help` needs `P2P_CHAT_WRITE_MAN=1 cargo test -p p2p-chat --lib man_pages`
/// (CI fails otherwise).
#[test]
fn man_pages_match_the_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/man");
    check_man_pages(Cli::command(), &dir);
    check_man_pages(p2p_chat_directory::config::Config::command(), &dir);
}

/// Renders the pages of `command` and its subcommands and compares them with the files
/// in `dir` (or writes them there with `P2P_CHAT_WRITE_MAN=1`).
fn check_man_pages(command: clap::Command, dir: &std::path::Path) {
    let fresh = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(command.clone(), fresh.path()).unwrap();
    if std::env::var_os("P2P_CHAT_WRITE_MAN").is_some() {
        std::fs::create_dir_all(dir).unwrap();
        clap_mangen::generate_to(command, dir).unwrap();
        return;
    }
    let mut pages: Vec<_> = std::fs::read_dir(fresh.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    pages.sort();
    assert!(pages.len() > 1, "{pages:?}");
    for page in pages {
        let want = std::fs::read_to_string(fresh.path().join(&page)).unwrap();
        let have = std::fs::read_to_string(dir.join(&page)).unwrap_or_default();
        assert!(
            want == have,
            "docs/man/{} is stale: run P2P_CHAT_WRITE_MAN=1 cargo test man_pages",
            page.to_string_lossy()
        );
    }
}

#[test]
fn connect_needs_exactly_one_target() {
    assert!(Cli::try_parse_from(["p2p-chat", "connect", "bob"]).is_ok());
    assert!(Cli::try_parse_from(["p2p-chat", "connect", "--ip", "127.0.0.1:1"]).is_ok());
    assert!(Cli::try_parse_from(["p2p-chat", "connect"]).is_err());
    assert!(Cli::try_parse_from(["p2p-chat", "connect", "bob", "--ip", "127.0.0.1:1"]).is_err());
}

#[test]
fn no_bell_is_a_global_flag() {
    let cli = Cli::try_parse_from(["p2p-chat", "connect", "bob", "--no-bell"]);
    assert!(cli.is_ok_and(|cli| cli.global.no_bell));
    let cli = Cli::try_parse_from(["p2p-chat"]);
    assert!(cli.is_ok_and(|cli| !cli.global.no_bell));
}

#[test]
fn bad_listen_address_and_port_are_refused() {
    assert!(Cli::try_parse_from(["p2p-chat", "--listen", "nonsense", "listen"]).is_err());
    // Each mistake is named.
    let cases = [
        ("127.0.0.1", "has no port"),
        ("127.0.0.1:99999", "is not a port"),
        ("localhost:55555", "is not an IP address"),
        ("::1:55555", "goes in brackets"),
    ];
    for (bad, says) in cases {
        let err = parse_listen(bad).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
    for good in ["0.0.0.0:55555", "127.0.0.1:0", "[::]:55555", "[::1]:4000"] {
        assert!(parse_listen(good).is_ok(), "{good}");
    }
    let zero_port = [
        "p2p-chat", "register", "bob", "--server", "http://x", "--port", "0",
    ];
    assert!(Cli::try_parse_from(zero_port).is_err());
}
