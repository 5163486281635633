//! Account commands: `register`, `login`, `logout`, `passwd`, `unregister`, `contacts`,
//! `lookup` and `rotate-key`.
//!
//! Each talks to the directory once or twice through [`DirectoryClient`], keeps the profile
//! ([`Profile`]) up to date and prints a short result on standard output.

mod input;
mod rotate;
mod session;
mod show;

pub use session::warn_before_chat;

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use p2p_chat_protocol::api::{DEFAULT_PEER_PORT, HOST_AUTO, RegisterRequest};
use p2p_chat_protocol::validate;

use crate::cli::{Command, GlobalOpts};
use crate::directory::{DirectoryClient, DirectoryError};
use crate::identity::Identity;
use crate::profile::{self, Profile};

const NO_PROFILE: &str = "no profile yet — run `p2p-chat register NAME --server URL` first (with --invite CODE when the directory's operator gave you an invite code)";

/// Runs one of the account commands (`Register`, `Login`, `Logout`, `Passwd`, `Unregister`,
/// `Contacts`, `Lookup`, `RotateKey`).
///
/// # Errors
/// Every failure, as one line that says what to do; also when `command` is not one of these.
pub async fn run(global: &GlobalOpts, command: Command) -> anyhow::Result<()> {
    let home = profile::home_dir(global.home.as_deref())?;
    match command {
        Command::Register {
            username,
            server,
            host,
            port,
            invite,
            password_stdin,
        } => {
            let default_port = match global.listen.port() {
                0 => DEFAULT_PEER_PORT,
                port => port,
            };
            register(
                &home,
                Registration {
                    username,
                    server: &server,
                    host,
                    ports: (port, default_port),
                    invite,
                },
                password_stdin,
                &start_command(global),
            )
            .await
        }
        Command::Login {
            username,
            server,
            password_stdin,
        } => login(&home, username, server, password_stdin).await,
        Command::Logout => session::logout(&home).await,
        Command::Passwd { password_stdin } => session::passwd(&home, password_stdin).await,
        Command::Unregister { password_stdin } => unregister(&home, password_stdin).await,
        Command::Contacts { json } => contacts(&home, json).await,
        Command::Lookup { username, json } => lookup(&home, &username, json).await,
        Command::RotateKey { yes } => rotate::rotate_key(&home, yes).await,
        _ => bail!("not an account command"),
    }
}

/// The command that opens the chat window with this profile and listen address: `p2p-chat`,
/// with `--home` and `--listen` when they were given.
fn start_command(global: &GlobalOpts) -> String {
    let mut command = "p2p-chat".to_owned();
    if let Some(home) = &global.home {
        command.push_str(&format!(" --home {}", home.display()));
    }
    if global.listen.to_string() != crate::cli::DEFAULT_LISTEN {
        command.push_str(&format!(" --listen {}", global.listen));
    }
    command
}

/// What `register` was asked for.
struct Registration<'a> {
    username: Option<String>,
    server: &'a str,
    host: Option<String>,
    /// The port asked for with --port, and the one used without it.
    ports: (Option<u16>, u16),
    invite: Option<String>,
}

async fn register(
    home: &Path,
    asked: Registration<'_>,
    password_stdin: bool,
    start: &str,
) -> anyhow::Result<()> {
    let Registration {
        username,
        server,
        host,
        ports: (fixed_port, default_port),
        invite,
    } = asked;
    // Everything that can be checked locally is, before the user types a password.
    let client = DirectoryClient::new(server)?;
    let mut profile = Profile::load(home)?;
    let username = match username {
        Some(name) => name,
        None if password_stdin => {
            bail!("with --password-stdin, give the username on the command line")
        }
        None => input::line("Username: ", "username")?,
    };
    let username = validate::username(&username)?;
    // "auto" is passed through: the directory then publishes the address it sees us at.
    let host = host
        .map(|h| {
            if h.trim().eq_ignore_ascii_case(HOST_AUTO) {
                Ok(HOST_AUTO.to_owned())
            } else {
                validate::host(&h)
            }
        })
        .transpose()?;
    // A wrong URL is reported before the user types a password.
    client.ping().await?;
    let host = match host {
        Some(host) => host,
        None => local_host(&client).await?,
    };
    // The key peers will authenticate us by; created on first use and kept in the profile
    // directory, so registering again (elsewhere, or after unregistering) publishes the same one.
    let identity = Identity::load_or_create(home)?;
    let password = input::new_password(password_stdin)?;

    let request = RegisterRequest {
        username: username.clone(),
        password,
        host,
        port: Some(fixed_port.unwrap_or(default_port)),
        public_key: identity.public_hex(),
        invite,
    };
    let record = match client.register(&request).await {
        // This very profile holds the name on this directory: not someone else's.
        Err(DirectoryError::UsernameTaken { .. })
            if profile.username.as_deref() == Some(username.as_str())
                && profile.server.as_deref() == Some(client.base_url()) =>
        {
            bail!(
                "you are already registered as {username} on {} with this profile — run `{start} login` to log in again, or `{start} unregister` first to start over",
                client.base_url()
            )
        }
        other => other?,
    };
    note_if_replacing(&profile, &username, client.base_url());
    // Saved before logging in, so that a failed login can be retried with a bare `login`.
    profile = Profile {
        server: Some(client.base_url().to_owned()),
        username: Some(username.clone()),
        port: fixed_port,
        ..Profile::default()
    };
    profile.save(home)?;
    let login = client
        .login(&username, &request.password)
        .await
        .with_context(|| {
            format!("registered {username}, but logging in failed; run `p2p-chat login`")
        })?;
    profile.token = Some(login.token);
    profile.token_expires_at = Some(login.expires_at);
    profile.save(home)?;
    // Peers dial the registered port: unless the user chose where to listen (a router may
    // forward that port elsewhere), the window should listen there.
    let listen = match fixed_port {
        Some(port) if port != default_port && !start.contains(" --listen ") => {
            format!(" --listen 0.0.0.0:{port}")
        }
        _ => String::new(),
    };
    out(&format!(
        "Registered {username} on {}; peers will reach you at {}. Run `{start}{listen}` to start chatting.\n",
        client.base_url(),
        record.reached_at(),
    ))
}

/// The address of this machine on the route to the directory: peers on the same network are
/// likely to reach us there.
async fn local_host(client: &DirectoryClient) -> anyhow::Result<String> {
    match client.local_ip().await {
        Ok(ip) => Ok(ip.to_string()),
        Err(err @ DirectoryError::Unreachable { .. }) => Err(err.into()),
        Err(_) => {
            bail!("cannot tell which address peers should dial to reach you; pass --host HOST")
        }
    }
}

async fn login(
    home: &Path,
    username: Option<String>,
    server: Option<String>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let mut profile = Profile::load(home)?;
    let server = match (server, &profile.server, &username) {
        (Some(server), _, _) => server,
        (None, Some(saved), _) => saved.clone(),
        (None, None, None) => bail!(NO_PROFILE),
        (None, None, Some(_)) => bail!("no directory URL given and none saved; pass --server URL"),
    };
    let client = DirectoryClient::new(&server)?;
    let username = match username.or_else(|| profile.username.clone()) {
        Some(name) => validate::username(&name)?,
        None => bail!("no username given and none saved; run `p2p-chat login NAME`"),
    };
    let password = input::password(password_stdin, &format!("Password for {username}: "))?;
    let login = client.login(&username, &password).await?;
    note_if_replacing(&profile, &username, client.base_url());
    profile = Profile {
        server: Some(client.base_url().to_owned()),
        username: Some(username.clone()),
        token: Some(login.token),
        token_expires_at: Some(login.expires_at),
        // A fixed port belongs to the account it was registered with.
        port: profile.port.filter(|_| {
            profile.server.as_deref() == Some(client.base_url())
                && profile.username.as_deref() == Some(username.as_str())
        }),
    };
    profile.save(home)?;
    let until = login.expires_at.format("%Y-%m-%d %H:%M UTC");
    out(&format!(
        "Logged in as {username} on {}; the login is valid until {until}.\n",
        client.base_url()
    ))
}

async fn unregister(home: &Path, password_stdin: bool) -> anyhow::Result<()> {
    let mut profile = Profile::load(home)?;
    let (Some(server), Some(username)) = (profile.server.clone(), profile.username.clone()) else {
        bail!(
            "no account in the profile {}; nothing to unregister",
            Profile::path(home).display()
        );
    };
    let client = DirectoryClient::new(&server)?;
    let prompt = format!("Password of {username} (the account will be deleted): ");
    let password = input::password(password_stdin, &prompt)?;
    let gone_already = match client.unregister(&username, &password).await {
        Ok(()) => false,
        Err(DirectoryError::NotFound { .. }) => true,
        Err(err) => return Err(err.into()),
    };
    profile.username = None;
    profile.token = None;
    profile.token_expires_at = None;
    profile.save(home)?;
    if gone_already {
        out(&format!(
            "{username} was no longer registered on {server}; removed it from the profile.\n"
        ))
    } else {
        out(&format!("Deleted the account {username} from {server}.\n"))
    }
}

async fn contacts(home: &Path, json: bool) -> anyhow::Result<()> {
    let client = saved_directory(home)?;
    // Most directories list their users only to logged-in users.
    let token = Profile::load(home)?.token;
    let records = client.list_all(token.as_deref()).await?;
    if json {
        out(&format!("{}\n", serde_json::to_string_pretty(&records)?))
    } else if records.is_empty() {
        out(&format!(
            "Nobody is registered on {} yet.\n",
            client.base_url()
        ))
    } else {
        out(&show::table(&records, Utc::now()))
    }
}

async fn lookup(home: &Path, username: &str, json: bool) -> anyhow::Result<()> {
    let client = saved_directory(home)?;
    let username = validate::username(username)?;
    let record = client.lookup(&username).await?;
    if json {
        out(&format!("{}\n", serde_json::to_string_pretty(&record)?))
    } else {
        out(&show::record(&record, Utc::now()))
    }
}

/// Tells the user when the profile is about to switch to another account or directory.
fn note_if_replacing(profile: &Profile, username: &str, server: &str) {
    if let Some(old_name) = &profile.username {
        let old_server = profile.server.as_deref().unwrap_or("no directory");
        if (old_name.as_str(), old_server) != (username, server) {
            eprintln!(
                "note: the profile held {old_name} on {old_server}; it now holds {username} on {server}"
            );
        }
    }
}

/// A client of the directory saved in the profile.
fn saved_directory(home: &Path) -> anyhow::Result<DirectoryClient> {
    let server = Profile::load(home)?
        .server
        .ok_or_else(|| anyhow!(NO_PROFILE))?;
    Ok(DirectoryClient::new(&server)?)
}

/// Prints `text` on standard output. A closed pipe (`p2p-chat contacts | head`) is not an
/// error: the reader simply wanted no more.
fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(err).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}
