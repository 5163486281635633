//! Measuring, truncating and wrapping text by display width (`unicode-width`), so wide
//! characters and emoji line up.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    s.width()
}

/// Display width of one character; control characters count as zero.
fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
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
    for c in s.chars() {
        let w = char_width(c);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
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
/// Always returns at least one row. A character wider than `max` gets a row of its own.
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
            for c in word.chars() {
                let cw = char_width(c);
                if used + cw > max && !row.is_empty() {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += cw;
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
    fn control_characters_become_spaces() {
        assert_eq!(sanitize("a\x1b[31mb\tc\nd"), "a [31mb c\nd");
    }
}
