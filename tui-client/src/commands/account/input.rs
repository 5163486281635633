//! Reading the username and password from the user.

use std::io::{self, BufRead, Write};

use anyhow::{Context, bail};
use p2p_chat_protocol::validate;

/// A line typed after `prompt` (shown on standard error), without the line ending.
///
/// # Errors
/// When standard input is closed or unreadable.
pub fn line(prompt: &str, what: &str) -> anyhow::Result<String> {
    let mut stderr = io::stderr();
    // The prompt is cosmetic: failing to show it must not stop the user from typing.
    let _ = write!(stderr, "{prompt}").and_then(|()| stderr.flush());
    match first_line(io::stdin().lock())? {
        Some(line) => Ok(line),
        None => bail!("no {what} given: standard input is closed; pass it on the command line"),
    }
}

/// Asks `question` (shown on standard error with a `[y/N]` hint) and reads the answer: `true`
/// for "y" or "yes" in any case, `false` for anything else.
///
/// # Errors
/// When standard input is closed (`hint` then says how to confirm without a prompt) or
/// unreadable.
pub fn confirm(question: &str, hint: &str) -> anyhow::Result<bool> {
    let mut stderr = io::stderr();
    // As in `line`: the prompt is cosmetic.
    let _ = write!(stderr, "{question} [y/N] ").and_then(|()| stderr.flush());
    match first_line(io::stdin().lock())? {
        Some(answer) => Ok(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        )),
        None => {
            // Ends the prompt's line, so the error gets a line of its own.
            let _ = writeln!(stderr);
            bail!("no answer: standard input is closed — {hint}")
        }
    }
}

/// The password: the first line of standard input with `from_stdin`, else typed without echo.
///
/// # Errors
/// When standard input is empty, or the terminal cannot be read.
pub fn password(from_stdin: bool, prompt: &str) -> anyhow::Result<String> {
    if from_stdin {
        return match first_line(io::stdin().lock())? {
            Some(password) => Ok(password),
            None => bail!("--password-stdin: standard input is empty; pipe the password into it"),
        };
    }
    rpassword::prompt_password(prompt)
        .context("cannot read the password from the terminal (use --password-stdin to pipe it in)")
}

/// A new password: checked against the directory's rules, and typed twice unless it comes
/// from standard input.
///
/// # Errors
/// When it breaks a rule (the message names it), the two entries differ, or reading fails.
pub fn new_password(from_stdin: bool) -> anyhow::Result<String> {
    let first = password(from_stdin, "Choose a password (8-72 bytes): ")?;
    validate::password(&first)?;
    if !from_stdin && password(false, "Repeat the password: ")? != first {
        bail!("the two passwords differ; nothing was changed, please try again");
    }
    Ok(first)
}

/// The first line of `input` with only its line ending (`\n` or `\r\n`) removed; `None` at end
/// of input.
fn first_line(mut input: impl BufRead) -> anyhow::Result<Option<String>> {
    let mut line = String::new();
    let n = input
        .read_line(&mut line)
        .context("cannot read standard input")?;
    if n == 0 {
        return Ok(None);
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_line_ending_is_removed() {
        let read = |s: &str| first_line(s.as_bytes()).unwrap();
        assert_eq!(
            read(" pass word \nsecond\n").as_deref(),
            Some(" pass word ")
        );
        assert_eq!(read("crlf\r\n").as_deref(), Some("crlf"));
        assert_eq!(read("no newline").as_deref(), Some("no newline"));
        assert_eq!(read("\n").as_deref(), Some(""));
        assert_eq!(read(""), None);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(first_line(&b"\xff\xfe\n"[..]).is_err());
    }
}
