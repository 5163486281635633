//! Naming received files: a peer's name made safe ([`sanitise`]), the partial file's name
//! ([`partial_name`]), and a name in the download directory that no file has yet
//! ([`reserve_unique`]). A received file never lands outside the directory and never
//! replaces a file.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use p2p_chat_protocol::MessageId;

/// Longest name we give a file, in bytes: 200, leaving room within the common 255-byte limit
/// for " (NN)" and the partial suffix.
pub const MAX_SAVED_NAME_BYTES: usize = 200;

/// Suffix of a file still arriving; it loses it only once its SHA-256 matched.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Names Windows reserves for devices in any directory, with any extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A peer's file name made safe to create in a directory: its last path component only
/// (`/` and `\` both separate), control characters and `<>:"|?*` replaced by `_`, no leading
/// dot (no hidden files, no `.` or `..`), no trailing dots or spaces, device names of Windows
/// prefixed with `_`, cut to [`MAX_SAVED_NAME_BYTES`] keeping the extension; `file` when
/// nothing is left.
pub fn sanitise(offered: &str) -> String {
    let last = offered
        .rsplit(['/', '\\'])
        .find(|part| !part.trim().is_empty())
        .unwrap_or("");
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_control() || "<>:\"|?*".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    name = name.trim_end_matches(['.', ' ']).trim_start().to_owned();
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    if name.is_empty() {
        return "file".into();
    }
    let stem = name.split('.').next().unwrap_or("").trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        name.insert(0, '_');
    }
    shorten(&name, MAX_SAVED_NAME_BYTES)
}

/// `name` cut to at most `max` bytes on a character boundary, keeping a short extension.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let ext = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => &name[dot..],
        _ => "",
    };
    let mut end = max - ext.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", &name[..end])
}

/// The name of the partial file for transfer `id` of `name` (sanitised):
/// `NAME.XXXXXXXX.partial`, the last 8 hex digits of the id keeping two transfers of one name
/// apart.
pub fn partial_name(name: &str, id: MessageId) -> String {
    let hex = id.0.simple().to_string();
    format!("{name}.{}{PARTIAL_SUFFIX}", &hex[hex.len() - 8..])
}

/// `name`, or `name (1)`, `name (2)`, … before its extension: the candidates for a saved file.
fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({n}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({n})"),
    }
}

/// Creates an empty file in `dir` named `name` or the first free `name (N)`, without ever
/// opening an existing file (`O_EXCL`), and returns its path: the place a finished transfer
/// is renamed onto.
///
/// # Errors
/// What the file system says, other than "exists", or "too many files of that name" after
/// 10,000 tries.
pub fn reserve_unique(dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 0..10_000 {
        let path = dir.join(numbered(name, n));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "too many files named like {name} in {}",
        dir.display()
    )))
}

/// Opens the partial file `path` for appending, creating it when missing. A symbolic link
/// or anything but a regular file at `path` is refused, so a link planted in a shared
/// download directory cannot make us write elsewhere.
///
/// # Errors
/// What the file system says; "not a regular file" for a link or a directory.
pub fn open_partial(path: &Path) -> io::Result<File> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.file_type().is_file()
    {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_file_names() {
        let cases = [
            ("report.pdf", "report.pdf"),
            ("../../.bashrc", "_bashrc"),
            ("/etc/passwd", "passwd"),
            ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
            ("..", "file"),
            (".", "file"),
            ("", "file"),
            ("dir/", "dir"),
            ("a\x1b[2Jb\n.txt", "a_[2Jb_.txt"),
            ("what?<>|*.txt", "what_____.txt"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("console.txt", "console.txt"),
            ("trailing. . ", "trailing"),
            ("  spaced name.txt", "spaced name.txt"),
            ("ünïcødé 📄.txt", "ünïcødé 📄.txt"),
        ];
        for (offered, expected) in cases {
            assert_eq!(sanitise(offered), expected, "{offered:?}");
        }
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary_keeping_the_extension() {
        let long = format!("{}.tar.gz", "é".repeat(300));
        let cut = sanitise(&long);
        assert!(cut.len() <= MAX_SAVED_NAME_BYTES, "{}", cut.len());
        assert!(cut.ends_with(".gz"), "{cut}");
        assert!(cut.starts_with('é'));
    }

    #[test]
    fn existing_files_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "old").unwrap();
        let first = reserve_unique(dir.path(), "a.txt").unwrap();
        assert_eq!(first, dir.path().join("a (1).txt"));
        let second = reserve_unique(dir.path(), "a.txt").unwrap();
        assert_eq!(second, dir.path().join("a (2).txt"));
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
        assert_eq!(
            reserve_unique(dir.path(), "noext").unwrap(),
            dir.path().join("noext")
        );
        assert_eq!(
            reserve_unique(dir.path(), "noext").unwrap(),
            dir.path().join("noext (1)")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_place_of_the_partial_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "precious").unwrap();
        let partial = dir.path().join("a.txt.deadbeef.partial");
        std::os::unix::fs::symlink(&target, &partial).unwrap();
        assert!(open_partial(&partial).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        assert!(open_partial(&dir.path().join("fresh.partial")).is_ok());
    }

    #[test]
    fn partial_files_say_so_and_differ_per_transfer() {
        let a = partial_name("a.txt", MessageId(uuid::Uuid::from_u128(0xdead_beef)));
        let b = partial_name("a.txt", MessageId(uuid::Uuid::from_u128(0xfeed_f00d)));
        assert_eq!(a, "a.txt.deadbeef.partial");
        assert_ne!(a, b);
    }
}
