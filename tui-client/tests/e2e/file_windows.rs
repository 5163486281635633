//! File transfers between two chat windows in pseudo-terminals: offered, accepted, saved,
//! declined, and resumed after the receiving window was killed half-way.

use std::path::Path;

use crate::files::{
    PATIENCE, big_dir, files_in, partial_bytes, sha256_of, wait_for_partial, write_random,
};
use crate::procs::{Directory, alice_and_bob, client_bin};
use crate::pty::Tui;

/// alice's and bob's chat windows, alice connected to bob, bob saving files into
/// `downloads`; and how to start bob's window again.
struct Windows {
    alice: Tui,
    bob: Tui,
    bob_args: Vec<String>,
    /// Kept running for as long as the windows are: bind it, or it stops at once.
    directory: Directory,
}

fn connected_windows(tmp: &Path, downloads: &Path) -> Windows {
    let directory = Directory::start(tmp);
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp, &directory);
    let bob_config = tmp.join("bob.toml");
    std::fs::write(
        &bob_config,
        format!("download_dir = {:?}\n", downloads.display().to_string()),
    )
    .unwrap();
    let bob_args: Vec<String> = [
        "--home",
        bob_home.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{bob_port}"),
        "--config",
        bob_config.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .into();
    let alice_listen = format!("127.0.0.1:{alice_port}");
    let alice_args = [
        "--home",
        alice_home.to_str().unwrap(),
        "--listen",
        &alice_listen,
    ];
    let mut windows = Windows {
        alice: Tui::spawn("alice", &client_bin(), &alice_args),
        bob: bob_window(&bob_args),
        bob_args,
        directory,
    };
    windows.alice.wait_for("directory: online");
    windows.bob.wait_for("directory: online");
    windows.alice.type_text("/connect bob\r");
    windows.alice.wait_for("connected to bob");
    windows
}

fn bob_window(args: &[String]) -> Tui {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Tui::spawn("bob", &client_bin(), &args)
}

#[test]
fn two_chat_windows_offer_accept_save_and_decline_files() {
    let tmp = tempfile::tempdir().unwrap();
    let big = big_dir();
    let report = big.path().join("report.pdf");
    let sha = write_random(&report, 24 << 20);
    let downloads = big.path().join("bob downloads");
    let Windows {
        mut alice,
        mut bob,
        directory: _directory,
        ..
    } = connected_windows(tmp.path(), &downloads);

    alice.type_text(&format!("/send {}\r", report.display()));
    alice.wait_for("you offer report.pdf");
    bob.wait_for("alice offers report.pdf");
    let short = &sha[..4];
    bob.wait_until("the offer shows the file's SHA-256", |screen| {
        screen.contains(&format!("SHA-256 {short}"))
    });
    bob.type_text("/accept-file\r");
    bob.wait_for("saved report.pdf");
    alice.wait_for("bob has report.pdf");
    let saved = downloads.join("report.pdf");
    assert_eq!(sha256_of(&saved), sha);

    // A second offer of the same name, declined: nothing is written, the sender is told.
    alice.type_text(&format!("/send {}\r", report.display()));
    bob.wait_until("a second offer", |screen| {
        screen.matches("alice offers report.pdf").count() == 2
    });
    bob.type_text("/decline\r");
    // "declined by bob" (wrapped where the chat is narrow).
    alice.wait_until("the decline, and who declined", |screen| {
        let rows: Vec<&str> = screen.lines().collect();
        rows.iter().enumerate().any(|(i, row)| {
            row.contains("declined by bob")
                || (row.contains("declined")
                    && rows.get(i + 1).is_some_and(|r| r.contains("by bob")))
        })
    });
    assert_eq!(files_in(&downloads), vec![saved]);
    alice.quit();
    bob.quit();
}

#[test]
fn a_chat_window_killed_mid_transfer_resumes_the_file_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let big = big_dir();
    let video = big.path().join("video.mkv");
    let sha = write_random(&video, 1 << 30);
    let downloads = big.path().join("downloads");
    let Windows {
        mut alice,
        bob,
        bob_args,
        directory: _directory,
    } = connected_windows(tmp.path(), &downloads);
    let mut bob = bob;
    alice.type_text(&format!("/send {}\r", video.display()));
    bob.wait_for("alice offers video.mkv");
    bob.type_text("/accept-file\r");
    // Both chats show the transfer's live line: progress, rate and time left.
    bob.wait_until("live progress in bob's chat", |screen| {
        screen.contains("video.mkv from alice:") && screen.contains("left")
    });
    alice.wait_until("live progress in alice's chat", |screen| {
        screen.contains("video.mkv to bob:") && screen.contains("left")
    });

    // bob's window dies half-way; started again, it takes the rest.
    std::fs::create_dir_all(&downloads).unwrap();
    wait_for_partial(&downloads, 300 << 20);
    bob.crash();
    let kept = partial_bytes(&downloads);
    assert!(kept < 1 << 30, "the transfer ended before the crash");
    let mut bob = bob_window(&bob_args);
    bob.wait_for("video.mkv");
    bob.wait_until("the transfer resumes rather than starting over", |screen| {
        screen.contains("(resumed at ")
    });
    bob.wait_longer("the file saved", PATIENCE, |screen| {
        screen.contains("saved video.mkv")
    });
    alice.wait_for("bob has video.mkv");
    let saved = downloads.join("video.mkv");
    assert_eq!(sha256_of(&saved), sha);
    assert_eq!(files_in(&downloads), vec![saved]);
    alice.quit();
    bob.quit();
}
