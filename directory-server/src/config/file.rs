//! The config file (`--config FILE`, `P2P_CHAT_DIRECTORY_CONFIG`) and the one precedence
//! story of every setting: flag > environment > file > default.
//!
//! clap already decides between a flag, its environment variable and its default, and tells
//! which one it took (`ArgMatches::value_source`). The file slots in above the default: each
//! key it sets is handed to clap as if typed on the command line, unless a flag or the
//! environment gave that setting. So every value in the file goes through the same parser and
//! range check as the flag, and `--help` stays the one list of settings. A key is the name of
//! the setting's environment variable without `P2P_CHAT_DIRECTORY_`, in lower case
//! (`P2P_CHAT_DIRECTORY_MAILBOX_TTL_DAYS` → `mailbox_ttl_days`). Why not figment or config:
//! docs/decisions/0005-directory-config-file.md.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};

use super::Config;

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "P2P_CHAT_DIRECTORY_CONFIG";

/// The prefix of every setting's environment variable.
pub const ENV_PREFIX: &str = "P2P_CHAT_DIRECTORY_";

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// This environment variable.
    Env(String),
    /// The config file.
    File,
    /// The built-in default (or unset, for settings without one).
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flag => f.write_str("command line"),
            Self::Env(name) => write!(f, "environment {name}"),
            Self::File => f.write_str("config file"),
            Self::Default => f.write_str("default"),
        }
    }
}

/// One setting as it ends up: its file key, its value as text, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    /// The key, as in the config file.
    pub key: String,
    /// The value as given (several joined with `,`); empty when unset.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The parsed configuration with what it was made of.
#[derive(Debug)]
pub struct Loaded {
    /// The settings.
    pub config: Config,
    /// The config file read, if any.
    pub file: Option<PathBuf>,
    /// Every setting in `--help` order, for `check-config`.
    pub effective: Vec<Effective>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A flag or environment variable is wrong, or `--help` / `--version` was asked for:
    /// clap's own error, to be shown with `clap::Error::exit`.
    #[error(transparent)]
    Arguments(#[from] clap::Error),
    /// The config file cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not TOML; the message gives the line and column.
    #[error("config file {}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message.
        message: String,
    },
    /// A key of the config file is unknown or has a value its setting refuses.
    #[error("config file {}, line {line}: key `{key}`: {message}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// The line of the key, from 1.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong, and what would be right.
        message: String,
    },
}

/// Parses the command line `args` (with the program name first), the environment and the
/// config file it names.
///
/// # Errors
/// [`LoadError::Arguments`] for a wrong flag or variable (and for `--help`);
/// [`LoadError::Read`], [`LoadError::Syntax`] or [`LoadError::Key`] for the file.
pub fn load<I, T>(args: I) -> Result<Loaded, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Config::command();
    // A first look, only for the file's name and for which settings flags or the environment
    // gave; a setting the file completes (--tls-key beside --tls-cert) may be missing yet.
    let first = command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(&args)?;
    let file = first.get_one::<PathBuf>("config").cloned();
    let mut injected = Vec::new();
    let mut from_file = Vec::new();
    if let Some(path) = &file {
        for (arg, tokens) in read(path, &command)? {
            let id = arg.get_id().as_str();
            if matches!(
                first.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            ) {
                continue;
            }
            from_file.push(id.to_owned());
            injected.extend(tokens);
        }
    }
    let mut full = args.clone();
    let at = usize::from(!full.is_empty());
    full.splice(at..at, injected);
    let matches = match command.clone().try_get_matches_from(&full) {
        Ok(matches) => matches,
        Err(err) => return Err(together(err, file.as_deref(), &command)),
    };
    let config = Config::from_arg_matches(&matches)?;
    let effective = settings(&command)
        .map(|arg| effective(arg, &matches, &from_file))
        .collect();
    Ok(Loaded {
        config,
        file,
        effective,
    })
}

/// A whole-parse error, naming the file's keys when settings that go together (`tls_cert`
/// and `tls_key`) are only partly given and a file was read.
fn together(err: clap::Error, file: Option<&Path>, command: &Command) -> LoadError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let (Some(path), ErrorKind::MissingRequiredArgument) = (file, err.kind()) else {
        return err.into();
    };
    let Some(ContextValue::Strings(missing)) = err.get(ContextKind::InvalidArg) else {
        return err.into();
    };
    let named: Vec<String> = missing
        .iter()
        .map(|flag| {
            let key = settings(command)
                .find(|arg| {
                    arg.get_long()
                        .is_some_and(|l| flag.starts_with(&format!("--{l}")))
                })
                .and_then(key_of);
            match key {
                Some(key) => format!("`{key}` (or {})", flag.split(' ').next().unwrap_or(flag)),
                None => flag.clone(),
            }
        })
        .collect();
    LoadError::Syntax {
        path: path.to_owned(),
        message: format!(
            "settings that go together are missing: {}",
            named.join(", ")
        ),
    }
}

/// The settings a file may hold: every option with an environment variable but the file's own.
fn settings(command: &Command) -> impl Iterator<Item = &Arg> {
    command
        .get_arguments()
        .filter(|arg| arg.get_env().is_some() && arg.get_id() != "config")
}

/// The file key of `arg`: its variable's name without the prefix, in lower case.
fn key_of(arg: &Arg) -> Option<String> {
    let env = arg.get_env()?.to_str()?;
    Some(env.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase())
}

fn effective(arg: &Arg, matches: &ArgMatches, from_file: &[String]) -> Effective {
    let id = arg.get_id().as_str();
    let key = key_of(arg).unwrap_or_else(|| id.to_owned());
    let value = matches
        .get_raw(id)
        .map(|values| {
            values
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| {
            // A flag without a value (--public-listing) is true when present.
            match arg.get_action() {
                ArgAction::SetTrue => matches.get_flag(id).to_string(),
                _ => String::new(),
            }
        });
    let source = if from_file.iter().any(|f| f == id) {
        Source::File
    } else {
        match matches.value_source(id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Env(
                arg.get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            _ => Source::Default,
        }
    };
    Effective { key, value, source }
}

/// Reads the file at `path`: for each key, its setting and the command-line tokens that give
/// it the file's value, checked with the setting's own parser.
fn read<'a>(path: &Path, command: &'a Command) -> Result<Vec<(&'a Arg, Vec<OsString>)>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let document = toml_edit::Document::parse(text.as_str()).map_err(|e| LoadError::Syntax {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let mut out = Vec::new();
    for (name, item) in document.iter() {
        let line = document
            .as_table()
            .get_key_value(name)
            .and_then(|(key, _)| key.span())
            .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
        let fail = |message: String| LoadError::Key {
            path: path.to_owned(),
            line,
            key: name.to_owned(),
            message,
        };
        let Some(arg) = settings(command).find(|arg| key_of(arg).as_deref() == Some(name)) else {
            return Err(fail(unknown_key_message(command)));
        };
        let tokens = tokens(arg, item, command).map_err(fail)?;
        out.push((arg, tokens));
    }
    Ok(out)
}

fn unknown_key_message(command: &Command) -> String {
    let keys: Vec<String> = settings(command).filter_map(key_of).collect();
    format!(
        "no such setting; a key is a setting's environment variable without {ENV_PREFIX}, in \
         lower case: {}",
        keys.join(", ")
    )
}

/// The command-line tokens for `arg` with the file's `item`, each value checked.
fn tokens(arg: &Arg, item: &toml_edit::Item, command: &Command) -> Result<Vec<OsString>, String> {
    let long = arg
        .get_long()
        .ok_or_else(|| "this setting has no flag".to_owned())?;
    let value = item
        .as_value()
        .ok_or_else(|| format!("expected a value, found a {}", item.type_name()))?;
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return match value.as_bool() {
            Some(true) => Ok(vec![format!("--{long}").into()]),
            Some(false) => Ok(Vec::new()),
            None => Err(format!(
                "expected true or false, found a {}",
                value.type_name()
            )),
        };
    }
    let values: Vec<&toml_edit::Value> = match (value.as_array(), arg.get_action()) {
        (Some(list), ArgAction::Append) => list.iter().collect(),
        (Some(_), _) => return Err("expected one value, found a list".into()),
        (None, _) => vec![value],
    };
    let mut tokens = Vec::new();
    for value in values {
        let text = match value {
            toml_edit::Value::String(s) => s.value().clone(),
            toml_edit::Value::Integer(i) => i.value().to_string(),
            toml_edit::Value::Boolean(b) => b.value().to_string(),
            other => {
                return Err(format!(
                    "expected a string or a number, found a {}",
                    other.type_name()
                ));
            }
        };
        check(command, arg, &format!("--{long}={text}"))?;
        tokens.push(format!("--{long}={text}").into());
    }
    Ok(tokens)
}

/// Runs `token` alone through clap: an error about `arg`'s value is the file's mistake. Errors
/// about how settings go together (--tls-cert needs --tls-key) wait for the whole parse.
fn check(command: &Command, arg: &Arg, token: &str) -> Result<(), String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let Err(err) = command
        .clone()
        .try_get_matches_from(["p2p-chat-directory", token])
    else {
        return Ok(());
    };
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return Ok(());
    }
    let about_this = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(name)) => arg
            .get_long()
            .is_some_and(|long| name.starts_with(&format!("--{long}"))),
        _ => false,
    };
    if !about_this {
        return Ok(());
    }
    let given = match err.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(value)) => format!("{value:?} is not valid"),
        _ => "the value is not valid".to_owned(),
    };
    if let Some(ContextValue::Strings(valid)) = err.get(ContextKind::ValidValue) {
        return Err(format!("{given}; expected one of: {}", valid.join(", ")));
    }
    let text = err.to_string();
    let reason = text
        .lines()
        .next()
        .and_then(|line| line.split_once("': ").map(|(_, reason)| reason.to_owned()))
        .unwrap_or_default();
    Err(if reason.is_empty() {
        given
    } else {
        format!("{given}: {reason}")
    })
}
