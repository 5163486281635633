//! File transfers against a hand-driven sender over real loopback sessions: hostile names,
//! sizes, hashes, offsets and floods are refused or time out cleanly, nothing lands outside
//! the download directory, no partial file is left or named as complete, and chat keeps
//! working on the same session.

use std::time::Duration;

use bytes::Bytes;
use p2p_chat::net::files::FileEvent;
use p2p_chat::transfer::Report;
use p2p_chat::transfer::policy::Rules;
use p2p_chat_protocol::transfer::{CancelReason, MAX_CHUNK_BYTES, MAX_FILE_BYTES};
use p2p_chat_protocol::{MessageId, PeerMessage};

use crate::file_lab::{ended_reason, files_in, lab, sha};
use crate::support::PATIENCE;

#[tokio::test]
async fn a_path_in_the_name_lands_inside_the_directory_and_never_replaces_a_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("evil.txt"), "mine").unwrap();
    let mut lab = lab(&dir, 60_000).await;
    let id = MessageId::new();
    let data = b"payload";
    lab.offer(id, "../../evil.txt", data.len() as u64, sha(data));
    let _credit = lab.route(id);
    let FileEvent::Accept {
        offset: 0,
        credit_until,
        ..
    } = lab.sender_gets().await
    else {
        panic!("the offer was not accepted");
    };
    assert!(credit_until >= data.len() as u64);
    lab.chunk(id, 0, data).await;
    let Report::Finished { transfer } = lab.report().await else {
        panic!("not finished");
    };
    assert_eq!(
        transfer.path.as_deref(),
        Some(dir.join("evil (1).txt").as_path())
    );
    assert_eq!(std::fs::read(dir.join("evil (1).txt")).unwrap(), data);
    assert_eq!(std::fs::read(dir.join("evil.txt")).unwrap(), b"mine");
    assert_eq!(files_in(root.path()), ["in"]);
    assert_eq!(lab.sender_gets().await, FileEvent::Done { id });
    // A cancel of the finished transfer (late, or hostile) leaves the saved file alone; an
    // invalid offer after it shows the receiver has handled it.
    let cancel = PeerMessage::FileCancel {
        id,
        reason: CancelReason::Cancelled,
    };
    lab.pair.client.send_file_frame(cancel).unwrap();
    lab.offer(MessageId::new(), "", 1, [0; 32]);
    assert!(matches!(lab.sender_gets().await, FileEvent::Cancel { .. }));
    assert_eq!(std::fs::read(dir.join("evil (1).txt")).unwrap(), data);
}

#[tokio::test]
async fn absurd_offers_are_refused_and_chat_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    for (name, size) in [("huge.iso", 1u64 << 50), ("", 1), ("a\0b", 1)] {
        let id = MessageId::new();
        lab.offer(id, name, size, [0; 32]);
        match lab.sender_gets().await {
            FileEvent::Cancel {
                id: cancelled,
                reason: CancelReason::Invalid { .. },
            } => assert_eq!(cancelled, id),
            other => panic!("{name:?} {size}: expected a refusal, got {other:?}"),
        }
        assert!(matches!(lab.report().await, Report::Ended { .. }));
    }
    assert!(files_in(dir.path()).is_empty());
    lab.chat_goes_on("still here").await;
}

#[tokio::test]
async fn an_offer_larger_than_the_free_space_is_refused_before_a_byte_moves() {
    // A memory file system: no test machine has 1 TiB of it.
    let dir = match std::path::Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    };
    let mut lab = lab(dir.path(), 60_000).await;
    let id = MessageId::new();
    lab.offer(id, "disk-image.raw", MAX_FILE_BYTES, [0; 32]);
    match lab.sender_gets().await {
        FileEvent::Cancel {
            id: cancelled,
            reason: CancelReason::CannotStore { detail },
        } => {
            assert_eq!(cancelled, id);
            assert!(detail.contains("not enough free space"), "{detail}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(files_in(dir.path()).is_empty());
    lab.chat_goes_on("still here").await;
}

#[tokio::test]
async fn a_lying_hash_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    let id = MessageId::new();
    let data = vec![7u8; MAX_CHUNK_BYTES + 10];
    lab.offer(id, "photo.jpg", data.len() as u64, sha(b"something else"));
    let _credit = lab.route(id);
    assert!(matches!(lab.sender_gets().await, FileEvent::Accept { .. }));
    lab.chunk(id, 0, &data[..MAX_CHUNK_BYTES]).await;
    lab.chunk(id, MAX_CHUNK_BYTES as u64, &data[MAX_CHUNK_BYTES..])
        .await;
    assert!(ended_reason(lab.report().await).contains("SHA-256"));
    assert_eq!(
        lab.sender_gets().await,
        FileEvent::Cancel {
            id,
            reason: CancelReason::HashMismatch
        }
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
    // A sender that missed the end and offers it again hears the real reason again.
    lab.offer(id, "photo.jpg", data.len() as u64, sha(b"something else"));
    assert_eq!(
        lab.sender_gets().await,
        FileEvent::Cancel {
            id,
            reason: CancelReason::HashMismatch
        }
    );
    lab.chat_goes_on("after the lie").await;
}

#[tokio::test]
async fn chunks_out_of_order_or_of_the_wrong_length_are_refused() {
    for (offset, len) in [(5u64, MAX_CHUNK_BYTES), (0, 10)] {
        let dir = tempfile::tempdir().unwrap();
        let mut lab = lab(dir.path(), 60_000).await;
        let id = MessageId::new();
        let size = 3 * MAX_CHUNK_BYTES as u64;
        lab.offer(id, "a.bin", size, [1; 32]);
        let _credit = lab.route(id);
        assert!(matches!(lab.sender_gets().await, FileEvent::Accept { .. }));
        lab.chunk(id, offset, &vec![0; len]).await;
        assert!(ended_reason(lab.report().await).contains("invalid"));
        assert!(files_in(dir.path()).is_empty());
    }
}

#[tokio::test]
async fn a_sender_that_ignores_the_credit_is_cut_off_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    let id = MessageId::new();
    let size = 64 * 1024 * 1024;
    lab.offer(id, "flood.bin", size, [1; 32]);
    let _credit = lab.route(id);
    assert!(matches!(lab.sender_gets().await, FileEvent::Accept { .. }));
    let chunk = vec![0; MAX_CHUNK_BYTES];
    let sending = {
        let client = lab.pair.client.clone();
        tokio::spawn(async move {
            let mut offset = 0;
            while offset < size {
                let len = (size - offset).min(MAX_CHUNK_BYTES as u64) as usize;
                let data = Bytes::copy_from_slice(&chunk[..len]);
                if client.send_chunk(id, offset, data).await.is_err() {
                    return;
                }
                offset += MAX_CHUNK_BYTES as u64;
            }
        })
    };
    // Cut off when the writer falls a window behind; a writer fast enough to keep up finds
    // the hash wrong at the end. Either way nothing is kept and chat goes on.
    let reason = ended_reason(lab.report().await);
    assert!(
        reason.contains("credit") || reason.contains("SHA-256"),
        "{reason}"
    );
    sending.abort();
    assert!(files_in(dir.path()).is_empty());
    lab.chat_goes_on("after the flood").await;
}

#[tokio::test]
async fn a_sender_that_stops_sending_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 500).await;
    let id = MessageId::new();
    lab.offer(id, "slow.bin", 1 << 20, [1; 32]);
    let _credit = lab.route(id);
    assert!(matches!(lab.sender_gets().await, FileEvent::Accept { .. }));
    lab.chunk(id, 0, &vec![0; MAX_CHUNK_BYTES]).await;
    assert!(ended_reason(lab.report().await).contains("too long"));
    assert_eq!(
        lab.sender_gets().await,
        FileEvent::Cancel {
            id,
            reason: CancelReason::Stalled
        }
    );
    assert!(files_in(dir.path()).is_empty());
    lab.chat_goes_on("after the stall").await;
}

#[tokio::test]
async fn a_cancelled_transfer_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    let id = MessageId::new();
    lab.offer(id, "big.bin", 1 << 20, [1; 32]);
    let _credit = lab.route(id);
    assert!(matches!(lab.sender_gets().await, FileEvent::Accept { .. }));
    lab.chunk(id, 0, &vec![0; MAX_CHUNK_BYTES]).await;
    // The partial file is there, clearly named, while bytes come.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while files_in(dir.path()).is_empty() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let partial = files_in(dir.path());
    assert!(
        partial[0].starts_with("big.bin.") && partial[0].ends_with(".partial"),
        "{partial:?}"
    );
    lab.engine.cancel(id).await.unwrap();
    assert!(ended_reason(lab.report().await).contains("cancelled by you"));
    assert_eq!(
        lab.sender_gets().await,
        FileEvent::Cancel {
            id,
            reason: CancelReason::Cancelled
        }
    );
    assert!(files_in(dir.path()).is_empty());
}

#[tokio::test]
async fn an_offer_left_waiting_is_taken_when_offered_again_under_rules_that_take_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    let asking = Rules {
        accept_into: None,
        download_dir: dir.path().to_owned(),
        auto_accept_bytes: 0,
    };
    lab.engine.set_rules(asking.clone());
    let id = MessageId::new();
    let data = b"waited";
    lab.offer(id, "later.txt", data.len() as u64, sha(data));
    assert!(matches!(lab.report().await, Report::Offered(t) if t.id == id));
    // Offered again (the sender's next session): still asked about, not lost.
    lab.offer(id, "later.txt", data.len() as u64, sha(data));
    assert!(matches!(lab.report().await, Report::Offered(t) if t.id == id));
    // Now taken by rules that accept files (a `listen --accept-files` run).
    lab.engine.set_rules(Rules {
        accept_into: Some(dir.path().to_owned()),
        ..asking
    });
    let _credit = lab.route(id);
    lab.offer(id, "later.txt", data.len() as u64, sha(data));
    assert!(matches!(
        lab.sender_gets().await,
        FileEvent::Accept { offset: 0, .. }
    ));
    lab.chunk(id, 0, data).await;
    assert!(matches!(lab.report().await, Report::Finished { .. }));
    assert_eq!(std::fs::read(dir.path().join("later.txt")).unwrap(), data);
}

#[tokio::test]
async fn the_receiver_resumes_on_a_new_session_and_hears_of_an_end_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    let id = MessageId::new();
    lab.offer(id, "long.bin", 4 * MAX_CHUNK_BYTES as u64, [1; 32]);
    let _credit = lab.route(id);
    assert!(matches!(
        lab.sender_gets().await,
        FileEvent::Accept { offset: 0, .. }
    ));
    lab.chunk(id, 0, &vec![3; MAX_CHUNK_BYTES]).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum::<u64>()
        < MAX_CHUNK_BYTES as u64
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the chunk was not written"
        );
        lab.drive_briefly().await;
    }
    // A new session: the receiver accepts again at the bytes it has, unasked.
    lab.reconnect().await;
    match lab.sender_gets().await {
        FileEvent::Accept {
            id: again, offset, ..
        } => {
            assert_eq!((again, offset), (id, MAX_CHUNK_BYTES as u64));
        }
        other => panic!("expected the receiver to resume, got {other:?}"),
    }
    // The sender had ended it meanwhile: its answer ends it here, partial file gone.
    let cancel = PeerMessage::FileCancel {
        id,
        reason: CancelReason::Cancelled,
    };
    lab.pair.client.send_file_frame(cancel).unwrap();
    assert!(ended_reason(lab.report().await).contains("cancelled by mallory"));
    assert!(files_in(dir.path()).is_empty());
}

#[tokio::test]
async fn a_peer_cannot_open_more_than_its_share_of_transfers_at_once() {
    use p2p_chat::transfer::MAX_OPEN_FILES_PER_PEER;
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    for n in 0..MAX_OPEN_FILES_PER_PEER {
        lab.offer(MessageId::new(), &format!("f{n}.bin"), 1 << 20, [1; 32]);
        assert!(matches!(lab.sender_gets().await, FileEvent::Accept { .. }));
    }
    let extra = MessageId::new();
    lab.offer(extra, "one-more.bin", 1 << 20, [1; 32]);
    match lab.sender_gets().await {
        FileEvent::Cancel {
            id,
            reason: CancelReason::Invalid { detail },
        } => {
            assert_eq!(id, extra);
            assert!(detail.contains("already waiting"), "{detail}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    lab.chat_goes_on("still fine").await;
}

#[tokio::test]
async fn all_peers_together_cannot_open_more_than_the_receiver_takes() {
    use p2p_chat::store::{Transfer, TransferState};
    use p2p_chat::transfer::{MAX_OPEN_FILES_PER_PEER, MAX_OPEN_INCOMING_FILES};
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab(dir.path(), 60_000).await;
    // Other peers' offers fill the receiver, each peer within its own share.
    for n in 0..MAX_OPEN_INCOMING_FILES {
        let offer = Transfer {
            id: MessageId::new(),
            peer: format!("peer{}", n / MAX_OPEN_FILES_PER_PEER),
            outgoing: false,
            name: format!("f{n}.bin"),
            size: 1 << 20,
            sha256: [1; 32],
            path: None,
            source_mtime_ms: None,
            state: TransferState::Offered,
            detail: None,
            sent_at_ms: 0,
        };
        assert!(lab.store.insert_transfer(&offer).await.unwrap());
    }
    let extra = MessageId::new();
    lab.offer(extra, "one-more.bin", 1 << 20, [1; 32]);
    match lab.sender_gets().await {
        FileEvent::Cancel {
            id,
            reason: CancelReason::CannotStore { detail },
        } => {
            assert_eq!(id, extra);
            assert!(detail.starts_with("busy"), "{detail}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    lab.chat_goes_on("still fine").await;
}
