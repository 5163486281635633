//! The blocking ends of a transfer: hashing a file, the sender's reader and the receiver's
//! writer. Each runs on tokio's blocking pool and talks to the session through bounded
//! channels, so a transfer of any size holds a few MiB at most.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use p2p_chat_protocol::transfer::{CancelReason, FILE_WINDOW_BYTES, MAX_CHUNK_BYTES, Sha256};
use sha2::Digest;
use tokio::sync::mpsc;

use super::Progress;
use crate::net::files::Chunk;

/// Bytes free for an unprivileged user on the file system that holds `dir` (statvfs); `None`
/// when the system cannot tell (or off Unix).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let stats = rustix::fs::statvfs(dir).ok()?;
        Some(stats.f_bavail.saturating_mul(stats.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Bytes read per call while hashing: 1 MiB.
const HASH_BUFFER_BYTES: usize = 1024 * 1024;

/// What the sender learns from its file before offering it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashed {
    /// Length in bytes.
    pub size: u64,
    /// SHA-256 of every byte.
    pub sha256: Sha256,
    /// Modification time, unix ms (0 when the system does not say).
    pub mtime_ms: u64,
}

/// The modification time of `meta`, unix ms.
pub fn mtime_ms(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Hashes the whole regular file at `path`, counting bytes in `progress`.
///
/// # Errors
/// When it cannot be opened or read, or is not a regular file.
pub fn hash_file(path: &Path, progress: &Progress) -> io::Result<Hashed> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let (size, hasher) = hash_prefix(&mut file, u64::MAX, progress)?;
    // A file that changed while hashed would be sent with a wrong hash.
    let after = file.metadata()?;
    if after.len() != size || mtime_ms(&after) != mtime_ms(&meta) {
        return Err(io::Error::other("the file changed while it was read"));
    }
    Ok(Hashed {
        size,
        sha256: hasher.finalize().into(),
        mtime_ms: mtime_ms(&meta),
    })
}

/// Reads up to `limit` bytes from the start of `file` into a SHA-256; returns how many there
/// were and the hash state (the file's position is then after them).
fn hash_prefix(
    file: &mut File,
    limit: u64,
    progress: &Progress,
) -> io::Result<(u64, sha2::Sha256)> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0; HASH_BUFFER_BYTES];
    let mut total = 0u64;
    while total < limit {
        let want = usize::try_from((limit - total).min(HASH_BUFFER_BYTES as u64))
            .unwrap_or(HASH_BUFFER_BYTES);
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        progress.set(total);
    }
    Ok((total, hasher))
}

/// Where the sender starts: checks that the file at `path` is still the one offered (`size`,
/// `mtime_ms`) and the receiver's first `offset` bytes against `prefix` (counting the bytes
/// hashed in `progress`); `offset` when they match, else 0.
///
/// # Errors
/// [`CancelReason::Unavailable`] when the file is gone, unreadable or changed.
pub fn start_at(
    path: &Path,
    (size, mtime): (u64, u64),
    (offset, prefix): (u64, Sha256),
    progress: &Progress,
) -> Result<u64, CancelReason> {
    let unavailable = |_| CancelReason::Unavailable;
    let mut file = File::open(path).map_err(unavailable)?;
    let meta = file.metadata().map_err(unavailable)?;
    if meta.len() != size || mtime_ms(&meta) != mtime {
        return Err(CancelReason::Unavailable);
    }
    if offset == 0 || offset > size {
        return Ok(0);
    }
    let (read, hasher) = hash_prefix(&mut file, offset, progress).map_err(unavailable)?;
    let same = read == offset && <[u8; 32]>::from(hasher.finalize()) == prefix;
    Ok(if same { offset } else { 0 })
}

/// The sender's reader: reads the file at `path` from `start` in chunks of
/// [`MAX_CHUNK_BYTES`] into `out` until its `size` or until `out` closes.
///
/// # Errors
/// [`CancelReason::Unavailable`] when the file cannot be read to its end.
pub fn read_chunks(
    path: &Path,
    start: u64,
    size: u64,
    out: &mpsc::Sender<Chunk>,
) -> Result<(), CancelReason> {
    let unavailable = |_| CancelReason::Unavailable;
    let mut file = File::open(path).map_err(unavailable)?;
    file.seek(SeekFrom::Start(start)).map_err(unavailable)?;
    let mut at = start;
    while at < size {
        let len =
            usize::try_from((size - at).min(MAX_CHUNK_BYTES as u64)).unwrap_or(MAX_CHUNK_BYTES);
        let mut data = BytesMut::zeroed(len);
        file.read_exact(&mut data).map_err(unavailable)?;
        let chunk = Chunk {
            offset: at,
            data: data.freeze(),
        };
        if out.blocking_send(chunk).is_err() {
            return Ok(());
        }
        at += len as u64;
    }
    Ok(())
}

/// A receiver's partial file, open and hashed as far as it goes.
pub struct Receiving {
    file: File,
    hasher: sha2::Sha256,
    /// Bytes in the file, all hashed.
    pub written: u64,
    /// SHA-256 of those bytes (what `FileAccept` carries).
    pub prefix: Sha256,
}

/// Opens (or creates) the partial file at `path` for a file of `size` bytes and hashes what
/// it holds (counting in `progress`); a partial file longer than `size` starts over.
///
/// # Errors
/// What the file system says.
pub fn open_receiving(path: &Path, size: u64, progress: &Progress) -> io::Result<Receiving> {
    let mut file = super::names::open_partial(path)?;
    if file.metadata()?.len() > size {
        file.set_len(0)?;
    }
    let (written, hasher) = hash_prefix(&mut file, u64::MAX, progress)?;
    let prefix = hasher.clone().finalize().into();
    Ok(Receiving {
        file,
        hasher,
        written,
        prefix,
    })
}

/// How the receiver's writer ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Every byte is there, synced, and hashes to the offer's SHA-256.
    Complete,
    /// The session ended first; the partial file keeps what arrived.
    Interrupted,
}

/// The receiver's writer: appends the chunks from `chunks` to the partial file (a chunk at
/// offset 0 while bytes are there means the sender found our prefix wrong: start over),
/// counts them in `progress`, and calls `grant` with a new credit end every half window.
///
/// # Errors
/// [`CancelReason::Invalid`] for a chunk out of order or of the wrong length,
/// [`CancelReason::CannotStore`] when writing fails, [`CancelReason::HashMismatch`] when the
/// whole file does not hash to `sha256`.
pub fn write_chunks(
    mut r: Receiving,
    (size, sha256): (u64, Sha256),
    mut chunks: mpsc::Receiver<Chunk>,
    grant: impl Fn(u64) -> bool,
    progress: &Arc<Progress>,
) -> Result<Written, CancelReason> {
    let cannot_store = |e: io::Error| CancelReason::CannotStore {
        detail: e.to_string(),
    };
    let mut granted = r.written + FILE_WINDOW_BYTES;
    progress.set(r.written);
    while r.written < size {
        let Some(Chunk { offset, data }) = chunks.blocking_recv() else {
            return Ok(Written::Interrupted);
        };
        if offset == 0 && r.written > 0 {
            r.file.set_len(0).map_err(cannot_store)?;
            r.file.seek(SeekFrom::Start(0)).map_err(cannot_store)?;
            r.hasher = sha2::Sha256::new();
            r.written = 0;
            granted = FILE_WINDOW_BYTES;
        }
        let expected = (size - offset.min(size)).min(MAX_CHUNK_BYTES as u64);
        if offset != r.written || data.len() as u64 != expected {
            return Err(CancelReason::Invalid {
                detail: format!(
                    "a chunk of {} bytes at {offset}, expected {expected} at {}",
                    data.len(),
                    r.written
                ),
            });
        }
        write_all(&mut r.file, &data).map_err(cannot_store)?;
        r.hasher.update(&data);
        r.written += expected;
        progress.set(r.written);
        if granted - r.written <= FILE_WINDOW_BYTES / 2 {
            granted = r.written + FILE_WINDOW_BYTES;
            if !grant(granted) {
                return Ok(Written::Interrupted);
            }
        }
    }
    r.file.sync_all().map_err(cannot_store)?;
    if <[u8; 32]>::from(r.hasher.finalize()) != sha256 {
        return Err(CancelReason::HashMismatch);
    }
    Ok(Written::Complete)
}

fn write_all(file: &mut File, data: &Bytes) -> io::Result<()> {
    file.write_all(data)
}
