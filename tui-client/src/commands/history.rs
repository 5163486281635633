//! `history` and `export`: reading conversations from the local store.

use std::io::Write;

use p2p_chat_protocol::validate;
use serde::Serialize;

use crate::cli::GlobalOpts;
use crate::profile;
use crate::store::{Delivery, LocalStore, PAGE_SIZE, Stored};

/// One message as `--json` and `export` print it.
#[derive(Serialize)]
struct Line<'a> {
    id: String,
    from: &'a str,
    to: &'a str,
    sent_at_ms: u64,
    text: &'a str,
    /// For our messages: queued, sent, delivered or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<&'static str>,
    /// For a reply: the id of the message it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<String>,
}

fn delivery_name(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Queued => "queued",
        Delivery::Sent => "sent",
        Delivery::Delivered => "delivered",
        Delivery::Failed => "failed",
    }
}

async fn open(global: &GlobalOpts) -> anyhow::Result<LocalStore> {
    let home = profile::home_dir(global.home.as_deref())?;
    Ok(LocalStore::open(&home).await?)
}

/// Reads the newest `limit` messages with `peer`, oldest first, a page at a time.
async fn newest(store: &LocalStore, peer: &str, limit: u32) -> anyhow::Result<Vec<Stored>> {
    let mut messages: Vec<Stored> = Vec::new();
    let mut before = None;
    while (messages.len() as u64) < u64::from(limit) {
        let want = (limit - messages.len() as u32).min(PAGE_SIZE);
        let mut page = store.page(peer, before, want).await?;
        let Some(first) = page.first() else { break };
        before = Some(first.seq);
        page.append(&mut messages);
        messages = page;
    }
    Ok(messages)
}

fn write_line(out: &mut impl Write, me: &str, message: &Stored) -> std::io::Result<()> {
    let (from, to) = if message.outgoing {
        (me, message.peer.as_str())
    } else {
        (message.peer.as_str(), me)
    };
    let line = Line {
        id: message.id.to_string(),
        from,
        to,
        sent_at_ms: message.sent_at_ms,
        text: &message.text,
        delivery: message.outgoing.then(|| delivery_name(message.delivery)),
        reply_to: message.reply_to.map(|id| id.to_string()),
    };
    serde_json::to_writer(&mut *out, &line)?;
    writeln!(out)
}

/// `p2p-chat history USERNAME [--limit N] [--json]`.
///
/// # Errors
/// When the store cannot be read or stdout written.
pub async fn history(
    global: &GlobalOpts,
    username: &str,
    limit: u32,
    json: bool,
    grep: Option<&str>,
) -> anyhow::Result<()> {
    let peer = validate::username(username)?;
    let store = open(global).await?;
    if let Some(text) = grep {
        // The same index and rules as the chat window's /search.
        let mut hits = store.search(Some(&peer), text, limit).await?;
        hits.reverse();
        if hits.is_empty() && !json {
            writeln!(
                std::io::stdout(),
                "no message with {peer} contains {text:?}"
            )?;
        }
        return print(&peer, &hits, json);
    }
    let messages = newest(&store, &peer, limit).await?;
    if let Some(first) = messages.first()
        && messages.len() as u64 == u64::from(limit)
        && !store.page(&peer, Some(first.seq), 1).await?.is_empty()
    {
        eprintln!(
            "note: showing the newest {limit} message{}; older ones with --limit N, or all with \
             `p2p-chat export {peer}`",
            if limit == 1 { "" } else { "s" }
        );
    }
    if messages.is_empty() && !json {
        writeln!(std::io::stdout(), "no messages with {peer} yet")?;
    }
    print(&peer, &messages, json)
}

/// Prints `messages` with `peer` as `history` does: one line (or JSON object) each.
fn print(peer: &str, messages: &[Stored], json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for message in messages {
        if json {
            write_line(&mut out, "me", message)?;
        } else {
            let when = chrono::DateTime::from_timestamp_millis(message.sent_at_ms as i64)
                .map(|t| {
                    t.with_timezone(&chrono::Local)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            let who = if message.outgoing { "me" } else { peer };
            let state = if message.outgoing {
                format!(" [{}]", delivery_name(message.delivery))
            } else {
                String::new()
            };
            let text: String = message
                .text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            writeln!(out, "{when} {who}: {text}{state}")?;
        }
    }
    Ok(())
}

/// `p2p-chat export USERNAME`: the whole conversation as JSON lines, oldest first, streamed
/// page by page so memory stays bounded.
///
/// # Errors
/// When the store cannot be read or stdout written.
pub async fn export(global: &GlobalOpts, username: &str) -> anyhow::Result<()> {
    let peer = validate::username(username)?;
    let store = open(global).await?;
    // Pages come newest first; collect their bounds, then print oldest first.
    let mut starts = Vec::new();
    let mut before = None;
    loop {
        let page = store.page(&peer, before, PAGE_SIZE).await?;
        let Some(first) = page.first() else { break };
        starts.push(before);
        before = Some(first.seq);
    }
    let mut out = std::io::stdout().lock();
    for before in starts.into_iter().rev() {
        for message in store.page(&peer, before, PAGE_SIZE).await? {
            write_line(&mut out, "me", &message)?;
        }
    }
    Ok(())
}
