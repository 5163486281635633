//! One running client per profile. Two clients on one profile would both publish their own
//! address, and the one that quits last leaves the directory pointing at a dead port. The chat
//! window (`p2p-chat`, `connect`) and `listen` hold an advisory lock on `client.lock` in the
//! profile directory for as long as they run (the operating system's file lock, through std's
//! `File::try_lock`: released when the process ends, even when it is killed). Commands that
//! only read or send once (`history`, `whoami`, `verify`, `lookup`, `send`) do not take it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::Context;

/// Name of the lock file inside the profile directory.
pub const LOCK_FILE: &str = "client.lock";

/// The lock of a running client; dropping it (or exiting) releases the profile.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Takes the profile `home` for this process, recording `what` runs (e.g. `listen on
    /// 127.0.0.1:55555`) and our process id, so a second client can name the first.
    ///
    /// # Errors
    /// When another client holds the profile: one line naming it and what to do; or when the
    /// lock file cannot be created.
    pub fn acquire(home: &Path, what: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(home)
            .with_context(|| format!("cannot create the profile directory {}", home.display()))?;
        let path = home.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "another process".to_owned()
                } else {
                    holder.to_owned()
                };
                anyhow::bail!(
                    "another p2p-chat is running on the profile {} ({holder}) — quit it first, \
                     or use another profile with --home; history, whoami, verify, lookup and \
                     send work meanwhile",
                    home.display()
                );
            }
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "pid {}: {what}", std::process::id()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_profile_names_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = InstanceLock::acquire(dir.path(), "listen on 127.0.0.1:4000").unwrap();
        let err = InstanceLock::acquire(dir.path(), "the chat window").unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("another p2p-chat is running")
                && text.contains("listen on 127.0.0.1:4000")
                && text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        let again = InstanceLock::acquire(dir.path(), "the chat window");
        assert!(again.is_ok(), "released when dropped: {again:?}");
    }
}
