//! The precedence of settings (flag > environment > file > default), as one pure function.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::parser::ValueSource;

use super::{Config, Effective, FileConfig, Source, Theme, WindowSettings};
use crate::cli::GlobalOpts;

/// The precedence itself, pure: `source_of(id)` says whether clap took a global option from
/// the command line, the environment or its default.
pub(super) fn resolve(
    path: PathBuf,
    exists: bool,
    file: &FileConfig,
    source_of: impl Fn(&str) -> Option<ValueSource>,
    no_color: bool,
    global: &mut GlobalOpts,
) -> Config {
    let mut effective = Vec::new();
    // A flag's source, or the file's value when neither flag nor environment gave one.
    let mut layer = |key: &'static str,
                     id: &str,
                     env: &'static str,
                     file: Option<bool>,
                     value: &mut bool,
                     invert: bool| {
        let source = match source_of(id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Env(env),
            _ => match file {
                Some(on) => {
                    *value = on != invert;
                    Source::File
                }
                None => Source::Default,
            },
        };
        effective.push(Effective {
            key,
            value: (*value != invert).to_string(),
            source,
        });
    };
    layer(
        "bell",
        "no_bell",
        "P2P_CHAT_NO_BELL",
        file.bell,
        &mut global.no_bell,
        true,
    );
    layer(
        "refuse_strangers",
        "refuse_strangers",
        "P2P_CHAT_REFUSE_STRANGERS",
        file.refuse_strangers,
        &mut global.refuse_strangers,
        false,
    );
    layer(
        "port_mapping",
        "no_port_mapping",
        "P2P_CHAT_NO_PORT_MAPPING",
        file.port_mapping,
        &mut global.no_port_mapping,
        true,
    );
    layer(
        "relay_only",
        "relay_only",
        "P2P_CHAT_RELAY_ONLY",
        file.relay_only,
        &mut global.relay_only,
        false,
    );
    let listen_source = match source_of("listen") {
        Some(ValueSource::CommandLine) => Source::Flag,
        Some(ValueSource::EnvVariable) => Source::Env("P2P_CHAT_LISTEN"),
        _ => match file.listen {
            Some(addr) => {
                global.listen = addr;
                Source::File
            }
            None => Source::Default,
        },
    };
    effective.insert(
        0,
        Effective {
            key: "listen",
            value: format!("\"{}\"", global.listen),
            source: listen_source,
        },
    );

    let defaults = WindowSettings::default();
    let from_file = |present: bool| {
        if present {
            Source::File
        } else {
            Source::Default
        }
    };
    let window = WindowSettings {
        read_receipts: file.read_receipts.unwrap_or(defaults.read_receipts),
        mute: file.mute.clone().unwrap_or_default(),
        timestamp_format: file
            .timestamp_format
            .clone()
            .unwrap_or(defaults.timestamp_format),
        theme: file.theme.unwrap_or_default(),
        colour: !no_color,
        keys: file
            .keys
            .as_ref()
            .map(|k| k.keymap.clone())
            .unwrap_or_default(),
        notifications: file.notifications.unwrap_or_default(),
        notification_text: file.notification_text.unwrap_or(defaults.notification_text),
        typing: file.typing.unwrap_or(defaults.typing),
        download_dir: file
            .download_dir
            .as_deref()
            .map_or(defaults.download_dir, crate::app::command::expand_home),
        auto_accept_bytes: file.auto_accept_bytes.unwrap_or(defaults.auto_accept_bytes),
    };
    let quoted = |names: &BTreeSet<String>| {
        let names: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
        format!("[{}]", names.join(", "))
    };
    effective.extend([
        Effective {
            key: "read_receipts",
            value: window.read_receipts.to_string(),
            source: from_file(file.read_receipts.is_some()),
        },
        Effective {
            key: "mute",
            value: quoted(&window.mute),
            source: from_file(file.mute.is_some()),
        },
        Effective {
            key: "timestamp_format",
            value: format!("{:?}", window.timestamp_format),
            source: from_file(file.timestamp_format.is_some()),
        },
        Effective {
            key: "notifications",
            value: format!("{:?}", format!("{:?}", window.notifications).to_lowercase()),
            source: from_file(file.notifications.is_some()),
        },
        Effective {
            key: "notification_text",
            value: window.notification_text.to_string(),
            source: from_file(file.notification_text.is_some()),
        },
        Effective {
            key: "typing",
            value: window.typing.to_string(),
            source: from_file(file.typing.is_some()),
        },
        Effective {
            key: "download_dir",
            value: format!("{:?}", window.download_dir.display().to_string()),
            source: from_file(file.download_dir.is_some()),
        },
        Effective {
            key: "auto_accept_bytes",
            value: window.auto_accept_bytes.to_string(),
            source: from_file(file.auto_accept_bytes.is_some()),
        },
        Effective {
            key: "theme",
            value: format!(
                "\"{}\"",
                if window.theme == Theme::Light {
                    "light"
                } else {
                    "dark"
                }
            ),
            source: from_file(file.theme.is_some()),
        },
    ]);
    let keys_from_file = file
        .keys
        .as_ref()
        .map(|k| k.names.keys().cloned().collect())
        .unwrap_or_default();
    Config {
        path,
        exists,
        window,
        effective,
        keys_from_file,
    }
}
