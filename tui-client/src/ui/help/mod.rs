//! The help overlay, generated from the key table (`app::keys::BINDINGS`) and the command
//! list (`app::command::USAGE`) so it never disagrees with what the keys do.
//!
//! Sections flow into as few columns as fit and descriptions wrap; when even the widest
//! layout is too tall for the terminal, the help scrolls.

mod section;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use super::text::truncate;
use super::theme;
use crate::app::App;
use section::{Section, sections};

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

/// Layouts to try that show everything at once, best first: `(blank line between sections,
/// split sections)`.
const ATTEMPTS: [(bool, bool); 3] = [(true, false), (false, false), (false, true)];

/// Draws the help overlay of `app`'s keymap centred in `area`; when even the most compact
/// layout is too tall, it scrolls by `app.help_scroll` rows.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let sections = sections(&app.settings.keys);
    let natural = sections
        .iter()
        .map(Section::natural_width)
        .max()
        .unwrap_or(0);
    let max_width = usize::from(area.width.saturating_sub(2));
    let max_height = usize::from(area.height.saturating_sub(2));
    // The widest number of columns the terminal allows, and their width.
    let layouts: Vec<(usize, usize)> = (1..=MAX_COLUMNS)
        .map(|columns| {
            let gap_total = usize::from(GAP) * (columns - 1);
            (
                columns,
                natural.min(max_width.saturating_sub(gap_total) / columns),
            )
        })
        .take_while(|(columns, column)| *columns == 1 || *column >= MIN_COLUMN_WIDTH)
        .collect();
    let mut chosen = None;
    'search: for (gaps, split) in ATTEMPTS {
        for &(columns, column) in &layouts {
            let laid: Vec<Vec<Line>> = sections.iter().map(|s| s.lines(column)).collect();
            let total: usize = laid.iter().map(Vec::len).sum();
            // The shortest columns that hold everything, so they come out balanced.
            for height in total.div_ceil(columns).min(max_height)..=max_height {
                if let (cols, true) = flow(&laid, columns, height, gaps, split) {
                    chosen = Some((cols, column));
                    break 'search;
                }
            }
        }
    }
    let scrolls = chosen.is_none();
    let (cols, column) = chosen.unwrap_or_else(|| {
        // Too tall for the terminal: as many columns as fit, as long as they must be.
        let (columns, column) = layouts.last().copied().unwrap_or((1, max_width));
        let laid: Vec<Vec<Line>> = sections.iter().map(|s| s.lines(column)).collect();
        let total: usize = laid.iter().map(Vec::len).sum();
        let cols = (total.div_ceil(columns)..=total.max(1))
            .find_map(|height| match flow(&laid, columns, height, false, true) {
                (cols, true) => Some(cols),
                _ => None,
            })
            .unwrap_or_default();
        (cols, column)
    });
    let tallest = cols.iter().map(Vec::len).max().unwrap_or(0);
    let scroll = usize::from(app.help_scroll).min(tallest.saturating_sub(max_height));
    let count = cols.len().max(1);
    let inner_width = column * count + usize::from(GAP) * count.saturating_sub(1);
    let popup_width = u16::try_from(inner_width + 2)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let popup_height = u16::try_from(tallest.min(max_height) + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = area.centered(
        Constraint::Length(popup_width),
        Constraint::Length(popup_height),
    );
    let footer = if scrolls {
        let more = if scroll + max_height < tallest {
            "↓ more"
        } else {
            "end"
        };
        format!(" {more} · ↑↓ PgUp PgDn scroll · other keys close ")
    } else {
        " any key closes this help ".to_owned()
    };
    let block = Block::bordered()
        .border_style(theme::ACCENT)
        .title(Line::styled(" Help ", theme::ACCENT_BOLD))
        .title_bottom(
            Line::styled(
                truncate(&footer, usize::from(popup_width.saturating_sub(2))),
                theme::DIM,
            )
            .centered(),
        );
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let widths = vec![Constraint::Length(u16::try_from(column).unwrap_or(u16::MAX)); count];
    let areas = Layout::horizontal(widths).spacing(GAP).split(inner);
    for (lines, area) in cols.into_iter().zip(areas.iter()) {
        let shown: Vec<Line> = lines.into_iter().skip(scroll).collect();
        frame.render_widget(Paragraph::new(shown), *area);
    }
}
