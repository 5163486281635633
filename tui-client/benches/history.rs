//! Benchmark: opening and scrolling a conversation of 100,000 messages through the chat's
//! history window, against the baseline of loading the whole conversation at once, in the
//! same process; and `/search` over that history (the FTS5 index, migration 0004) for a rare
//! word, a common prefix and no hit, against the same baseline and the 50 ms goal of issue 10.
//! Prints ratios, not absolute thresholds (machines here are noisy).
//!
//! Run: `cargo bench -p p2p-chat --bench history`

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use p2p_chat::app::{Action, App, Effect, Me};
use p2p_chat::store::{LocalStore, MAX_HITS, PAGE_SIZE};
use p2p_chat_protocol::MessageId;

const MESSAGES: u32 = 100_000;

fn clock() -> u64 {
    0
}

/// Resident memory of this process in KiB (Linux `/proc/self/status`), 0 elsewhere.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

async fn settle(app: &mut App, store: &LocalStore, mut effects: Vec<Effect>) {
    while !effects.is_empty() {
        let mut next = Vec::new();
        for effect in effects {
            if let Effect::LoadHistory {
                chat,
                peer,
                request,
            } = effect
            {
                let page = store
                    .read_page(&peer, request, PAGE_SIZE)
                    .await
                    .expect("page");
                next.extend(app.update(Action::HistoryLoaded {
                    chat,
                    request,
                    page,
                }));
            }
        }
        effects = next;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::open(dir.path()).await.expect("store");
    let numbers: Vec<u32> = (0..MESSAGES).collect();
    for chunk in numbers.chunks(10_000) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|n| {
                (
                    MessageId::new(),
                    u64::from(*n),
                    // Every 1,000th message holds a rarer word; "some" is in all of them.
                    if n % 1_000 == 0 {
                        format!("message number {n:06} about the quarterly zeppelin")
                    } else {
                        format!("message number {n:06} with some text")
                    },
                )
            })
            .collect();
        store.import_incoming("bob", &batch).await.expect("import");
    }

    // Windowed: open, then scroll to the first message.
    let before = resident_kib();
    let started = Instant::now();
    let me = Me {
        name: "alice".into(),
        listen: "x".into(),
        directory: None,
        key: [1; 32],
    };
    let mut app = App::new(me, clock);
    let conversations = store.conversations().await.expect("conversations");
    let effects = app.update(Action::StoreLoaded {
        conversations,
        outbox: Vec::new(),
        pins: Default::default(),
        contacts: Vec::new(),
    });
    settle(&mut app, &store, effects).await;
    let opened = started.elapsed();
    let page_up = KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE);
    let mut held = 0;
    loop {
        let chat = app.current_chat().expect("chat");
        if chat.history.complete && chat.scroll + 1 == chat.lines.len() {
            break;
        }
        let effects = app.update(Action::Key(page_up));
        settle(&mut app, &store, effects).await;
        held = held.max(app.current_chat().map_or(0, |c| c.lines.len()));
    }
    let scrolled = started.elapsed();
    let windowed_kib = resident_kib().saturating_sub(before);
    drop(app);

    // Baseline: the whole conversation in memory at once.
    let before = resident_kib();
    let started = Instant::now();
    let all = store.page("bob", None, MESSAGES).await.expect("all");
    let loaded_all = started.elapsed();
    let baseline_kib = resident_kib().saturating_sub(before);
    assert_eq!(all.len(), MESSAGES as usize);

    println!("conversation of {MESSAGES} messages");
    println!(
        "  open (newest page)      {:>10.2?}   vs loading all {:>10.2?}   ratio {:.4}",
        opened,
        loaded_all,
        opened.as_secs_f64() / loaded_all.as_secs_f64()
    );
    println!("  scroll to the first one {scrolled:>10.2?}   ({held} lines held at most)");
    println!(
        "  memory grown: windowed {windowed_kib} KiB vs all at once {baseline_kib} KiB   ratio {:.3}",
        windowed_kib as f64 / baseline_kib.max(1) as f64
    );

    // Search: the median of several runs of each, as the window's /search runs it (newest
    // hits first, at most MAX_HITS).
    let searches = [
        ("rare word", "zeppelin"),
        ("common prefix", "so"),
        ("no hit", "walrus"),
    ];
    for (label, text) in searches {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..9 {
            let started = Instant::now();
            found = store
                .search(None, text, MAX_HITS)
                .await
                .expect("search")
                .len();
            times.push(started.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "  search {label:<14} {median:>10.2?}   {found:>3} hits   vs loading all: ratio {:.4}   goal 50 ms: {}",
            median.as_secs_f64() / loaded_all.as_secs_f64(),
            if median.as_millis() <= 50 {
                "met"
            } else {
                "MISSED"
            }
        );
    }
}
