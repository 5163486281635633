//! The peer listener: accepts TCP connections and hands each to its own session task.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{EventSender, LocalPeer, MAX_SESSIONS, session};

/// Pause after a failed `accept` (for example when out of file descriptors): 100 ms.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts peers on `listener` forever, at most [`MAX_SESSIONS`] at once; peers beyond that
/// are refused as busy. A misbehaving peer ends only its own connection.
pub async fn serve(listener: TcpListener, me: LocalPeer, events: EventSender) {
    let limit = Arc::new(Semaphore::new(MAX_SESSIONS));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let permit = limit.clone().try_acquire_owned().ok();
                tokio::spawn(session::accept(stream, me.clone(), events.clone(), permit));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a peer failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
            }
        }
    }
}
