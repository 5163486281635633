//! Slash commands typed into the input line.

use super::chat::DialTarget;
use super::files::FileAnswer;

/// A parsed `/command`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlashCommand {
    /// `/help`
    Help,
    /// `/connect USERNAME` or `/connect --ip HOST:PORT`
    Connect(DialTarget),
    /// `/close`: close the current chat.
    Close,
    /// `/contacts`: reload the contact list.
    Contacts,
    /// `/quit`
    Quit,
    /// `/accept`: trust the key the current chat's peer offers (first contact by address, or
    /// a changed key).
    Accept,
    /// `/verify`: show the safety number; `/verify confirm` marks the key verified.
    Verify {
        /// Whether to mark it verified.
        confirm: bool,
    },
    /// `/receipts on|off`: whether to send read receipts; without an argument, says which.
    Receipts(Option<bool>),
    /// `/mute [NAME]` (`true`) or `/unmute [NAME]`; without a name, the shown chat.
    Mute(Option<String>, bool),
    /// `/edit`: write the message in `$EDITOR`.
    Edit,
    /// `/search TEXT`: find messages in the local history.
    Search(String),
    /// `/reply [TEXT]`: answer the highlighted (or the peer's newest) message.
    Reply(Option<String>),
    /// `/info`: where we and the current chat's peer can be reached, and how its session was
    /// made.
    Info,
    /// `/send PATH`: offer a file to the shown chat's peer (`~/` is the home directory).
    SendFile(std::path::PathBuf),
    /// `/accept-file`, `/decline` or `/cancel-file`.
    File(super::files::FileAnswer),
    /// `/group new`, `/invite`, `/remove`, `/leave`, `/rename`, `/admin`, `/members`.
    Group(GroupCommand),
}

/// The group commands; all but `/group new` act on the shown group chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupCommand {
    /// `/group new NAME MEMBER…`: create a group with these members besides us.
    New {
        /// Its name.
        name: String,
        /// The members' usernames.
        members: Vec<String>,
    },
    /// `/invite NAME`: add a member (admins).
    Invite(String),
    /// `/remove NAME`: remove a member (admins).
    Remove(String),
    /// `/leave`: leave the group.
    Leave,
    /// `/rename NAME…`: rename the group (admins).
    Rename(String),
    /// `/admin NAME`: make a member an admin (the creator).
    Admin(String),
    /// `/members`: list the members, with their key state and presence.
    Members,
}

/// Every command with its usage, for `/help` and error messages.
pub const USAGE: &[(&str, &str)] = &[
    ("/connect USERNAME", "open a chat with a registered user"),
    ("/connect --ip HOST:PORT", "chat with a peer at an address"),
    ("/close", "close the current chat"),
    ("/verify [confirm]", "show safety number / mark verified"),
    ("/accept", "trust the offered key"),
    ("/receipts on|off", "send read receipts"),
    ("/mute [NAME]", "never ring (/unmute)"),
    ("/edit", "write it in $EDITOR"),
    ("/search TEXT", "find in the history"),
    ("/reply [TEXT]", "answer a message"),
    ("/info", "addresses, path; who has a post"),
    ("/send PATH", "offer a file"),
    ("/group new NAME USERS", "create a group with them"),
    ("/invite USER", "add to this group"),
    ("/remove USER", "remove from this group"),
    ("/leave", "leave this group"),
    ("/rename NAME", "rename this group"),
    ("/admin USER", "make an admin"),
    ("/members", "who is in this group"),
    ("/accept-file", "take the offered file"),
    ("/decline", "refuse the offered file"),
    ("/cancel-file", "stop a file transfer"),
    ("/contacts", "reload the contact list"),
    ("/quit", "leave p2p-chat"),
];

/// Parses a line starting with `/`.
///
/// # Errors
/// A message for the user when the command is unknown or its arguments are wrong.
pub fn parse(line: &str) -> Result<SlashCommand, String> {
    if let Some(rest) = line
        .strip_prefix("/reply")
        .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
    {
        let text = rest.trim();
        return Ok(SlashCommand::Reply(
            (!text.is_empty()).then(|| text.to_owned()),
        ));
    }
    if let Some(rest) = line
        .strip_prefix("/send")
        .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
    {
        let path = rest.trim();
        if path.is_empty() {
            return Err("usage: /send PATH — offers the file to this chat's peer".to_owned());
        }
        return Ok(SlashCommand::SendFile(expand_home(path)));
    }
    if let Some(rest) = line
        .strip_prefix("/search")
        .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
    {
        let query = rest.trim();
        if query.is_empty() {
            return Err(
                "usage: /search TEXT — finds the messages holding every word of TEXT".to_owned(),
            );
        }
        return Ok(SlashCommand::Search(query.to_owned()));
    }
    if let Some(rest) = line
        .strip_prefix("/rename")
        .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
    {
        let name = rest.trim();
        if let Some(problem) = p2p_chat_protocol::group::name_problem(name) {
            return Err(format!("{problem} — usage: /rename NAME"));
        }
        return Ok(SlashCommand::Group(GroupCommand::Rename(name.to_owned())));
    }
    let mut words = line.split_whitespace();
    let name = words.next().unwrap_or("/");
    let args: Vec<&str> = words.collect();
    match (name, args.as_slice()) {
        ("/help", []) => Ok(SlashCommand::Help),
        ("/quit" | "/exit", []) => Ok(SlashCommand::Quit),
        ("/close", []) => Ok(SlashCommand::Close),
        ("/contacts", []) => Ok(SlashCommand::Contacts),
        ("/accept", []) => Ok(SlashCommand::Accept),
        ("/verify", []) => Ok(SlashCommand::Verify { confirm: false }),
        ("/verify", ["confirm"]) => Ok(SlashCommand::Verify { confirm: true }),
        ("/info", []) => Ok(SlashCommand::Info),
        ("/accept-file", []) => Ok(SlashCommand::File(FileAnswer::Accept)),
        ("/decline", []) => Ok(SlashCommand::File(FileAnswer::Decline)),
        ("/cancel-file", []) => Ok(SlashCommand::File(FileAnswer::Cancel)),
        ("/edit", []) => Ok(SlashCommand::Edit),
        ("/receipts", []) => Ok(SlashCommand::Receipts(None)),
        ("/receipts", ["on"]) => Ok(SlashCommand::Receipts(Some(true))),
        ("/receipts", ["off"]) => Ok(SlashCommand::Receipts(Some(false))),
        ("/mute" | "/unmute", []) => Ok(SlashCommand::Mute(None, name == "/mute")),
        ("/mute" | "/unmute", [user]) if !user.starts_with('-') => {
            p2p_chat_protocol::validate::username(user)
                .map(|user| SlashCommand::Mute(Some(user), name == "/mute"))
                .map_err(|e| e.message)
        }
        ("/mute" | "/unmute", _) => Err(format!("usage: {name} (the shown chat) or {name} NAME")),
        ("/receipts", _) => Err(
            "usage: /receipts on (peers see when you read their messages) or /receipts off"
                .to_owned(),
        ),
        ("/verify", _) => {
            Err("usage: /verify, or /verify confirm once the numbers match".to_owned())
        }
        ("/connect", ["--ip", addr]) => {
            peer_addr(addr).map(|addr| SlashCommand::Connect(DialTarget::Addr(addr)))
        }
        ("/connect", [name]) if !name.starts_with('-') => {
            p2p_chat_protocol::validate::username(name)
                .map(|name| SlashCommand::Connect(DialTarget::Username(name)))
                .map_err(|e| e.message)
        }
        ("/connect", _) => Err("usage: /connect USERNAME or /connect --ip HOST:PORT".to_owned()),
        ("/group", ["new", group, members @ ..]) if !members.is_empty() => {
            if let Some(problem) = p2p_chat_protocol::group::name_problem(group) {
                return Err(problem);
            }
            let members = members
                .iter()
                .map(|m| p2p_chat_protocol::validate::username(m).map_err(|e| e.message))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(SlashCommand::Group(GroupCommand::New {
                name: (*group).to_owned(),
                members,
            }))
        }
        ("/group", _) => Err(
            "usage: /group new NAME USERS — creates group NAME with these users and you".to_owned(),
        ),
        ("/leave", []) => Ok(SlashCommand::Group(GroupCommand::Leave)),
        ("/members", []) => Ok(SlashCommand::Group(GroupCommand::Members)),
        ("/invite" | "/remove" | "/admin", [user]) if !user.starts_with('-') => {
            let user = p2p_chat_protocol::validate::username(user).map_err(|e| e.message)?;
            Ok(SlashCommand::Group(match name {
                "/invite" => GroupCommand::Invite(user),
                "/remove" => GroupCommand::Remove(user),
                _ => GroupCommand::Admin(user),
            }))
        }
        ("/invite" | "/remove" | "/admin", _) => {
            Err(format!("usage: {name} USER (in a group chat)"))
        }
        (cmd, _)
            if USAGE
                .iter()
                .any(|(usage, _)| usage.split(' ').next() == Some(cmd)) =>
        {
            Err(format!("{cmd} takes no arguments"))
        }
        (cmd, _) => Err(format!("unknown command {cmd} — type /help for the list")),
    }
}

/// `path` with a leading `~/` (or a lone `~`) replaced by the home directory.
pub fn expand_home(path: &str) -> std::path::PathBuf {
    let home = || directories::UserDirs::new().map(|u| u.home_dir().to_path_buf());
    match (path.strip_prefix("~/"), path == "~", home()) {
        (Some(rest), _, Some(home)) => home.join(rest),
        (None, true, Some(home)) => home,
        _ => std::path::PathBuf::from(path),
    }
}

/// Checks that `addr` has the shape `HOST:PORT` (IPv6 in brackets) with a port of 1-65535.
///
/// # Errors
/// A message with an example when it does not.
pub fn peer_addr(addr: &str) -> Result<String, String> {
    let valid = addr.rsplit_once(':').is_some_and(|(host, port)| {
        // An IPv6 address needs brackets, or its last group would read as the port.
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.contains(':').then_some(v6),
            None => (!host.contains(':')).then_some(host),
        };
        host.is_some_and(|h| p2p_chat_protocol::validate::host(h).is_ok())
            && port.parse::<u16>().is_ok_and(|p| p > 0)
    });
    if valid {
        Ok(addr.to_owned())
    } else {
        Err(format!(
            "{addr:?} is not HOST:PORT — for example 192.0.2.7:55555 or [2001:db8::7]:55555"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commands_parse_with_checked_names() {
        let group = |c| Ok(SlashCommand::Group(c));
        assert_eq!(
            parse("/group new team bob Carol"),
            group(GroupCommand::New {
                name: "team".into(),
                members: vec!["bob".into(), "carol".into()],
            })
        );
        assert!(parse("/group new team").is_err(), "nobody to invite");
        assert!(parse("/group team bob").is_err());
        assert!(parse("/group new team bob$").is_err(), "not a username");
        assert_eq!(
            parse("/invite dave"),
            group(GroupCommand::Invite("dave".into()))
        );
        assert_eq!(
            parse("/remove dave"),
            group(GroupCommand::Remove("dave".into()))
        );
        assert_eq!(
            parse("/admin dave"),
            group(GroupCommand::Admin("dave".into()))
        );
        assert!(parse("/invite").is_err());
        assert!(parse("/invite a b").is_err());
        assert_eq!(parse("/leave"), group(GroupCommand::Leave));
        assert!(parse("/leave now").is_err());
        assert_eq!(parse("/members"), group(GroupCommand::Members));
        assert_eq!(
            parse("/rename  the A team "),
            group(GroupCommand::Rename("the A team".into()))
        );
        assert!(parse("/rename").is_err());
        assert!(parse(&format!("/rename {}", "x".repeat(65))).is_err());
        assert!(
            parse("/rename bad\u{1b}[31m").is_err(),
            "control characters"
        );
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse("/help"), Ok(SlashCommand::Help));
        assert_eq!(parse("/quit"), Ok(SlashCommand::Quit));
        assert_eq!(parse("/accept"), Ok(SlashCommand::Accept));
        assert_eq!(parse("/info"), Ok(SlashCommand::Info));
        assert!(parse("/info bob").is_err());
        assert_eq!(
            parse("/verify"),
            Ok(SlashCommand::Verify { confirm: false })
        );
        assert_eq!(
            parse("/verify confirm"),
            Ok(SlashCommand::Verify { confirm: true })
        );
        assert!(parse("/verify yes").is_err());
        assert_eq!(parse("/receipts"), Ok(SlashCommand::Receipts(None)));
        assert_eq!(
            parse("/receipts on"),
            Ok(SlashCommand::Receipts(Some(true)))
        );
        assert_eq!(
            parse("/receipts off"),
            Ok(SlashCommand::Receipts(Some(false)))
        );
        assert!(parse("/receipts maybe").unwrap_err().contains("usage"));
        assert_eq!(parse(" /close ".trim()), Ok(SlashCommand::Close));
        assert_eq!(
            parse("/connect Bob"),
            Ok(SlashCommand::Connect(DialTarget::Username("bob".into())))
        );
        assert_eq!(
            parse("/connect --ip 127.0.0.1:4000"),
            Ok(SlashCommand::Connect(DialTarget::Addr(
                "127.0.0.1:4000".into()
            )))
        );
        assert_eq!(
            parse("/connect --ip [::1]:4000"),
            Ok(SlashCommand::Connect(DialTarget::Addr("[::1]:4000".into())))
        );
    }

    #[test]
    fn bad_commands_explain_themselves() {
        assert!(parse("/connect").unwrap_err().contains("usage"));
        assert!(
            parse("/connect --ip nope")
                .unwrap_err()
                .contains("HOST:PORT")
        );
        assert!(parse("/connect --ip host:0").is_err());
        assert!(parse("/connect --ip a b:1").is_err());
        assert!(peer_addr("::1:5").is_err());
        assert!(peer_addr("[::1]:5").is_ok());
        assert!(peer_addr("chat.example.org:55555").is_ok());
        assert!(parse("/connect a!").unwrap_err().contains("username"));
        assert!(parse("/quit now").unwrap_err().contains("no arguments"));
        assert!(parse("/frobnicate").unwrap_err().contains("/help"));
    }
}
