//! Splicing one relayed session: bytes copied both ways within the session's byte budget and
//! idle timeout, counted into the relay's total as they move.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::RelayLimits;

/// Size of each direction's copy buffer: 16 KiB (a peer frame is at most 64 KiB; smaller
/// reads just take more turns).
const BUFFER: usize = 16 * 1024;

/// Copies bytes both ways between `a` and `b`, each direction on its own (so a full buffer on
/// one side never stops the other), until either side closes, the session has carried
/// `limits.max_bytes`, or nothing has moved either way for `limits.idle_timeout`; returns the
/// bytes carried.
pub(super) async fn splice<A, B>(a: A, b: B, limits: &RelayLimits, total: &AtomicU64) -> u64
where
    A: AsyncRead + AsyncWrite,
    B: AsyncRead + AsyncWrite,
{
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(b);
    let budget = AtomicU64::new(limits.max_bytes);
    let started = Instant::now();
    let last_move_ms = AtomicU64::new(0);
    let moved = Moved {
        budget: &budget,
        last_move_ms: &last_move_ms,
        total,
        started,
    };
    let a_to_b = one_way(&mut a_read, &mut b_write, &moved);
    let b_to_a = one_way(&mut b_read, &mut a_write, &moved);
    let idle = async {
        loop {
            tokio::time::sleep(limits.idle_timeout / 4).await;
            let last = Duration::from_millis(last_move_ms.load(Ordering::Relaxed));
            if started.elapsed().saturating_sub(last) >= limits.idle_timeout {
                return;
            }
        }
    };
    tokio::select! {
        () = a_to_b => {}
        () = b_to_a => {}
        () = idle => {}
    }
    let _ = a_write.shutdown().await;
    let _ = b_write.shutdown().await;
    let carried = limits.max_bytes - budget.load(Ordering::Relaxed);
    if carried >= limits.max_bytes {
        tracing::info!(bytes = carried, "relayed session ended at its byte limit");
    }
    carried
}

/// What both directions of a session share: the bytes it may still carry, when bytes last
/// moved (ms after `started`), and the relay's total of bytes carried.
struct Moved<'a> {
    budget: &'a AtomicU64,
    last_move_ms: &'a AtomicU64,
    total: &'a AtomicU64,
    started: Instant,
}

/// Copies `from` to `to` until `from` closes or the session's budget is used up, noting each
/// move in `moved`.
async fn one_way<R, W>(from: &mut R, to: &mut W, moved: &Moved<'_>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; BUFFER];
    loop {
        let left = moved.budget.load(Ordering::Relaxed);
        if left == 0 {
            return;
        }
        let room = usize::try_from(left).unwrap_or(BUFFER).min(BUFFER);
        let n = match from.read(&mut buf[..room]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Take the bytes from the shared budget; another direction may have taken some.
        let granted =
            match moved
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    Some(left.saturating_sub(n as u64))
                }) {
                Ok(before) | Err(before) => before.min(n as u64) as usize,
            };
        if granted == 0 || to.write_all(&buf[..granted]).await.is_err() {
            return;
        }
        moved.total.fetch_add(granted as u64, Ordering::Relaxed);
        let now = u64::try_from(moved.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        moved.last_move_ms.store(now, Ordering::Relaxed);
        if granted < n {
            return;
        }
    }
}
