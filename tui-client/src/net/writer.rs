//! A session's writer: the task that writes the session's frames to the connection, so that
//! the session loop ([`super::session`]) goes on reading while a write waits for the peer.
//!
//! Were one task to do both, two peers that send files to each other at once would each wait
//! for the other to read, and neither would read: the connection's buffers fill both ways and
//! the session dies of its idle timeout. The loop hands frames over in the order it chose
//! (its priorities), at most [`QUEUE_FRAMES`] ahead of the socket, so a chat message still
//! overtakes every chunk not yet handed over.

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

/// Frames the loop may hand over ahead of the socket before it takes no more from its
/// queues: 4 (with 63 KiB chunks, about 252 KiB waiting; the writer writes them with one
/// flush).
pub const QUEUE_FRAMES: usize = 4;

/// Frames waiting in the writer past which the loop stops reading too: 64. Only frames the
/// loop must send because of what it read (a pong, a goodbye) pass [`QUEUE_FRAMES`]; a peer
/// that floods pings while never reading our frames is not answered without end.
pub const MAX_QUEUED_FRAMES: usize = 64;

/// How long a closing session waits for its last frames (a goodbye) to be written: 5 s.
pub const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The writing half of a session's connection, in its own task.
pub struct Writer {
    frames: Option<mpsc::UnboundedSender<PeerMessage>>,
    queued: Arc<AtomicUsize>,
    written: Arc<Notify>,
    task: JoinHandle<Result<(), CloseReason>>,
}

impl Writer {
    /// Starts the task that writes to `sink`.
    pub fn spawn(sink: SplitSink<SecureFramed, PeerMessage>) -> Self {
        let (frames, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(Notify::new());
        let task = tokio::spawn(write(sink, rx, queued.clone(), written.clone()));
        Self {
            frames: Some(frames),
            queued,
            written,
            task,
        }
    }

    /// Whether the loop may hand over more frames from its queues (fewer than
    /// [`QUEUE_FRAMES`] wait).
    pub fn has_room(&self) -> bool {
        self.queued.load(Ordering::Acquire) < QUEUE_FRAMES
    }

    /// Whether the loop may read the next frame (fewer than [`MAX_QUEUED_FRAMES`] wait).
    pub fn can_read(&self) -> bool {
        self.queued.load(Ordering::Acquire) < MAX_QUEUED_FRAMES
    }

    /// Waits until the task stops, which it does only when a write failed or timed out (the
    /// session's end: `Some` with why); or, when `for_room`, until a frame was written
    /// (`None`; perhaps one written earlier: the caller checks [`Writer::has_room`] again).
    pub async fn wait(&mut self, for_room: bool) -> Option<CloseReason> {
        tokio::select! {
            ended = &mut self.task => Some(match ended {
                Ok(Err(reason)) => reason,
                Ok(Ok(())) | Err(_) => CloseReason::Local,
            }),
            () = self.written.notified(), if for_room => None,
        }
    }

    /// Hands `frame` over to be written after those handed over before it.
    pub fn send(&self, frame: PeerMessage) {
        if let Some(frames) = &self.frames {
            self.queued.fetch_add(1, Ordering::AcqRel);
            if frames.send(frame).is_err() {
                self.queued.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Writes what was handed over (a goodbye) within [`CLOSE_GRACE`], then stops.
    pub async fn finish(mut self) {
        self.frames = None;
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

/// The task: writes frames as they come, flushing whenever none is waiting (so frames handed
/// over together go out with one flush). A write that waits longer than [`IDLE_TIMEOUT`] for
/// the peer to read ends the session.
async fn write(
    mut sink: SplitSink<SecureFramed, PeerMessage>,
    mut frames: mpsc::UnboundedReceiver<PeerMessage>,
    queued: Arc<AtomicUsize>,
    written: Arc<Notify>,
) -> Result<(), CloseReason> {
    while let Some(frame) = frames.recv().await {
        let mut next = Some(frame);
        while let Some(frame) = next.take() {
            within_idle_timeout(sink.feed(frame)).await?;
            queued.fetch_sub(1, Ordering::AcqRel);
            written.notify_one();
            next = frames.try_recv().ok();
        }
        within_idle_timeout(SinkExt::<PeerMessage>::flush(&mut sink)).await?;
    }
    Ok(())
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
