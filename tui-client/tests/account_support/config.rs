//! `p2p-chat config` and the config file, through the real binary: one precedence (flag >
//! environment > file > default) and errors that name the file, line and key.

use std::path::Path;

use tempfile::TempDir;

use crate::account_support::{p2p, p2p_env};

fn line<'a>(printed: &'a str, key: &str) -> &'a str {
    printed
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in:\n{printed}"))
}

#[test]
fn config_prints_each_setting_with_its_source() {
    let home = TempDir::new().unwrap();
    let xdg = home.path().join("xdg");
    let file = xdg.join("p2p-chat/config.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "# mine\nlisten = \"127.0.0.1:4000\"\nbell = false\nmute = [\"bob\"]\nrelay_only = true\n",
    )
    .unwrap();
    let env: &[(&str, &Path)] = &[("XDG_CONFIG_HOME", &xdg)];

    // The default file is found in the platform's config directory.
    let out = p2p_env(home.path(), &["config"], "", env);
    let printed = out.assert_ok();
    assert!(printed.contains(&file.display().to_string()), "{printed}");
    assert!(
        line(printed, "listen").contains("127.0.0.1:4000"),
        "{printed}"
    );
    assert!(
        line(printed, "listen").ends_with("# config file"),
        "{printed}"
    );
    assert!(
        line(printed, "bell").starts_with("bell = false"),
        "{printed}"
    );
    assert!(line(printed, "mute").contains("[\"bob\"]"), "{printed}");
    assert!(
        line(printed, "port_mapping").ends_with("# default"),
        "{printed}"
    );

    // The environment beats the file, a flag beats both.
    let env_listen: &[(&str, &Path)] = &[
        ("XDG_CONFIG_HOME", &xdg),
        ("P2P_CHAT_LISTEN", Path::new("127.0.0.1:5000")),
        ("P2P_CHAT_NO_BELL", Path::new("0")),
    ];
    let out = p2p_env(home.path(), &["config"], "", env_listen);
    let printed = out.assert_ok();
    assert!(
        line(printed, "listen").contains("127.0.0.1:5000"),
        "{printed}"
    );
    assert!(
        line(printed, "listen").ends_with("# environment P2P_CHAT_LISTEN"),
        "{printed}"
    );
    assert!(
        line(printed, "bell").starts_with("bell = true"),
        "{printed}"
    );
    let out = p2p_env(
        home.path(),
        &["config", "--listen", "127.0.0.1:6000"],
        "",
        env_listen,
    );
    let printed = out.assert_ok().to_owned();
    assert!(
        line(&printed, "listen").contains("127.0.0.1:6000"),
        "{printed}"
    );
    assert!(
        line(&printed, "listen").ends_with("# command line"),
        "{printed}"
    );

    // --config names another file; what `config` prints is itself a valid config file.
    let copy = home.path().join("copy.toml");
    std::fs::write(&copy, &printed).unwrap();
    let out = p2p(
        home.path(),
        &["--config", copy.to_str().unwrap(), "config"],
        "",
    );
    let printed = out.assert_ok();
    assert!(
        line(printed, "listen").contains("127.0.0.1:6000"),
        "{printed}"
    );
    assert!(
        line(printed, "listen").ends_with("# config file"),
        "{printed}"
    );
}

#[test]
fn a_bad_config_file_is_refused_with_file_line_and_key() {
    let home = TempDir::new().unwrap();
    let file = home.path().join("config.toml");
    for (text, line, key) in [
        ("bell = true\n\nnotify = true\n", "line 3", "notify"),
        ("listen = \"example.org:1\"\n", "line 1", "listen"),
        ("theme = 3\n", "line 1", "theme"),
    ] {
        std::fs::write(&file, text).unwrap();
        let env: &[(&str, &Path)] = &[("P2P_CHAT_CONFIG", &file)];
        // Every command reads it, so every command refuses it.
        for args in [&["config"][..], &["whoami"][..]] {
            let out = p2p_env(home.path(), args, "", env);
            assert_eq!(out.code, Some(2), "{text:?} {args:?}");
            let err = out.stderr.clone();
            assert!(err.contains(&file.display().to_string()), "{err}");
            assert!(err.contains(line) && err.contains(key), "{text:?}: {err}");
        }
    }
    // A file named on purpose must exist.
    let absent = home.path().join("absent.toml");
    let out = p2p(
        home.path(),
        &["--config", absent.to_str().unwrap(), "config"],
        "",
    );
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.clone().contains("does not exist"));
}

#[test]
fn the_readme_example_configs_are_valid_and_apply() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
        .collect();
    assert!(blocks.len() >= 2, "the README's config examples");
    let home = TempDir::new().unwrap();
    let file = home.path().join("config.toml");
    let mut keys = Vec::new();
    for example in blocks {
        std::fs::write(&file, example).unwrap();
        let out = p2p(
            home.path(),
            &["--config", file.to_str().unwrap(), "config"],
            "",
        );
        let printed = out.assert_ok();
        // Every key of the example is in force, from the file.
        for row in example.lines() {
            let Some((key, _)) = row.split_once(" = ") else {
                continue;
            };
            let key = key.trim();
            assert!(
                line(printed, key).ends_with("# config file"),
                "{key}: {printed}"
            );
            keys.push(key.to_owned());
        }
    }
    for key in ["listen", "theme", "mute", "next-chat", "redraw"] {
        assert!(keys.iter().any(|k| k == key), "{key} not in the examples");
    }
}
