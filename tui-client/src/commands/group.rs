//! `p2p-chat group …` and `p2p-chat send --group`: groups from scripts, with the rules of
//! the group engine (`crate::groups`). Every action is stored first; then each member it
//! concerns is reached directly (as `send` reaches a peer) and its waiting group frames go
//! out, until it acknowledges them. A member that cannot be reached now gets them on a later
//! session with us.

use std::process::ExitCode;

use anyhow::{Context, bail};
use p2p_chat_protocol::group::{GroupId, GroupOp, Member};
use p2p_chat_protocol::peer::now_unix_ms;

use super::peer::{Loaded, load};
use super::reach::{Failure, local_peer, open_session};
use super::send::{EXIT_DEPOSITED, RECEIPT_TIMEOUT};
use crate::app::{Action, DialTarget};
use crate::cli::{GlobalOpts, GroupCommand};
use crate::delivery::sessions::Sessions;
use crate::groups::Groups;
use crate::net::LocalPeer;
use crate::store::LocalStore;
use crate::tui::resolve;

/// Runs `p2p-chat group COMMAND`; returns the exit status: 0 when every member concerned has
/// what the command sent, [`EXIT_DEPOSITED`] when some wait for a later session.
///
/// # Errors
/// No account; an unknown group or member; a change the rules refuse (the text says why); a
/// store that cannot write.
pub async fn group(global: &GlobalOpts, command: GroupCommand) -> anyhow::Result<ExitCode> {
    let mut ctx = load(global).await?;
    let mut groups = groups_of(&ctx).await?;
    let now = now_unix_ms();
    let (id, words, json) = match command {
        GroupCommand::List { json } => {
            list(&groups, json)?;
            return Ok(ExitCode::SUCCESS);
        }
        GroupCommand::Members { group, json } => {
            let id = groups.find(&group)?;
            members(&groups, id, json)?;
            return Ok(ExitCode::SUCCESS);
        }
        GroupCommand::New {
            name,
            members,
            json,
        } => {
            let mut others = Vec::new();
            for username in members {
                others.push(member_key(&ctx, &username).await?);
            }
            let id = groups.create(&name, others, now).await?;
            (id, format!("created {name}"), json)
        }
        GroupCommand::Add {
            group,
            member,
            json,
        } => {
            let id = groups.find(&group)?;
            let member = member_key(&ctx, &member).await?;
            let words = groups.change(id, GroupOp::Add { member }, now).await?.words;
            (id, words, json)
        }
        GroupCommand::Remove {
            group,
            member,
            json,
        } => {
            let id = groups.find(&group)?;
            let op = GroupOp::Remove { username: member };
            (id, groups.change(id, op, now).await?.words, json)
        }
        GroupCommand::Leave { group, json } => {
            let id = groups.find(&group)?;
            (
                id,
                groups.change(id, GroupOp::Leave, now).await?.words,
                json,
            )
        }
        GroupCommand::Rename { group, name, json } => {
            let id = groups.find(&group)?;
            let op = GroupOp::Rename { name };
            (id, groups.change(id, op, now).await?.words, json)
        }
        GroupCommand::Admin {
            group,
            member,
            json,
        } => {
            let id = groups.find(&group)?;
            let op = GroupOp::MakeAdmin { username: member };
            (id, groups.change(id, op, now).await?.words, json)
        }
    };
    finish(&mut ctx, groups, id, words, json).await
}

/// `p2p-chat send --group NAME TEXT…`: posts the text to the group and delivers it to every
/// member that can be reached now.
///
/// # Errors
/// As [`group`]; an empty or oversize text.
pub async fn post(
    global: &GlobalOpts,
    group: &str,
    words: Vec<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let text = words.join(" ");
    let mut ctx = load(global).await?;
    let mut groups = groups_of(&ctx).await?;
    let id = groups.find(group)?;
    let (post_id, _) = groups.post(id, &text, None, now_unix_ms()).await?;
    finish(&mut ctx, groups, id, format!("sent {post_id}"), json).await
}

async fn groups_of(ctx: &Loaded) -> anyhow::Result<Groups> {
    let Some(account) = &ctx.account else {
        bail!(
            "groups need a directory account — register first (p2p-chat register NAME --server URL)"
        );
    };
    let me = Member {
        username: account.username.clone(),
        key: *ctx.identity.public(),
    };
    Groups::load(ctx.store.clone(), me)
        .await
        .context("cannot read the groups from the local store")
}

/// `username`'s key as a member: the pinned one, else the directory's (the key a first
/// contact would be pinned with).
async fn member_key(ctx: &Loaded, username: &str) -> anyhow::Result<Member> {
    let username = p2p_chat_protocol::validate::username(username)?;
    if let Some(pin) = ctx.pins.get(&username) {
        return Ok(Member {
            username,
            key: pin.key,
        });
    }
    let target = DialTarget::Username(username.clone());
    let resolved = resolve::resolve(ctx.account.as_ref(), &target)
        .await
        .map_err(|e| anyhow::anyhow!("cannot look up {username}: {e}"))?;
    let Some(key) = resolved.key else {
        bail!("the directory lists no key for {username}, so it cannot be a member");
    };
    Ok(Member { username, key })
}

/// Delivers the waiting frames of every member of group `id` (and of members just removed),
/// then reports: `words`, who has everything, who waits.
async fn finish(
    ctx: &mut Loaded,
    groups: Groups,
    id: GroupId,
    words: String,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let name = groups.group(id).map(|g| g.name.clone()).unwrap_or_default();
    let store = ctx.store.clone();
    let mut sessions = Sessions::new(store.clone()).with_groups(groups);
    let mut delivered = Vec::new();
    let mut waiting = Vec::new();
    for member in members_waiting(&store).await? {
        match deliver_to(ctx, &mut sessions, &member).await {
            Ok(()) => delivered.push(member),
            Err(why) => waiting.push((member, why)),
        }
    }
    if json {
        let waiting: Vec<_> = waiting
            .iter()
            .map(|(member, why)| serde_json::json!({ "member": member, "why": why }))
            .collect();
        let line = serde_json::json!({
            "group": id.to_string(),
            "name": name,
            "done": words,
            "delivered": delivered,
            "waiting": waiting,
        });
        println!("{line}");
    } else {
        println!("{name}: {words}");
        if !delivered.is_empty() {
            println!("delivered to {}", delivered.join(", "));
        }
        for (member, why) in &waiting {
            println!("waiting for {member}: {why}");
        }
    }
    Ok(if waiting.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DEPOSITED)
    })
}

/// Members with group frames not yet acknowledged, sorted.
async fn members_waiting(store: &LocalStore) -> anyhow::Result<Vec<String>> {
    Ok(store.group_members_waiting().await?)
}

/// Reaches `member`, sends its waiting group frames and waits for its receipts (at most
/// [`RECEIPT_TIMEOUT`]); why not, when it did not get them all.
async fn deliver_to(ctx: &mut Loaded, sessions: &mut Sessions, member: &str) -> Result<(), String> {
    let target = DialTarget::Username(member.to_owned());
    let (local, _held) = local_peer(ctx, &target, None).map_err(|e| e.to_string())?;
    let mut opened = match open_session(ctx, &local, &target).await {
        Ok(opened) => opened,
        Err(Failure::Unreachable(e)) => {
            // Sealed in the mailbox, as the chat window does: it gets them at its next start.
            return Err(match deposit_frames(ctx, &local, member).await {
                Ok(()) => format!("{e:#}; left sealed in the directory's mailbox"),
                Err(why) => format!("{e:#}; not left in the mailbox either: {why}"),
            });
        }
        Err(Failure::Final(e)) => return Err(format!("{e:#}")),
    };
    if !opened.handle.takes_groups() {
        opened.handle.close();
        return Err(format!(
            "{member}'s p2p-chat is an older release that cannot take part in groups"
        ));
    }
    sessions.admit(opened.session, opened.name.clone(), opened.handle.clone());
    let store = ctx.store.clone();
    let done = tokio::time::timeout(RECEIPT_TIMEOUT, async {
        loop {
            if store
                .group_outbox_after(member, 0, 1)
                .await
                .map_err(|e| e.to_string())?
                .is_empty()
            {
                return Ok(());
            }
            let Some(event) = opened.rx.recv().await else {
                return Err("the session ended".to_owned());
            };
            sessions
                .take(vec![event])
                .await
                .map_err(|e| e.to_string())?;
        }
    })
    .await
    .unwrap_or_else(|_| Err(format!("no receipt within {} s", RECEIPT_TIMEOUT.as_secs())));
    sessions.closed(opened.session);
    opened.handle.close();
    done
}

/// Leaves `member`'s waiting group frames (and any one-to-one messages waiting for it) sealed
/// in the directory's mailbox.
///
/// # Errors
/// Why not all of them are there.
async fn deposit_frames(ctx: &Loaded, local: &LocalPeer, member: &str) -> Result<(), String> {
    let reports = super::send::deposit_all(ctx, local, member)
        .await
        .map_err(|e| format!("{e:#}"))?;
    for action in reports {
        if let Action::DepositFailed { error, .. } | Action::StoreFailed(error) = action {
            return Err(error);
        }
    }
    match ctx.store.group_undeposited(member).await {
        Ok(left) if left.is_empty() => Ok(()),
        Ok(left) => Err(format!("{} group messages were not taken", left.len())),
        Err(e) => Err(e.to_string()),
    }
}

fn list(groups: &Groups, json: bool) -> anyhow::Result<()> {
    for group in groups.list() {
        let members: Vec<&String> = group.members.keys().collect();
        if json {
            let line = serde_json::json!({
                "group": group.id.to_string(),
                "name": group.name,
                "members": members,
            });
            println!("{line}");
        } else {
            println!("{} ({} members)", group.name, members.len());
        }
    }
    Ok(())
}

fn members(groups: &Groups, id: GroupId, json: bool) -> anyhow::Result<()> {
    let group = groups.group(id).context("no such group")?;
    for (username, standing) in &group.members {
        let role = if *username == group.creator {
            "creator"
        } else if standing.admin {
            "admin"
        } else {
            "member"
        };
        if json {
            let line = serde_json::json!({
                "member": username,
                "role": role,
                "key": p2p_chat_protocol::validate::key_hex(&standing.key),
            });
            println!("{line}");
        } else {
            println!("{username} ({role})");
        }
    }
    Ok(())
}
