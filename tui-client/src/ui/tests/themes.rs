//! The colour themes and `NO_COLOR`: the same screen, recoloured.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::fixtures::{chatting, draw};
use crate::config::{Theme, WindowSettings};

fn screen(theme: Theme, colour: bool) -> Buffer {
    let mut app = chatting();
    app.settings = WindowSettings {
        theme,
        colour,
        ..WindowSettings::default()
    };
    draw(&app, 80, 24).backend().buffer().clone()
}

/// One letter per cell for its foreground colour ('.' for the terminal's own), so a snapshot
/// shows where each colour goes.
fn colour_map(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push(match buffer[(x, y)].fg {
                Color::Reset => '.',
                Color::Cyan => 'c',
                Color::Blue => 'b',
                Color::LightBlue => 'l',
                Color::Magenta => 'm',
                Color::DarkGray => 'd',
                Color::Green => 'g',
                Color::Yellow => 'y',
                Color::Red => 'r',
                Color::Indexed(130) => 'o',
                _ => '?',
            });
        }
        out.push('\n');
    }
    out
}

fn text(buffer: &Buffer) -> Vec<&str> {
    buffer.content.iter().map(|c| c.symbol()).collect()
}

#[test]
fn both_themes_and_no_colour_draw_the_same_text() {
    let dark = screen(Theme::Dark, true);
    let light = screen(Theme::Light, true);
    let plain = screen(Theme::Dark, false);
    assert_eq!(text(&dark), text(&light));
    assert_eq!(text(&dark), text(&plain));
    insta::assert_snapshot!("theme_dark_colours", colour_map(&dark));
    insta::assert_snapshot!("theme_light_colours", colour_map(&light));
    // The light theme keeps no colour that is hard to read on a light background.
    let hard = [Color::Cyan, Color::LightBlue, Color::Yellow];
    assert!(light.content.iter().all(|c| !hard.contains(&c.fg)));
    assert!(dark.content.iter().any(|c| c.fg == Color::Cyan));
    // NO_COLOR: no colour at all, but the emphasis stays.
    assert!(
        plain
            .content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    let bold = |b: &Buffer| {
        b.content
            .iter()
            .filter(|c| c.modifier.contains(Modifier::BOLD))
            .count()
    };
    assert!(bold(&plain) > 0);
    assert_eq!(bold(&plain), bold(&dark));
}
