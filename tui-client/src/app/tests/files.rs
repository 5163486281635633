//! `update` tests of file transfers in the window: offers listed and answered, transfers
//! left open by an earlier run restored, progress with rate and ETA in the status text.

use super::*;
use crate::app::files::{FileAction, FileEffect, FileState};
use crate::store::{Transfer, TransferState};
use crate::transfer::Report;

fn offer(n: u128, outgoing: bool, state: TransferState) -> Transfer {
    Transfer {
        id: MessageId(uuid::Uuid::from_u128(n)),
        peer: "bob".into(),
        outgoing,
        name: "notes.pdf".into(),
        size: 10 * 1024 * 1024,
        sha256: [0xab; 32],
        path: None,
        source_mtime_ms: None,
        state,
        detail: None,
        sent_at_ms: NOW,
    }
}

fn file_effects(effects: &[Effect]) -> Vec<FileEffect> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::File(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_offer_is_shown_in_its_chat_and_answered_there() {
    let mut app = app();
    connected_to_bob(&mut app);
    let t = offer(1, false, TransferState::Offered);
    app.update(Action::File(FileAction::Report(Report::Offered(t.clone()))));
    let chat = app.current_chat().unwrap();
    assert!(
        chat.lines.iter().any(|l| l
            .text
            .contains("bob offers notes.pdf (10.0 MiB, SHA-256 abab abab")),
        "{:?}",
        chat.lines
    );
    assert_eq!(
        file_effects(&type_line(&mut app, "/accept-file")),
        [FileEffect::Accept(t.id)]
    );
    // Nothing else waits: a second /decline says so.
    app.update(Action::File(FileAction::Report(Report::Started {
        transfer: t.clone(),
        from: 0,
    })));
    assert!(file_effects(&type_line(&mut app, "/decline")).is_empty());
    assert!(matches!(&app.notice, Some((Level::Error, m)) if m.contains("no file offer")));
    // The transfer in progress can be cancelled.
    assert_eq!(
        file_effects(&type_line(&mut app, "/cancel-file")),
        [FileEffect::Cancel(t.id)]
    );
}

#[test]
fn transfers_left_open_by_an_earlier_run_can_be_answered_and_cancelled() {
    let mut app = app();
    connected_to_bob(&mut app);
    let theirs = offer(1, false, TransferState::Offered);
    let ours = offer(2, true, TransferState::Accepted);
    app.update(Action::File(FileAction::Restored(vec![
        theirs.clone(),
        ours.clone(),
    ])));
    assert_eq!(app.files.len(), 2);
    assert_eq!(app.files[1].state, FileState::Paused);
    assert_eq!(
        file_effects(&type_line(&mut app, "/decline")),
        [FileEffect::Decline(theirs.id)]
    );
    // The newest transfer not over is ours, paused.
    assert_eq!(
        file_effects(&type_line(&mut app, "/cancel-file")),
        [FileEffect::Cancel(ours.id)]
    );
}

#[test]
fn progress_shows_rate_and_time_left_and_polls_while_bytes_move() {
    let mut app = app();
    connected_to_bob(&mut app);
    let t = offer(3, true, TransferState::Accepted);
    let effects = app.update(Action::File(FileAction::Report(Report::Started {
        transfer: t.clone(),
        from: 0,
    })));
    assert!(effects.iter().any(|e| matches!(e, Effect::Wake { .. })));
    assert_eq!(app.files[0].state, FileState::Moving);
    // Two samples a second apart: 1 MiB/s, 9 MiB left.
    let mut view = app.files[0].clone();
    view.sample_for_tests(NOW, 0);
    view.sample_for_tests(NOW + 1000, 1024 * 1024);
    let shown = view.progress_text();
    assert!(shown.starts_with("↑ notes.pdf 10%"), "{shown}");
    assert!(shown.contains("1.0 MiB/s"), "{shown}");
    assert!(shown.ends_with("0:09"), "{shown}");
}
