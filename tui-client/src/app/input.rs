//! The input line: text editing (tui-input) plus a history of submitted lines.

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
    /// Applies an editing request.
    pub fn edit(&mut self, request: InputRequest) {
        self.input.handle(request);
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
