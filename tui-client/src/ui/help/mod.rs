//! The help overlay, generated from the key table (`app::keys::BINDINGS`) and the command
//! list (`app::command::USAGE`) so it never disagrees with what the keys do.
//!
//! Sections flow into as few columns as fit; descriptions wrap, or are cut with `…` when even
//! the widest layout is too tall for the terminal.

mod section;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use super::text::truncate;
use super::theme;
use section::{Fit, Section, sections};

/// Columns between two columns of the help.
const GAP: u16 = 2;
/// Narrowest column worth splitting the help for.
const MIN_COLUMN_WIDTH: usize = 30;
/// Most columns the help is split into.
const MAX_COLUMNS: usize = 3;

/// Pours sections into at most `columns` columns of `height` rows; `false` if some did not fit.
///
/// Unless `split`, a section that does not fit below the previous one starts a new column.
fn flow(
    sections: &[Vec<Line<'static>>],
    columns: usize,
    height: usize,
    gaps: bool,
    split: bool,
) -> (Vec<Vec<Line<'static>>>, bool) {
    let mut full: Vec<Vec<Line>> = Vec::new();
    let mut column: Vec<Line> = Vec::new();
    for section in sections {
        let sep = usize::from(gaps && !column.is_empty());
        let another = full.len() + 1 < columns;
        let crowded = if split {
            column.len() + sep + 2 > height
        } else {
            column.len() + sep + section.len() > height
        };
        if !column.is_empty() && crowded && section.len() <= height && another {
            full.push(std::mem::take(&mut column));
        } else if sep == 1 && column.len() < height {
            column.push(Line::default());
        }
        for line in section {
            if column.len() >= height {
                full.push(std::mem::take(&mut column));
                if full.len() >= columns {
                    return (full, false);
                }
            }
            column.push(line.clone());
        }
    }
    full.push(column);
    (full, true)
}

/// Layouts to try, best first: `(fit, blank line between sections, split sections)`.
const ATTEMPTS: [(Fit, bool, bool); 6] = [
    (Fit::Wrap, true, false),
    (Fit::Wrap, false, false),
    (Fit::Wrap, false, true),
    (Fit::Cut, true, false),
    (Fit::Cut, false, false),
    (Fit::Cut, false, true),
];

/// Draws the help overlay centred in `area`.
pub fn render(frame: &mut Frame, area: Rect) {
    let sections = sections();
    let natural = sections
        .iter()
        .map(Section::natural_width)
        .max()
        .unwrap_or(0);
    let max_width = usize::from(area.width.saturating_sub(2));
    let max_height = usize::from(area.height.saturating_sub(2));
    let mut chosen = None;
    'search: for (fit, gaps, split) in ATTEMPTS {
        for columns in 1..=MAX_COLUMNS {
            let gap_total = usize::from(GAP) * (columns - 1);
            let column = natural.min(max_width.saturating_sub(gap_total) / columns);
            if columns > 1 && column < MIN_COLUMN_WIDTH {
                break;
            }
            let laid: Vec<Vec<Line>> = sections.iter().map(|s| s.lines(column, fit)).collect();
            let total: usize = laid.iter().map(Vec::len).sum();
            // The shortest columns that hold everything, so they come out balanced.
            for height in total.div_ceil(columns).min(max_height)..=max_height {
                if let (cols, true) = flow(&laid, columns, height, gaps, split) {
                    chosen = Some((cols, column, true));
                    break 'search;
                }
            }
            chosen = Some((
                flow(&laid, columns, max_height, gaps, split).0,
                column,
                false,
            ));
        }
    }
    let Some((mut cols, column, complete)) = chosen else {
        return;
    };
    if !complete && let Some(last) = cols.last_mut().and_then(|c| c.last_mut()) {
        *last = Line::styled(
            truncate("… enlarge the terminal to see more", column),
            theme::DIM,
        );
    }
    let tallest = cols.iter().map(Vec::len).max().unwrap_or(0);
    let count = cols.len();
    let inner_width = column * count + usize::from(GAP) * count.saturating_sub(1);
    let popup_width = u16::try_from(inner_width + 2)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let popup_height = u16::try_from(tallest + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = area.centered(
        Constraint::Length(popup_width),
        Constraint::Length(popup_height),
    );
    let block = Block::bordered()
        .border_style(theme::ACCENT)
        .title(Line::styled(" Help ", theme::ACCENT_BOLD))
        .title_bottom(Line::styled(" any key closes this help ", theme::DIM).centered());
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let widths = vec![Constraint::Length(u16::try_from(column).unwrap_or(u16::MAX)); count];
    let areas = Layout::horizontal(widths).spacing(GAP).split(inner);
    for (lines, area) in cols.into_iter().zip(areas.iter()) {
        frame.render_widget(Paragraph::new(lines), *area);
    }
}
