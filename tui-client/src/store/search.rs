//! Full-text search of the history (the FTS5 index of migration 0004).

use unicode_segmentation::UnicodeSegmentation;

use super::{LocalStore, StoreError, Stored, stored};

/// Most hits one search returns: the newest ones.
pub const MAX_HITS: u32 = 500;

/// The FTS5 query for what a user typed: each word becomes a quoted prefix term (`"cafe"*`),
/// all of which must occur, so FTS5's own syntax (`AND`, `NEAR`, `"`, `*`, `:`) in the text
/// is matched as words, never interpreted. `None` when there is no word to look for.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .unicode_words()
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl LocalStore {
    /// Messages whose text contains every word of `text` (as a word or the start of one,
    /// ignoring case and accents), newest first, at most `limit`; only the conversation with
    /// `peer` when given.
    ///
    /// # Errors
    /// When the read fails. A text without words finds nothing.
    pub async fn search(
        &self,
        peer: Option<&str>,
        text: &str,
        limit: u32,
    ) -> Result<Vec<Stored>, StoreError> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)",
            " AND (? IS NULL OR peer = ?) ORDER BY seq DESC LIMIT ?"
        );
        let rows = sqlx::query(sql)
            .bind(query)
            .bind(peer)
            .bind(peer)
            .bind(i64::from(limit.min(MAX_HITS)))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_becomes_quoted_prefix_terms() {
        assert_eq!(
            fts_query("hello wor").as_deref(),
            Some("\"hello\"* \"wor\"*")
        );
        assert_eq!(
            fts_query("NEAR(a b) \"x\" AND col:y*").as_deref(),
            Some("\"NEAR\"* \"a\"* \"b\"* \"x\"* \"AND\"* \"col:y\"*")
        );
        assert_eq!(fts_query("  ... !!"), None);
        assert_eq!(fts_query("café").as_deref(), Some("\"café\"*"));
    }
}
