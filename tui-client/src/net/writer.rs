//! A session's writer: the task that writes the session's frames to the connection, so that
//! the session loop ([`super::session`]) goes on reading while a write waits for the peer.
//!
//! Were one task to do both, two peers that send files to each other at once would each wait
//! for the other to read, and neither would read: the connection's buffers fill both ways and
//! the session dies of its idle timeout. The loop hands frames over in the order it chose
//! (its priorities). File chunks wait in a lane of their own, at most [`CHUNKS_AHEAD`] of
//! them, and every other frame (chat, receipts, transfer control, keepalives) overtakes
//! them: a chat message waits only for the chunk being written. Only the sender writes
//! chunks, and nothing it sends after them depends on their order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::SinkExt;
use futures::stream::SplitSink;
use p2p_chat_protocol::{FrameError, PeerMessage};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::handshake::SecureFramed;
use super::{CloseReason, IDLE_TIMEOUT};

/// File chunks the loop may hand over ahead of the socket: 4 (with 63 KiB chunks, about
/// 252 KiB), so the writer always has the next one while the loop looks at everything else.
pub const CHUNKS_AHEAD: usize = 4;

/// Other frames waiting in the writer past which the loop takes no more chat messages,
/// transfer frames or keepalives from its owner: 64. Receipts and answers to what the loop
/// read still go in: the loop never stops reading because a write waits (two peers flooding
/// each other would otherwise both stop reading, each waiting for the other).
pub const QUEUED_FRAMES: usize = 64;

/// Frames waiting in the writer past which the peer is taken to have stopped reading and the
/// session ends: 4096 (receipts and pongs for what it sent while it read nothing of ours;
/// about 0.2 MiB).
pub const MAX_BACKLOG_FRAMES: usize = 4096;

/// How long a closing session waits for its last frames (a goodbye) to be written: 5 s.
pub const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A lane of frames into the writer, with the count of those not yet written.
struct Lane {
    frames: mpsc::UnboundedSender<PeerMessage>,
    queued: Arc<AtomicUsize>,
}

impl Lane {
    fn len(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    fn send(&self, frame: PeerMessage) {
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.frames.send(frame).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The writing half of a session's connection, in its own task.
pub struct Writer {
    /// `None` once the writer is told to finish.
    lanes: Option<(Lane, Lane)>,
    written: Arc<Notify>,
    task: JoinHandle<Result<(), CloseReason>>,
}

impl Writer {
    /// Starts the task that writes to `sink`.
    pub fn spawn(sink: SplitSink<SecureFramed, PeerMessage>) -> Self {
        let written = Arc::new(Notify::new());
        let (frames, frames_rx) = mpsc::unbounded_channel();
        let (chunks, chunks_rx) = mpsc::unbounded_channel();
        let urgent = Lane {
            frames,
            queued: Arc::new(AtomicUsize::new(0)),
        };
        let bulk = Lane {
            frames: chunks,
            queued: Arc::new(AtomicUsize::new(0)),
        };
        let task = tokio::spawn(write(
            sink,
            (frames_rx, urgent.queued.clone()),
            (chunks_rx, bulk.queued.clone()),
            written.clone(),
        ));
        Self {
            lanes: Some((urgent, bulk)),
            written,
            task,
        }
    }

    /// Whether the loop may take its owner's frames other than chunks (fewer than
    /// [`QUEUED_FRAMES`] wait).
    pub fn has_room(&self) -> bool {
        self.lanes
            .as_ref()
            .is_some_and(|(urgent, _)| urgent.len() < QUEUED_FRAMES)
    }

    /// Whether more than [`MAX_BACKLOG_FRAMES`] wait: the peer does not read.
    pub fn overflowing(&self) -> bool {
        self.lanes
            .as_ref()
            .is_some_and(|(urgent, _)| urgent.len() > MAX_BACKLOG_FRAMES)
    }

    /// Whether the loop may take another file chunk (fewer than [`CHUNKS_AHEAD`] wait).
    pub fn has_room_for_chunks(&self) -> bool {
        self.lanes
            .as_ref()
            .is_some_and(|(_, bulk)| bulk.len() < CHUNKS_AHEAD)
    }

    /// Waits until the task stops, which it does only when a write failed or timed out (the
    /// session's end: `Some` with why); or, when `for_room`, until a frame was written
    /// (`None`; perhaps one written earlier: the caller checks for room again).
    pub async fn wait(&mut self, for_room: bool) -> Option<CloseReason> {
        tokio::select! {
            ended = &mut self.task => Some(match ended {
                Ok(Err(reason)) => reason,
                Ok(Ok(())) | Err(_) => CloseReason::Local,
            }),
            () = self.written.notified(), if for_room => None,
        }
    }

    /// Hands `frame` over: a file chunk after the chunks handed over before it, any other
    /// frame after the other frames handed over before it and ahead of every chunk.
    pub fn send(&self, frame: PeerMessage) {
        if let Some((urgent, bulk)) = &self.lanes {
            match frame {
                PeerMessage::FileChunk { .. } => bulk.send(frame),
                other => urgent.send(other),
            }
        }
    }

    /// Writes what was handed over (a goodbye) within [`CLOSE_GRACE`], then stops.
    pub async fn finish(mut self) {
        self.lanes = None;
        if timeout(CLOSE_GRACE, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type LaneEnd = (mpsc::UnboundedReceiver<PeerMessage>, Arc<AtomicUsize>);

/// The task: writes frames as they come, others before chunks, flushing whenever none is
/// waiting (so frames handed over together go out with one flush). A write that waits longer
/// than [`IDLE_TIMEOUT`] for the peer to read ends the session. Ends once both lanes are
/// closed and written.
async fn write(
    mut sink: SplitSink<SecureFramed, PeerMessage>,
    (mut frames, frames_queued): LaneEnd,
    (mut chunks, chunks_queued): LaneEnd,
    written: Arc<Notify>,
) -> Result<(), CloseReason> {
    loop {
        let next = tokio::select! {
            biased;
            Some(frame) = frames.recv() => (frame, &frames_queued),
            Some(chunk) = chunks.recv() => (chunk, &chunks_queued),
            else => return Ok(()),
        };
        let mut next = Some(next);
        while let Some((frame, queued)) = next.take() {
            within_idle_timeout(sink.feed(frame)).await?;
            queued.fetch_sub(1, Ordering::AcqRel);
            written.notify_one();
            next = match frames.try_recv() {
                Ok(frame) => Some((frame, &frames_queued)),
                Err(_) => chunks.try_recv().ok().map(|chunk| (chunk, &chunks_queued)),
            };
        }
        within_idle_timeout(SinkExt::<PeerMessage>::flush(&mut sink)).await?;
    }
}

/// Runs a write, giving up after [`IDLE_TIMEOUT`]; its failure as the session's end.
async fn within_idle_timeout(
    write: impl std::future::Future<Output = Result<(), FrameError>>,
) -> Result<(), CloseReason> {
    match timeout(IDLE_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(FrameError::Io(e))) => Err(CloseReason::ConnectionLost {
            detail: e.to_string(),
        }),
        Ok(Err(e)) => Err(CloseReason::ProtocolError {
            detail: e.to_string(),
        }),
        Err(_) => Err(CloseReason::TimedOut),
    }
}
