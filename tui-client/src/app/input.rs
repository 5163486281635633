//! The input line: text editing (tui-input) plus a history of submitted lines. The text may
//! hold several lines (`\n`); Up and Down then move between them before they reach the
//! history.

use tui_input::{Input, InputRequest};

/// Most lines kept in the history.
const HISTORY_MAX_LINES: usize = 500;

/// The input line and its history.
#[derive(Debug, Default)]
pub struct InputLine {
    /// The text being edited.
    pub input: Input,
    history: Vec<String>,
    /// Position while browsing the history; `None` when editing a new line.
    browsing: Option<usize>,
    /// The unfinished line saved when history browsing started.
    draft: String,
}

impl InputLine {
    /// Applies an editing request. In a multi-line text, Ctrl+U and Ctrl+K delete to the
    /// start and the end of the cursor's line, as readline does for its one line; Ctrl+U at
    /// the start of a line joins it to the one above, so pressing it again clears upwards.
    pub fn edit(&mut self, request: InputRequest) {
        if !self.input.value().contains('\n') {
            self.input.handle(request);
            return;
        }
        let chars: Vec<char> = self.input.value().chars().collect();
        let cursor = self.input.cursor();
        let start = chars[..cursor]
            .iter()
            .rposition(|c| *c == '\n')
            .map_or(0, |i| i + 1);
        let end = chars[cursor..]
            .iter()
            .position(|c| *c == '\n')
            .map_or(chars.len(), |i| cursor + i);
        let (keep_before, keep_after, at) = match request {
            InputRequest::DeleteFromStart if start == cursor && cursor > 0 => {
                (cursor - 1, cursor, cursor - 1)
            }
            InputRequest::DeleteFromStart => (start, cursor, start),
            InputRequest::DeleteTillEnd => (cursor, end, cursor),
            other => {
                self.input.handle(other);
                return;
            }
        };
        let value: String = chars[..keep_before]
            .iter()
            .chain(&chars[keep_after..])
            .collect();
        self.input = Input::new(value).with_cursor(at);
    }

    /// The current text.
    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Takes the text for submission, records it in the history and clears the line.
    pub fn take(&mut self) -> String {
        let line = self.input.value_and_reset();
        self.browsing = None;
        if !line.trim().is_empty() && self.history.last() != Some(&line) {
            self.history.push(line.clone());
            if self.history.len() > HISTORY_MAX_LINES {
                self.history.remove(0);
            }
        }
        line
    }

    /// Puts `text` back into an empty line, cursor at its end (a command that failed, to be
    /// corrected); text typed meanwhile is kept instead.
    pub fn offer_again(&mut self, text: String) {
        if self.input.value().is_empty() {
            let end = text.chars().count();
            self.input = Input::new(text).with_cursor(end);
        }
    }

    /// Whether the cursor is at the end of the text.
    pub fn at_line_end(&self) -> bool {
        self.input.cursor() == self.input.value().chars().count()
    }

    /// Up: to the line above in a multi-line text, else the previous history entry.
    pub fn up(&mut self) {
        if !self.move_line(-1) {
            self.history_prev();
        }
    }

    /// Down: to the line below in a multi-line text, else the next history entry.
    pub fn down(&mut self) {
        if !self.move_line(1) {
            self.history_next();
        }
    }

    /// Moves the cursor to the same column (in chars) of the line `step` away; `false` when
    /// there is no such line.
    fn move_line(&mut self, step: isize) -> bool {
        let value = self.input.value();
        let cursor = self.input.cursor();
        // Char index where each line starts.
        let mut starts = vec![0];
        starts.extend(
            value
                .chars()
                .enumerate()
                .filter(|(_, c)| *c == '\n')
                .map(|(i, _)| i + 1),
        );
        let row = starts.iter().rposition(|s| *s <= cursor).unwrap_or(0);
        let Some(target) = row.checked_add_signed(step).filter(|r| *r < starts.len()) else {
            return false;
        };
        let column = cursor - starts[row];
        let end = starts
            .get(target + 1)
            .map_or(value.chars().count(), |next| next - 1);
        let to = (starts[target] + column).min(end);
        self.input = Input::new(value.to_owned()).with_cursor(to);
        true
    }

    /// Shows the previous history entry.
    pub fn history_prev(&mut self) {
        let next = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.input.value().to_owned();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.browsing = Some(next);
        self.input = Input::new(self.history[next].clone());
    }

    /// Shows the next history entry, or the saved draft after the last one.
    pub fn history_next(&mut self) {
        let Some(i) = self.browsing else { return };
        if i + 1 < self.history.len() {
            self.browsing = Some(i + 1);
            self.input = Input::new(self.history[i + 1].clone());
        } else {
            self.browsing = None;
            self.input = Input::new(std::mem::take(&mut self.draft));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(line: &mut InputLine, text: &str) {
        for c in text.chars() {
            line.edit(InputRequest::InsertChar(c));
        }
    }

    #[test]
    fn history_walks_back_and_restores_the_draft() {
        let mut line = InputLine::default();
        typed(&mut line, "one");
        assert_eq!(line.take(), "one");
        typed(&mut line, "two");
        line.take();
        typed(&mut line, "dra");
        line.history_prev();
        assert_eq!(line.value(), "two");
        line.history_prev();
        assert_eq!(line.value(), "one");
        line.history_prev();
        assert_eq!(line.value(), "one");
        line.history_next();
        assert_eq!(line.value(), "two");
        line.history_next();
        assert_eq!(line.value(), "dra");
    }

    #[test]
    fn up_and_down_walk_the_lines_of_a_message_before_the_history() {
        let mut line = InputLine::default();
        typed(&mut line, "old");
        line.take();
        typed(&mut line, "first line\nsecond\nthird line");
        line.up();
        assert_eq!(
            line.input.cursor(),
            "first line\nsecond".len(),
            "column kept, cut to the line"
        );
        line.up();
        assert_eq!(line.input.cursor(), 6);
        line.down();
        line.down();
        assert_eq!(line.input.cursor(), "first line\nsecond\nthird ".len());
        assert!(!line.at_line_end());
        line.down();
        assert_eq!(
            line.value(),
            "first line\nsecond\nthird line",
            "no newer history"
        );
        for _ in 0..3 {
            line.up();
        }
        assert_eq!(line.value(), "old", "past the first line: the history");
    }

    #[test]
    fn ctrl_u_and_ctrl_k_delete_within_the_cursors_line() {
        let mut line = InputLine::default();
        typed(&mut line, "one\ntwo three\nfour");
        line.up();
        // The cursor is in "two three", at column 4 (after "two ").
        assert_eq!(line.input.cursor(), "one\ntwo ".len());
        line.edit(InputRequest::DeleteTillEnd);
        assert_eq!(line.value(), "one\ntwo \nfour");
        line.edit(InputRequest::DeleteFromStart);
        assert_eq!(line.value(), "one\n\nfour");
        assert_eq!(line.input.cursor(), "one\n".len());
        // At the start of a line: joined to the line above.
        line.edit(InputRequest::DeleteFromStart);
        assert_eq!(line.value(), "one\nfour");
        assert_eq!(line.input.cursor(), "one".len());
        // One line: as before, the whole line.
        let mut single = InputLine::default();
        typed(&mut single, "just one");
        single.edit(InputRequest::DeleteFromStart);
        assert_eq!(single.value(), "");
    }

    #[test]
    fn blank_and_repeated_lines_are_not_recorded() {
        let mut line = InputLine::default();
        typed(&mut line, "  ");
        line.take();
        typed(&mut line, "same");
        line.take();
        typed(&mut line, "same");
        line.take();
        line.history_prev();
        line.history_prev();
        assert_eq!(line.value(), "same");
        assert_eq!(line.history.len(), 1);
    }
}
