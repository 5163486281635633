//! `p2p-chat config`: the effective settings as TOML, each with its source.

use super::{Config, Source};

/// `p2p-chat config`: the file consulted and every effective setting with its source, as
/// TOML a user can copy into the file.
pub fn report(config: &Config) -> String {
    let state = if config.exists {
        ""
    } else {
        " (absent: defaults apply)"
    };
    let mut out = format!("# config file: {}{state}\n", config.path.display());
    out.push_str("# precedence: command line > environment > config file > default\n");
    let width = config
        .effective
        .iter()
        .map(|e| e.key.len() + e.value.len())
        .max()
        .unwrap_or(0);
    for e in &config.effective {
        let pad = width - e.key.len() - e.value.len();
        out.push_str(&format!(
            "{} = {}{}  # {}\n",
            e.key,
            e.value,
            " ".repeat(pad),
            e.source
        ));
    }
    if !config.window.colour {
        out.push_str("# colours off: NO_COLOR is set in the environment\n");
    }
    out.push_str("\n[keys]\n");
    for (name, keys) in config.window.keys.describe() {
        let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
        let source = if config.keys_from_file.contains(name) {
            Source::File
        } else {
            Source::Default
        };
        out.push_str(&format!("{name} = [{}]  # {source}\n", quoted.join(", ")));
    }
    out
}
