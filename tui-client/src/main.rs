//! `p2p-chat`: the terminal chat client. See `p2p-chat --help`.

use clap::{CommandFactory, FromArgMatches};

use p2p_chat::cli::{Cli, Command};
use p2p_chat::config::Config;
use p2p_chat::{commands, demo};

fn main() -> std::process::ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let config = match p2p_chat::config::load(&matches, &mut cli.global) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(cli.command.as_ref());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli, config));
    // Sessions and timers still running are dropped without waiting for them.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<p2p_chat::cli::UsageError>().is_some() {
                // As clap does for arguments it refuses itself.
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// Logs go to stderr for the line-oriented commands only, never over the chat window;
/// `RUST_LOG` selects them (default: warnings).
fn init_logging(command: Option<&Command>) {
    let interactive = matches!(
        command,
        None | Some(Command::Demo | Command::Connect { .. })
    );
    if interactive {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // The certificate verifier logs its own copy of errors the client already reports.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("warn,rustls_platform_verifier=off")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs the command; its exit status is success unless it says otherwise (`send`).
async fn dispatch(cli: Cli, config: Config) -> anyhow::Result<std::process::ExitCode> {
    let global = &cli.global;
    let done = match cli.command {
        None => {
            commands::account::warn_before_chat(global);
            commands::peer::chat(global, &config, None, None).await
        }
        Some(Command::Demo) => demo::run(config.window.clone()).await,
        Some(Command::Connect { target, name }) => {
            commands::account::warn_before_chat(global);
            commands::peer::chat(global, &config, Some((target.username, target.ip)), name).await
        }
        Some(Command::Send {
            words,
            group: Some(group),
            json,
            ..
        }) => return commands::group::post(global, &group, words, json).await,
        Some(Command::Send {
            words,
            ip,
            name,
            no_mailbox,
            json,
            group: None,
        }) => return commands::send::send(global, words, ip, name, no_mailbox, json).await,
        Some(Command::Group { command }) => return commands::group::group(global, command).await,
        Some(Command::SendFile {
            words,
            ip,
            name,
            json,
        }) => {
            let (username, file) = commands::send_file::split(words, ip.is_some())?;
            return commands::send_file::send_file(global, (username, file), ip, name, json).await;
        }
        Some(Command::Listen {
            json,
            name,
            accept_files,
        }) => commands::listen::listen(global, json, name, accept_files).await,
        Some(Command::History {
            username,
            limit,
            json,
            grep,
        }) => commands::history::history(global, &username, limit, json, grep.as_deref()).await,
        Some(Command::Export { username }) => commands::history::export(global, &username).await,
        Some(Command::Completions { shell }) => {
            let command = Cli::command();
            let script = p2p_chat_directory::completions::script(shell, command, "p2p-chat");
            print!("{script}");
            Ok(())
        }
        Some(Command::Config) => {
            print!("{}", p2p_chat::config::report(&config));
            Ok(())
        }
        Some(Command::Whoami) => commands::trust::whoami(global).await,
        Some(Command::Doctor) => commands::doctor::doctor(global).await,
        Some(Command::Verify {
            username,
            confirm,
            accept_new_key,
        }) => commands::trust::verify(global, &username, confirm, accept_new_key).await,
        Some(
            command @ (Command::Register { .. }
            | Command::Login { .. }
            | Command::Unregister { .. }
            | Command::Logout
            | Command::Passwd { .. }
            | Command::Contacts { .. }
            | Command::Lookup { .. }
            | Command::RotateKey { .. }),
        ) => commands::account::run(global, command).await,
    };
    done.map(|()| std::process::ExitCode::SUCCESS)
}
