//! Group changes in words, as the chat shows them.

use p2p_chat_protocol::group::rules::Group;
use p2p_chat_protocol::group::{Change, GroupOp};

/// `change` in words for `me`, given the group just `before` it: "alice added dave", "you
/// left", "bob renamed the group to friends" … A change that does not count (its author
/// was no admin at its place) says so.
pub fn describe(change: &Change, before: &Group, me: &str) -> String {
    let who = |name: &str| {
        if name == me {
            "you".to_owned()
        } else {
            name.to_owned()
        }
    };
    let author = who(&change.author);
    if p2p_chat_protocol::group::rules::permitted(before, &change.author, &change.op).is_err() {
        return format!(
            "{author} tried to change {}, which did not count",
            before.name
        );
    }
    match &change.op {
        GroupOp::Create { name, members } => {
            let others: Vec<String> = members
                .iter()
                .filter(|m| m.username != change.author)
                .map(|m| who(&m.username))
                .collect();
            format!("{author} created {name} with {}", others.join(", "))
        }
        GroupOp::Add { member } => format!("{author} added {}", who(&member.username)),
        GroupOp::Remove { username } => format!("{author} removed {}", who(username)),
        GroupOp::Leave => format!("{author} left"),
        GroupOp::Rename { name } => format!("{author} renamed {} to {name}", before.name),
        GroupOp::MakeAdmin { username } => {
            format!("{author} made {} an admin", who(username))
        }
    }
}
