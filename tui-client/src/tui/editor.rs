//! Writing a message in the user's editor (`/edit`, Ctrl+X Ctrl+E), as readline and git do:
//! the draft goes into a private temporary file, `$VISUAL` or `$EDITOR` (else `vi`) gets the
//! terminal, and what the file holds when it exits becomes the message.

use std::io::Write;
use std::path::PathBuf;

/// Editor used when neither `VISUAL` nor `EDITOR` is set: `vi`, which POSIX requires.
const FALLBACK_EDITOR: &str = "vi";

/// The editor command: `$VISUAL`, else `$EDITOR`, else [`FALLBACK_EDITOR`]. It may carry
/// arguments (`code --wait`); the shell splits them.
pub fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| FALLBACK_EDITOR.to_owned())
}

/// A file only the user can read (0600), removed when dropped.
struct Draft(PathBuf);

impl Drop for Draft {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn create_draft(text: &str) -> std::io::Result<Draft> {
    use std::os::unix::fs::OpenOptionsExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path = std::env::temp_dir().join(format!(
        "p2p-chat-message-{}-{nanos}.txt",
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let draft = Draft(path);
    file.write_all(text.as_bytes())?;
    Ok(draft)
}

/// Runs the editor on `draft` and returns the text it left, without the trailing newlines
/// editors add. The caller has handed the terminal over (left raw mode and the alternate
/// screen) and stopped reading its events.
///
/// # Errors
/// A message for the user: the temporary file cannot be written or read, the editor cannot
/// be started, or it exited with a failure (`:cq` in vi), which cancels.
pub async fn compose(draft: &str) -> Result<String, String> {
    compose_with(&editor_command(), draft).await
}

/// [`compose`] with the editor command given.
async fn compose_with(editor: &str, draft: &str) -> Result<String, String> {
    // Ended by a newline, as editors write text files, so what the editor adds starts a line.
    let draft = if draft.is_empty() || draft.ends_with('\n') {
        draft.to_owned()
    } else {
        format!("{draft}\n")
    };
    let file = create_draft(&draft).map_err(|e| format!("cannot write a draft file: {e}"))?;
    // `sh -c 'EDITOR "$1"'` lets EDITOR carry arguments and keeps the path unparsed.
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("p2p-chat")
        .arg(&file.0);
    // The editor owns the terminal until it exits; the wait runs off the async workers.
    let status = tokio::task::spawn_blocking(move || command.status())
        .await
        .map_err(|e| format!("the editor could not be waited for: {e}"))?
        .map_err(|e| format!("cannot start the editor {editor:?}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "the editor {editor:?} failed ({status}); set VISUAL or EDITOR to the editor you use"
        ));
    }
    let text = std::fs::read_to_string(&file.0)
        .map_err(|e| format!("cannot read what the editor wrote: {e}"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_editor_gets_the_draft_and_its_text_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("editor.sh");
        // Checks the draft is private, then appends a line as a user would.
        std::fs::write(
            &script,
            "#!/bin/sh\nfor f; do :; done\n[ \"$(stat -c %a \"$f\")\" = 600 ] || exit 9\nprintf 'second line\\n' >> \"$f\"\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        let editor = format!("{} --some-flag", script.display());
        let text = compose_with(&editor, "first line\n").await.unwrap();
        assert_eq!(text, "first line\nsecond line");
        // A draft without its final newline gets one, so the editor's line is a new line.
        let text = compose_with(&editor, "draft").await.unwrap();
        assert_eq!(text, "draft\nsecond line");
        let err = compose_with("false", "draft").await.unwrap_err();
        assert!(err.contains("failed"), "{err}");
        let err = compose_with("/nonexistent/editor", "draft")
            .await
            .unwrap_err();
        assert!(err.contains("failed"), "{err}");
    }

    #[test]
    fn drafts_are_removed() {
        let file = create_draft("x").unwrap();
        let path = file.0.clone();
        assert!(path.exists());
        drop(file);
        assert!(!path.exists());
    }
}
