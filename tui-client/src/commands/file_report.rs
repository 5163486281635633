//! How `listen` (and other programs without a window) tell what happened to a transfer.

use std::io::Write;

use anyhow::Context;

use crate::store::Transfer;
use crate::transfer::{Report, human_bytes, short_sha256};

/// One line about a file, for people: `NAME (SIZE, SHA-256 abcd …)`.
pub fn describe(t: &Transfer) -> String {
    format!(
        "{} ({}, SHA-256 {})",
        t.name,
        human_bytes(t.size),
        short_sha256(&t.sha256)
    )
}

/// The `--json` object of a report: `{"file": "offered"|"started"|"done"|"ended", "peer",
/// "outgoing", "id", "name", "size", "sha256", "path", "at", "reason"}` — `at` is where bytes
/// (re)started, `path` the saved file (received) or the source (sent). `None` for a pause.
pub fn json(report: &Report) -> Option<serde_json::Value> {
    let (kind, t, at, reason) = match report {
        Report::Offered(t) => ("offered", t, None, None),
        Report::Started { transfer, from } => ("started", transfer, Some(*from), None),
        Report::Finished { transfer } => ("done", transfer, None, None),
        Report::Ended { transfer, reason } => ("ended", transfer, None, Some(reason)),
        Report::Paused { .. } => return None,
    };
    let sha: String = t.sha256.iter().map(|b| format!("{b:02x}")).collect();
    Some(serde_json::json!({
        "file": kind, "peer": t.peer, "outgoing": t.outgoing, "id": t.id.to_string(),
        "name": t.name, "size": t.size, "sha256": sha,
        "path": t.path.as_ref().map(|p| p.display().to_string()), "at": at, "reason": reason,
    }))
}

/// The words of a report for people, or `None` for a pause.
pub fn words(report: &Report) -> Option<String> {
    let side = |t: &Transfer| {
        if t.outgoing {
            format!("to {}", t.peer)
        } else {
            format!("from {}", t.peer)
        }
    };
    Some(match report {
        Report::Offered(t) => format!(
            "{} offers {}; it waits until accepted (p2p-chat listen --accept-files DIR takes \
             every file)",
            t.peer,
            describe(t)
        ),
        Report::Started { transfer: t, from } if *from > 0 => {
            format!(
                "{} {}: resumes at {}",
                describe(t),
                side(t),
                human_bytes(*from)
            )
        }
        Report::Started { transfer: t, .. } => format!("{} {}: started", describe(t), side(t)),
        Report::Finished { transfer: t } if t.outgoing => {
            format!("{} {}: delivered, SHA-256 checked", describe(t), side(t))
        }
        Report::Finished { transfer: t } => format!(
            "{} {}: saved to {} (SHA-256 checked)",
            describe(t),
            side(t),
            t.path
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        ),
        Report::Ended {
            transfer: t,
            reason,
        } => {
            format!("{} {}: ended — {reason}", describe(t), side(t))
        }
        Report::Paused { .. } => return None,
    })
}

/// Prints a report: a line on standard error, or with `json` an object on standard output.
///
/// # Errors
/// When standard output cannot be written.
pub fn print(report: &Report, json_lines: bool) -> anyhow::Result<()> {
    if json_lines {
        if let Some(line) = json(report) {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}").context("cannot write to standard output")?;
            out.flush().context("cannot write to standard output")?;
        }
    } else if let Some(line) = words(report) {
        eprintln!("{line}");
    }
    Ok(())
}
