//! The profile directory and the profile saved in it.
//!
//! The profile directory is `--home DIR` (or `P2P_CHAT_HOME`), else the platform's data
//! directory (e.g. `~/.local/share/p2p-chat` on Linux). It holds `profile.json`: which
//! directory server we use, our username and our login token. Because of the token the file is
//! written with mode 0600 in a directory created with mode 0700.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Name of the profile file inside the profile directory.
pub const PROFILE_FILE: &str = "profile.json";

/// Why the profile could not be read or written. Each message is one line that names the file.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No `--home` was given and the platform has no data directory for this user.
    #[error("cannot find a data directory for the profile; pass --home DIR or set P2P_CHAT_HOME")]
    NoHome,
    /// Reading the profile file failed (other than it not existing).
    #[error("cannot read the profile {}", path.display())]
    Read {
        /// The profile file.
        path: PathBuf,
        /// What the OS reported.
        #[source]
        source: io::Error,
    },
    /// The profile file exists but is not a valid profile.
    #[error(
        "the profile {} is corrupt ({detail}); delete it and run `p2p-chat register` or `p2p-chat login` again",
        path.display()
    )]
    Corrupt {
        /// The profile file.
        path: PathBuf,
        /// What the JSON parser reported.
        detail: String,
    },
    /// Creating the directory or writing the file failed.
    #[error("cannot write the profile {}", path.display())]
    Write {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// What the OS reported.
        #[source]
        source: io::Error,
    },
}

/// The profile directory: `opt` (from `--home` or `P2P_CHAT_HOME`) when given, else the
/// platform's data directory for p2p-chat. The directory is not created here.
///
/// # Errors
/// [`ProfileError::NoHome`] when `opt` is `None` and the platform has no data directory.
pub fn home_dir(opt: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = opt {
        return Ok(dir.to_path_buf());
    }
    let dirs = directories::ProjectDirs::from("", "", "p2p-chat").ok_or(ProfileError::NoHome)?;
    Ok(dirs.data_dir().to_path_buf())
}

/// What the client remembers between runs (`profile.json`). Every field is optional: a new
/// profile is empty, and `unregister` clears the account but keeps the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Base URL of the directory, e.g. `http://chat.example.org:27182`.
    pub server: Option<String>,
    /// Our case-folded username on that directory.
    pub username: Option<String>,
    /// Bearer token from the last login.
    pub token: Option<String>,
    /// When [`Profile::token`] stops working.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// The port peers should dial, when given with `register --port` (for example a port
    /// forwarded by a router); without it the client announces the port it listens on.
    pub port: Option<u16>,
}

impl Profile {
    /// Path of the profile file in the profile directory `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join(PROFILE_FILE)
    }

    /// Reads the profile from `home`; an empty profile when the file does not exist.
    ///
    /// # Errors
    /// [`ProfileError::Read`] when the file cannot be read, [`ProfileError::Corrupt`] when it is
    /// not a valid profile.
    pub fn load(home: &Path) -> Result<Profile, ProfileError> {
        let path = Self::path(home);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Profile::default()),
            Err(source) => return Err(ProfileError::Read { path, source }),
        };
        serde_json::from_slice(&bytes).map_err(|err| ProfileError::Corrupt {
            path,
            detail: err.to_string(),
        })
    }

    /// Writes the profile to `home`, creating the directory (mode 0700) if needed. The file
    /// (mode 0600) is replaced atomically: a crash leaves either the old or the new profile.
    ///
    /// # Errors
    /// [`ProfileError::Write`] when the directory or the file cannot be written.
    pub fn save(&self, home: &Path) -> Result<(), ProfileError> {
        let path = Self::path(home);
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| ProfileError::Write {
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        json.push(b'\n');
        write_private_file(&path, &json).map_err(|source| ProfileError::Write { path, source })
    }
}

/// Replaces `path` atomically with `bytes`, readable only by the user (mode 0600), creating
/// its directory with mode 0700 if needed. A crash leaves either the old or the new file.
///
/// # Errors
/// The OS error of the first step that failed.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = write_then_rename(&tmp, path, bytes);
    if result.is_err() {
        // Best effort: the temporary file is useless once the rename did not happen.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::remove_file(tmp) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut file = open_private_file(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Makes the rename durable: on Unix a rename is only on disk once its directory is synced.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        Profile {
            server: Some("http://127.0.0.1:27182".into()),
            username: Some("alice".into()),
            token: Some("ab".repeat(32)),
            token_expires_at: Some("2030-01-02T03:04:05Z".parse().unwrap()),
            port: Some(6000),
        }
    }

    #[test]
    fn missing_file_is_an_empty_profile() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(Profile::load(home.path()).unwrap(), Profile::default());
        let absent = home.path().join("not/created/yet");
        assert_eq!(Profile::load(&absent).unwrap(), Profile::default());
    }

    #[test]
    fn save_then_load_round_trips_and_replaces() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("nested/p2p-chat");
        sample().save(&dir).unwrap();
        assert_eq!(Profile::load(&dir).unwrap(), sample());

        let cleared = Profile {
            username: None,
            token: None,
            token_expires_at: None,
            ..sample()
        };
        cleared.save(&dir).unwrap();
        assert_eq!(Profile::load(&dir).unwrap(), cleared);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [PROFILE_FILE], "temporary files left behind");
    }

    #[test]
    fn unknown_and_missing_fields_are_tolerated() {
        let home = tempfile::tempdir().unwrap();
        fs::write(
            Profile::path(home.path()),
            r#"{"server":"http://x:1","future_field":true}"#,
        )
        .unwrap();
        let profile = Profile::load(home.path()).unwrap();
        assert_eq!(profile.server.as_deref(), Some("http://x:1"));
        assert_eq!(profile.username, None);
    }

    #[test]
    fn corrupt_file_is_a_one_line_error_naming_the_file() {
        let home = tempfile::tempdir().unwrap();
        let path = Profile::path(home.path());
        for bad in [
            "{not json",
            "[1,2]",
            r#"{"token_expires_at":"yesterday"}"#,
            "",
        ] {
            fs::write(&path, bad).unwrap();
            let err = Profile::load(home.path()).unwrap_err();
            assert!(
                matches!(err, ProfileError::Corrupt { .. }),
                "{bad:?}: {err:?}"
            );
            let text = anyhow::Error::from(err).to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("delete it"), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn home_option_wins() {
        let dir = Path::new("/some/where");
        assert_eq!(home_dir(Some(dir)).unwrap(), dir);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private_and_new_directory_too() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("fresh");
        sample().save(&dir).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&Profile::path(&dir)), 0o600);

        // An existing file with loose permissions is replaced by a private one.
        fs::set_permissions(Profile::path(&dir), fs::Permissions::from_mode(0o644)).unwrap();
        sample().save(&dir).unwrap();
        assert_eq!(mode(&Profile::path(&dir)), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let home = tempfile::tempdir().unwrap();
        // A regular file where the directory should be: fails even when running as root.
        let blocker = home.path().join("blocker");
        fs::write(&blocker, "").unwrap();
        let err = sample().save(&blocker.join("sub")).unwrap_err();
        let text = format!("{:#}", anyhow::Error::from(err));
        assert!(text.starts_with("cannot write the profile "), "{text}");
        assert!(text.contains("blocker"), "{text}");
    }
}
