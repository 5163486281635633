//! The lab of the file-transfer tests: a receiver with a transfer engine and a hand-driven
//! sender over one real loopback session, driven in order.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use p2p_chat::net::files::FileEvent;
use p2p_chat::net::{NetEvent, SessionEvent};
use p2p_chat::store::LocalStore;
use p2p_chat::transfer::policy::Rules;
use p2p_chat::transfer::{Report, Transfers};
use p2p_chat_protocol::transfer::Sha256;
use p2p_chat_protocol::{MessageId, PeerMessage};
use sha2::Digest;
use tokio::sync::{mpsc, watch};

use crate::support::{PATIENCE, Pair, connect, listen};

/// A receiver (the listener's side, with a transfer engine saving into `dir`) and the
/// hand-driven sender "mallory" dialled to it.
pub struct Lab {
    pub addr: String,
    pub pair: Pair,
    pub server_rx: mpsc::Receiver<NetEvent>,
    pub engine: Transfers,
    pub reports: mpsc::UnboundedReceiver<Report>,
    pub reported: VecDeque<Report>,
    pub sender_got: VecDeque<FileEvent>,
    /// The receiver's store (the engine's own).
    pub store: LocalStore,
}

pub async fn lab(dir: &Path, stall_ms: u64) -> Lab {
    let (addr, mut server_rx) = listen("bob").await;
    let pair = connect("mallory", &addr, &mut server_rx).await;
    let store = LocalStore::in_memory().await.unwrap();
    let rules = Rules {
        accept_into: Some(dir.to_owned()),
        download_dir: dir.to_owned(),
        auto_accept_bytes: 0,
    };
    let (engine, reports) = Transfers::new(store.clone(), rules);
    let mut engine = engine.with_stall_timeout(stall_ms);
    engine
        .session_opened("mallory", pair.server.clone(), false)
        .await
        .unwrap();
    Lab {
        addr,
        pair,
        server_rx,
        engine,
        reports,
        reported: VecDeque::new(),
        sender_got: VecDeque::new(),
        store,
    }
}

impl Lab {
    /// Drives both sides (the receiver's engine included) until the receiver reported
    /// something or the sender got a transfer message, each kept in order.
    pub async fn drive(&mut self) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tokio::time::timeout(PATIENCE, async {
            loop {
                tokio::select! {
                    Some(NetEvent { event, .. }) = self.server_rx.recv() => {
                        if let SessionEvent::File(event) = event {
                            self.engine.on_event("mallory", event).await.unwrap();
                        }
                    }
                    Some(report) = self.reports.recv() => {
                        if !matches!(report, Report::Started { .. } | Report::Paused { .. }) {
                            self.reported.push_back(report);
                            return;
                        }
                    }
                    Some(NetEvent { event, .. }) = self.pair.client_rx.recv() => {
                        if let SessionEvent::File(event) = event {
                            self.sender_got.push_back(event);
                            return;
                        }
                    }
                    _ = tick.tick() => self.engine.tick().await.unwrap(),
                }
            }
        })
        .await
        .expect("in time");
    }

    /// Drives both sides for a moment (what arrives is kept in order).
    pub async fn drive_briefly(&mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(20), self.drive()).await;
    }

    /// The receiver's next report other than a start or a pause.
    pub async fn report(&mut self) -> Report {
        loop {
            if let Some(report) = self.reported.pop_front() {
                return report;
            }
            self.drive().await;
        }
    }

    /// The next transfer message the sender gets.
    pub async fn sender_gets(&mut self) -> FileEvent {
        loop {
            if let Some(event) = self.sender_got.pop_front() {
                return event;
            }
            self.drive().await;
        }
    }

    /// The sender's session breaks and it dials again: the receiver's engine hears of both.
    pub async fn reconnect(&mut self) {
        let old = self.pair.server.id();
        self.pair.client.close();
        tokio::time::timeout(PATIENCE, async {
            while let Some(NetEvent { session, event }) = self.server_rx.recv().await {
                if session == old && matches!(event, SessionEvent::Closed { .. }) {
                    return;
                }
            }
        })
        .await
        .expect("the old session closes");
        self.engine.session_closed("mallory", old);
        self.pair = connect("mallory", &self.addr, &mut self.server_rx).await;
        self.engine
            .session_opened("mallory", self.pair.server.clone(), false)
            .await
            .unwrap();
    }

    /// Checks that a chat message still goes from the sender to the receiver and its receipt
    /// back, whatever transfer messages come meanwhile.
    pub async fn chat_goes_on(&mut self, text: &str) {
        let id = MessageId::new();
        self.pair
            .client
            .send_chat(id, 1, text.into())
            .await
            .unwrap();
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let SessionEvent::Message { id: got, .. } =
                    self.server_rx.recv().await.unwrap().event
                {
                    assert_eq!(got, id);
                    break;
                }
            }
            self.pair.server.acknowledge(id).unwrap();
            loop {
                if let SessionEvent::Delivered { id: got } =
                    self.pair.client_rx.recv().await.unwrap().event
                {
                    assert_eq!(got, id);
                    break;
                }
            }
        })
        .await
        .expect("chat in time");
    }

    pub fn offer(&self, id: MessageId, name: &str, size: u64, sha256: Sha256) {
        let offer = PeerMessage::FileOffer {
            id,
            sent_at_ms: 1,
            name: name.into(),
            size,
            sha256,
        };
        self.pair.client.send_file_frame(offer).unwrap();
    }

    /// Lets the sender push chunks of `id` whatever the credit says.
    pub fn route(&self, id: MessageId) -> watch::Receiver<u64> {
        let (credit, seen) = watch::channel(0);
        self.pair.client.send_file(id, credit).unwrap();
        seen
    }

    pub async fn chunk(&self, id: MessageId, offset: u64, data: &[u8]) {
        let data = Bytes::copy_from_slice(data);
        self.pair.client.send_chunk(id, offset, data).await.unwrap();
    }
}

pub fn sha(data: &[u8]) -> Sha256 {
    sha2::Sha256::digest(data).into()
}

/// Every file in `dir`.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn ended_reason(report: Report) -> String {
    match report {
        Report::Ended { reason, .. } => reason,
        other => panic!("expected the transfer to end, got {other:?}"),
    }
}
