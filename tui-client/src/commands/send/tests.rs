//! Splitting the words of `send` and its `--json` summary.

use super::*;

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn the_words_after_the_username_are_the_text() {
    let (user, text) = split_words(words(&["bob", "hello", "there"]), false).unwrap();
    assert_eq!(
        (user.as_deref(), text.as_str()),
        (Some("bob"), "hello there")
    );
    let (user, text) = split_words(words(&["hello", "there"]), true).unwrap();
    assert_eq!((user, text.as_str()), (None, "hello there"));
    let (_, text) = split_words(words(&["bob", "build 1234 passed"]), false).unwrap();
    assert_eq!(text, "build 1234 passed", "a quoted text stays as it is");
}

#[test]
fn missing_empty_and_oversize_texts_are_refused() {
    let err = split_words(words(&["bob"]), false).unwrap_err().to_string();
    assert!(err.contains("p2p-chat send USERNAME TEXT"), "{err}");
    let err = split_words(words(&["bob", " ", ""]), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("USERNAME and the TEXT"), "{err}");
    let big = "x".repeat(MAX_TEXT_BYTES + 1);
    let err = split_words(vec!["bob".into(), big], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("limit"), "{err}");
}

#[test]
fn the_summary_has_the_documented_fields() {
    let id = MessageId::new();
    let delivered = summary(
        id,
        Outcome::Delivered {
            rtt_ms: 7,
            path: SessionPath::Direct,
        },
    );
    assert_eq!(delivered["outcome"], "delivered");
    assert_eq!(delivered["path"], "direct");
    assert_eq!(delivered["rtt_ms"], 7);
    assert_eq!(delivered["id"], id.to_string());
    let relayed = Outcome::Delivered {
        rtt_ms: 9,
        path: SessionPath::Relayed { max_bytes: None },
    };
    assert_eq!(summary(id, relayed)["path"], "relayed");
    let deposited = summary(id, Outcome::Deposited);
    assert_eq!(deposited["outcome"], "deposited");
    assert_eq!(deposited["path"], "mailbox");
    assert!(deposited["rtt_ms"].is_null());
}
