//! The help's content: one section per key scope of the keymap in force and one for
//! [`USAGE`], laid out as aligned `label  description` rows in a column of a given width.

use ratatui::text::{Line, Span};

use crate::app::command::USAGE;
use crate::app::keys::{Keymap, Scope};
use crate::ui::text::{pad_right, truncate, width, wrap};
use crate::ui::theme;

/// The part of a column that a key label may take before its description moves below it.
const LABEL_SHARE: (usize, usize) = (2, 5);
/// Indent of a description placed below its label.
const BELOW_INDENT: usize = 3;

/// One titled group of `(key or command, description)` rows.
pub struct Section {
    /// Heading.
    title: &'static str,
    /// `(key or command, description)` rows.
    rows: Vec<(String, &'static str)>,
}

/// The heading of a scope's section.
fn scope_title(scope: Scope) -> &'static str {
    match scope {
        Scope::Global => "Global",
        Scope::Contacts => "Contact list",
        Scope::Input => "Input line",
    }
}

/// The key sections (global, contact list, input line) of `keymap`, then the commands.
pub fn sections(keymap: &Keymap) -> Vec<Section> {
    let mut sections: Vec<Section> = [Scope::Global, Scope::Contacts, Scope::Input]
        .into_iter()
        .map(|scope| Section {
            title: scope_title(scope),
            rows: keymap.help_rows(scope),
        })
        .collect();
    sections.push(Section {
        title: "Commands",
        rows: USAGE.iter().map(|(u, h)| ((*u).to_owned(), *h)).collect(),
    });
    sections.push(Section {
        title: "Contacts",
        rows: vec![(
            super::super::contacts::PRESENCE_MARKS.to_owned(),
            super::super::contacts::PRESENCE_LEGEND,
        )],
    });
    sections.push(Section {
        title: "Your messages",
        rows: vec![(
            super::super::message::DELIVERY_MARKS.to_owned(),
            super::super::message::DELIVERY_LEGEND,
        )],
    });
    sections
}

impl Section {
    /// Columns the section needs to show every row on one line.
    pub fn natural_width(&self) -> usize {
        let label = self.rows.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
        let help = self.rows.iter().map(|(_, h)| width(h)).max().unwrap_or(0);
        (1 + label + 2 + help).max(width(self.title))
    }

    /// The label column width that needs the fewest rows (the widest of equals); labels wider
    /// than it get a line of their own above their description.
    fn label_width(&self, column: usize) -> usize {
        let cap = column * LABEL_SHARE.0 / LABEL_SHARE.1;
        let rows = |label_width: usize| -> usize {
            let row = |(label, help): &(String, &str)| {
                let (beside, indent) = slot(label, label_width);
                wrap(help, column.saturating_sub(indent)).len() + usize::from(!beside)
            };
            self.rows.iter().map(row).sum()
        };
        let widths = self
            .rows
            .iter()
            .map(|(label, _)| width(label))
            .filter(|w| *w <= cap);
        widths
            .chain([0])
            .min_by_key(|w| (rows(*w), std::cmp::Reverse(*w)))
            .unwrap_or(0)
    }

    /// The section laid out in a column `column` wide.
    pub fn lines(&self, column: usize) -> Vec<Line<'static>> {
        let label_width = self.label_width(column);
        let mut lines = vec![Line::styled(self.title, theme::ACCENT_BOLD)];
        for (label, help) in &self.rows {
            let (beside, indent) = slot(label, label_width);
            let room = column.saturating_sub(indent);
            let rows = wrap(help, room);
            if !beside {
                let label = truncate(label, column.saturating_sub(1));
                lines.push(Line::styled(format!(" {label}"), theme::BOLD));
            }
            for (i, row) in rows.into_iter().enumerate() {
                let lead = if beside && i == 0 {
                    Span::styled(format!(" {}  ", pad_right(label, label_width)), theme::BOLD)
                } else {
                    Span::raw(" ".repeat(indent))
                };
                lines.push(Line::from(vec![lead, Span::raw(row)]));
            }
        }
        lines
    }
}

/// Whether `label` fits beside its description, and the column the description starts at.
fn slot(label: &str, label_width: usize) -> (bool, usize) {
    if width(label) <= label_width {
        (true, 1 + label_width + 2)
    } else {
        (false, BELOW_INDENT)
    }
}
