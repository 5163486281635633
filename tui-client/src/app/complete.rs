//! Tab completion in the input line, as weechat and senpai do it: `/commands` at the start of
//! the line, paths after `/send`, usernames (contacts and open chats) elsewhere; Tab again cycles through the
//! candidates, Shift+Tab back.

use tui_input::Input;

use super::command::USAGE;
use super::{App, Level};

/// A completion in progress: the word being completed and where it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// Char index where the completed word starts.
    start: usize,
    /// The candidates, sorted.
    candidates: Vec<String>,
    /// The one inserted now.
    index: usize,
    /// The text after the cursor when completion started (kept as it was).
    tail: String,
}

/// Commands that take a username as their first argument.
const TAKES_A_NAME: &[&str] = &["/connect", "/mute", "/unmute"];

/// The candidates for the word that ends at char index `cursor` of `line`: its start and the
/// sorted, de-duplicated completions (each with the space that follows it). `names` are the
/// usernames to offer.
pub fn candidates(line: &str, cursor: usize, names: &[&str]) -> (usize, Vec<String>) {
    let before: String = line.chars().take(cursor).collect();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let start_chars = before[..start].chars().count();
    let first_word = before[..start].trim().is_empty();
    let mut out: Vec<String> = if first_word && word.starts_with('/') {
        let mut commands: Vec<&str> = USAGE
            .iter()
            .filter_map(|(usage, _)| usage.split_whitespace().next())
            .chain(["/help"])
            .collect();
        commands.sort_unstable();
        commands.dedup();
        commands
            .into_iter()
            .filter(|c| c.starts_with(word))
            .map(|c| format!("{c} "))
            .collect()
    } else if before.split_whitespace().next() == Some("/send") {
        path_candidates(word)
    } else {
        let command = before.split_whitespace().next().unwrap_or("");
        let names_allowed = !command.starts_with('/') || TAKES_A_NAME.contains(&command);
        let folded = word.to_lowercase();
        names
            .iter()
            .filter(|_| names_allowed)
            .filter(|n| n.to_lowercase().starts_with(&folded))
            // At the start of a message a name is an address: "bob: " (weechat's habit).
            .map(|n| {
                if first_word {
                    format!("{n}: ")
                } else {
                    format!("{n} ")
                }
            })
            .collect()
    };
    out.sort_unstable();
    out.dedup();
    (start_chars, out)
}

/// Paths that complete `word` (as typed after `/send`): the entries of its directory whose
/// names start with its last component, a directory ending in `/` (Tab goes on inside it), a
/// file in a space. Hidden entries only when the component starts with `.`; `~/` is the home
/// directory.
pub fn path_candidates(word: &str) -> Vec<String> {
    let (dir_part, prefix) = match word.rfind('/') {
        Some(i) => word.split_at(i + 1),
        None => ("", word),
    };
    let dir = if dir_part.is_empty() {
        std::path::PathBuf::from(".")
    } else {
        super::command::expand_home(dir_part)
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let is_dir = entry.path().is_dir();
            Some(format!(
                "{dir_part}{name}{}",
                if is_dir { "/" } else { " " }
            ))
        })
        .collect()
}

impl App {
    /// Tab (`forward`) or Shift+Tab in the input line.
    pub(super) fn complete(&mut self, forward: bool) {
        if let Some(mut done) = self.completion.take() {
            let n = done.candidates.len();
            done.index = if forward {
                (done.index + 1) % n
            } else {
                (done.index + n - 1) % n
            };
            self.insert_completion(&done);
            self.completion = Some(done);
            return;
        }
        let mut names: Vec<&str> = self.contacts.iter().map(|r| r.username.as_str()).collect();
        names.extend(self.chats.iter().map(|c| c.name.as_str()));
        let line = self.input.value().to_owned();
        let cursor = self.input.input.cursor();
        let (start, candidates) = candidates(&line, cursor, &names);
        match candidates.len() {
            0 => self.tell(Level::Info, "nothing to complete"),
            n => {
                let done = Completion {
                    start,
                    index: if forward { 0 } else { n - 1 },
                    tail: line.chars().skip(cursor).collect(),
                    candidates,
                };
                if n > 1 {
                    let shown: Vec<&str> = done.candidates.iter().map(|c| c.trim_end()).collect();
                    self.tell(Level::Info, format!("Tab: {}", shown.join("  ")));
                }
                self.insert_completion(&done);
                // One candidate is final: the next Tab completes the next word.
                self.completion = (n > 1).then_some(done);
            }
        }
    }

    fn insert_completion(&mut self, done: &Completion) {
        let head: String = self.input.value().chars().take(done.start).collect();
        let word = &done.candidates[done.index];
        let cursor = head.chars().count() + word.chars().count();
        let value = format!("{head}{word}{}", done.tail);
        self.input.input = Input::new(value).with_cursor(cursor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_completes_paths_directories_first_then_inside_them() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().display().to_string();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        std::fs::write(dir.path().join("photo.jpg"), "x").unwrap();
        std::fs::write(dir.path().join("photos/cat.png"), "x").unwrap();
        std::fs::write(dir.path().join(".hidden"), "x").unwrap();
        let line = format!("/send {base}/pho");
        let (start, mut got) = candidates(&line, line.chars().count(), &["bob"]);
        got.sort();
        assert_eq!(start, 6);
        assert_eq!(
            got,
            [format!("{base}/photo.jpg "), format!("{base}/photos/")]
        );
        let line = format!("/send {base}/photos/");
        let got = candidates(&line, line.chars().count(), &["bob"]).1;
        assert_eq!(got, [format!("{base}/photos/cat.png ")]);
        // Hidden files only when asked for.
        let line = format!("/send {base}/");
        assert!(
            !candidates(&line, line.chars().count(), &[])
                .1
                .iter()
                .any(|c| c.contains(".hidden"))
        );
        let line = format!("/send {base}/.h");
        assert_eq!(
            candidates(&line, line.chars().count(), &[]).1,
            [format!("{base}/.hidden ")]
        );
    }

    #[test]
    fn commands_at_the_start_and_names_elsewhere() {
        let names = ["bob", "Bobby", "carol"];
        assert_eq!(
            candidates("/co", 3, &names),
            (0, vec!["/connect ".into(), "/contacts ".into()])
        );
        assert_eq!(candidates("/mu", 3, &names).1, ["/mute "]);
        assert_eq!(
            candidates("/connect b", 10, &names),
            (9, vec!["Bobby ".into(), "bob ".into()])
        );
        assert_eq!(candidates("hi ca", 5, &names), (3, vec!["carol ".into()]));
        assert_eq!(candidates("ca", 2, &names), (0, vec!["carol: ".into()]));
        // No names where a command takes none, nothing after a non-command word "/x".
        assert!(candidates("/verify b", 9, &names).1.is_empty());
        assert!(candidates("hi /co", 6, &names).1.is_empty());
        // The word ends at the cursor, not at the end of the line.
        assert_eq!(
            candidates("ca rest", 2, &names),
            (0, vec!["carol: ".into()])
        );
        // Multi-byte text before the word counts in chars.
        assert_eq!(candidates("日本 b", 4, &names).0, 3);
    }
}
