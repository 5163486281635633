//! Measuring, truncating and wrapping text by display width, one grapheme cluster at a time
//! (Unicode UAX #29 via `unicode-segmentation`, widths via `unicode-width`): an emoji joined by
//! zero-width joiners, a flag or a letter with combining marks is one unit that is never split
//! across rows or columns, and it is measured the way ratatui's buffer draws it.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width of `s` in terminal columns: the sum of its grapheme clusters' widths.
pub fn width(s: &str) -> usize {
    if s.is_ascii() {
        // Every printable ASCII character is one cluster of one column: no segmentation,
        // which matters for long messages redrawn on every frame.
        return s.bytes().filter(|b| !b.is_ascii_control()).count();
    }
    s.graphemes(true).map(cluster_width).sum()
}

/// The grapheme clusters of `s`; ASCII text is cut byte by byte without the segmenter.
fn clusters(s: &str) -> Box<dyn Iterator<Item = &str> + '_> {
    if s.is_ascii() {
        Box::new((0..s.len()).map(move |i| &s[i..=i]))
    } else {
        Box::new(s.graphemes(true))
    }
}

/// Display width of one grapheme cluster (what ratatui's buffer gives it).
fn cluster_width(g: &str) -> usize {
    g.width()
}

/// Replaces control characters (other than `\n`) with spaces, so text from a peer cannot move
/// the terminal cursor or change colours.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}

/// `s` cut to at most `max` columns, ending in `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in clusters(s) {
        let w = cluster_width(g);
        if used + w + 1 > max {
            break;
        }
        out.push_str(g);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `s` padded with spaces on the left to `w` columns (truncated when wider).
pub fn pad_left(s: &str, w: usize) -> String {
    let s = truncate(s, w);
    format!("{}{s}", " ".repeat(w.saturating_sub(width(&s))))
}

/// `s` padded with spaces on the right to `w` columns (truncated when wider).
pub fn pad_right(s: &str, w: usize) -> String {
    let s = truncate(s, w);
    let fill = w.saturating_sub(width(&s));
    format!("{s}{}", " ".repeat(fill))
}

/// Splits `s` into rows of at most `max` columns: at spaces when possible, inside a word when
/// the word alone is wider than a row. `\n` starts a new row; spaces at a break are dropped.
///
/// Always returns at least one row. A grapheme cluster wider than `max` gets a row of its own.
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut rows = Vec::new();
    for paragraph in s.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        for word in paragraph.trim_end().split(' ') {
            let w = width(word);
            let gap = usize::from(!row.is_empty());
            if used + gap + w <= max {
                if gap == 1 {
                    row.push(' ');
                }
                row.push_str(word);
                used += gap + w;
                continue;
            }
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            for g in clusters(word) {
                let gw = cluster_width(g);
                if used + gw > max && !row.is_empty() {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push_str(g);
                used += gw;
            }
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_spaces(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn wraps_at_spaces_and_keeps_every_character() {
        let text = "the quick brown fox jumps over the lazy dog";
        let rows = wrap(text, 10);
        assert_eq!(
            rows,
            ["the quick", "brown fox", "jumps over", "the lazy", "dog"]
        );
        assert_eq!(no_spaces(&rows.concat()), no_spaces(text));
    }

    #[test]
    fn breaks_words_longer_than_a_row() {
        assert_eq!(wrap("ab abcdefghij", 4), ["ab", "abcd", "efgh", "ij"]);
    }

    #[test]
    fn counts_wide_characters_by_columns() {
        assert_eq!(wrap("日本語のテキスト", 6), ["日本語", "のテキ", "スト"]);
        assert_eq!(truncate("日本語", 5), "日本…");
        assert_eq!(width(&pad_left("日本", 6)), 6);
    }

    #[test]
    fn degenerate_widths_do_not_loop_or_panic() {
        assert_eq!(wrap("abc", 0), ["a", "b", "c"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("a\nb", 5), ["a", "b"]);
        assert_eq!(wrap("日", 1), ["日"]);
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn grapheme_clusters_are_never_split() {
        // A family joined by zero-width joiners, a flag, an e with a combining accent, a
        // thumbs-up with a skin tone: each one cluster, each as wide as ratatui draws it.
        let family = "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        let flag = "\u{1f1e9}\u{1f1ea}";
        let accent = "e\u{301}";
        let thumb = "\u{1f44d}\u{1f3fd}";
        for cluster in [family, flag, accent, thumb] {
            let drawn = ratatui::buffer::Buffer::with_lines([cluster]);
            assert_eq!(width(cluster), usize::from(drawn.area.width), "{cluster:?}");
        }
        let text = format!("{family}{flag}{accent}{thumb}{family}");
        for max in 1..=6 {
            let rows = wrap(&text, max);
            assert_eq!(rows.concat(), text, "nothing lost at {max}");
            for row in &rows {
                // Every row starts on a cluster boundary: no joiner, no lone half of a flag,
                // no combining mark or skin tone without its base.
                let first = row.graphemes(true).next().unwrap_or("");
                assert!(
                    [family, flag, accent, thumb].contains(&first),
                    "{max}: row {row:?} starts inside a cluster"
                );
                assert!(width(row) <= max.max(2), "{max}: {row:?}");
            }
        }
        assert_eq!(
            truncate(&format!("{accent}{accent}{accent}"), 2),
            format!("{accent}…")
        );
        assert_eq!(
            truncate(&format!("{family}{family}"), 3),
            format!("{family}…")
        );
    }

    #[test]
    fn ascii_takes_the_fast_path_with_the_same_result() {
        let text = "the quick brown fox jumps over the lazy dog; supercalifragilistic";
        for max in 1..20 {
            let fast = wrap(text, max);
            // The same text with one wide character appended goes through the segmenter.
            let slow = wrap(&format!("{text} \u{65e5}"), max);
            let n = fast.len() - 1;
            assert_eq!(fast[..n], slow[..n], "{max}");
        }
        assert_eq!(width("abc"), 3);
        assert_eq!(width("a\tb"), 2);
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(sanitize("a\x1b[31mb\tc\nd"), "a [31mb c\nd");
    }
}
