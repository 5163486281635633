use super::*;

mod concurrency;

fn id(n: u128) -> MessageId {
    MessageId(uuid::Uuid::from_u128(n))
}

#[tokio::test]
async fn outgoing_messages_form_the_outbox_until_delivered() {
    let store = LocalStore::in_memory().await.unwrap();
    store
        .insert_outgoing("bob", id(1), 10, "one")
        .await
        .unwrap();
    store
        .insert_outgoing("bob", id(2), 20, "two")
        .await
        .unwrap();
    store
        .insert_outgoing("carol", id(3), 30, "three")
        .await
        .unwrap();
    let texts = |v: Vec<Stored>| v.into_iter().map(|m| m.text).collect::<Vec<_>>();
    assert_eq!(
        texts(store.outbox().await.unwrap()),
        ["one", "two", "three"]
    );
    store
        .set_delivery("bob", id(1), Delivery::Sent, None)
        .await
        .unwrap();
    store
        .set_delivery("bob", id(2), Delivery::Delivered, None)
        .await
        .unwrap();
    assert_eq!(texts(store.outbox().await.unwrap()), ["one", "three"]);
    // A delivered message never goes back to sent (a late, stale update).
    store
        .set_delivery("bob", id(2), Delivery::Sent, None)
        .await
        .unwrap();
    let page = store.page("bob", None, PAGE_SIZE).await.unwrap();
    assert_eq!(page[1].delivery, Delivery::Delivered);
    // The id must belong to that peer.
    store
        .set_delivery("mallory", id(3), Delivery::Delivered, None)
        .await
        .unwrap();
    assert_eq!(store.outbox().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_resent_message_is_stored_once() {
    let store = LocalStore::in_memory().await.unwrap();
    assert!(
        store
            .insert_incoming("bob", id(7), 1, "hi")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .insert_incoming("bob", id(7), 1, "hi")
            .await
            .unwrap()
            .is_none()
    );
    // The same id from someone else is another message.
    assert!(
        store
            .insert_incoming("carol", id(7), 1, "hi")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.page("bob", None, PAGE_SIZE).await.unwrap().len(), 1);
}

#[tokio::test]
async fn pages_walk_back_from_the_newest() {
    let store = LocalStore::in_memory().await.unwrap();
    for n in 0..250u128 {
        store
            .insert_incoming("bob", id(n), n as u64, &format!("m{n}"))
            .await
            .unwrap();
    }
    let newest = store.page("bob", None, PAGE_SIZE).await.unwrap();
    assert_eq!(newest.len(), 100);
    assert_eq!(
        (newest[0].text.as_str(), newest[99].text.as_str()),
        ("m150", "m249")
    );
    let older = store
        .page("bob", Some(newest[0].seq), PAGE_SIZE)
        .await
        .unwrap();
    assert_eq!(
        (older[0].text.as_str(), older[99].text.as_str()),
        ("m50", "m149")
    );
    let oldest = store
        .page("bob", Some(older[0].seq), PAGE_SIZE)
        .await
        .unwrap();
    assert_eq!(oldest.len(), 50);
    assert_eq!(oldest[0].text, "m0");
    assert!(
        store
            .page("bob", Some(oldest[0].seq), PAGE_SIZE)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unread_counts_follow_the_read_marker() {
    let store = LocalStore::in_memory().await.unwrap();
    store.insert_incoming("bob", id(1), 1, "a").await.unwrap();
    let second = store
        .insert_incoming("bob", id(2), 2, "b")
        .await
        .unwrap()
        .unwrap();
    store.insert_incoming("bob", id(3), 3, "c").await.unwrap();
    store.insert_outgoing("carol", id(4), 4, "d").await.unwrap();
    let unread =
        |c: &[Conversation], peer: &str| c.iter().find(|c| c.peer == peer).map(|c| c.unread);
    let all = store.conversations().await.unwrap();
    assert_eq!(all[0].peer, "carol", "most recent first");
    assert_eq!(
        (unread(&all, "bob"), unread(&all, "carol")),
        (Some(3), Some(0))
    );
    store.mark_read("bob", second).await.unwrap();
    assert_eq!(
        unread(&store.conversations().await.unwrap(), "bob"),
        Some(1)
    );
    // A marker never moves back.
    store.mark_read("bob", 1).await.unwrap();
    assert_eq!(
        unread(&store.conversations().await.unwrap(), "bob"),
        Some(1)
    );
}

#[tokio::test]
async fn the_file_survives_a_reopen_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = LocalStore::open(dir.path()).await.unwrap();
        store
            .insert_outgoing("bob", id(1), 1, "kept")
            .await
            .unwrap();
    }
    let store = LocalStore::open(dir.path()).await.unwrap();
    assert_eq!(store.outbox().await.unwrap()[0].text, "kept");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(sync, 2, "FULL");
}

#[tokio::test]
async fn pins_are_stored_one_row_at_a_time() {
    use crate::pins::Pin;
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).await.unwrap();
    assert_eq!(store.pins().await.unwrap(), crate::pins::Pins::default());
    store
        .save_pin(
            "bob",
            &Pin {
                key: [3; 32],
                verified: false,
            },
        )
        .await
        .unwrap();
    // Another process (a second client on the same profile) verifies carol meanwhile.
    let other = LocalStore::open(dir.path()).await.unwrap();
    other
        .save_pin(
            "carol",
            &Pin {
                key: [4; 32],
                verified: true,
            },
        )
        .await
        .unwrap();
    store
        .save_pin(
            "bob",
            &Pin {
                key: [3; 32],
                verified: true,
            },
        )
        .await
        .unwrap();
    let pins = LocalStore::open(dir.path())
        .await
        .unwrap()
        .pins()
        .await
        .unwrap();
    assert_eq!(
        pins.get("bob"),
        Some(&Pin {
            key: [3; 32],
            verified: true
        })
    );
    assert_eq!(
        pins.get("carol"),
        Some(&Pin {
            key: [4; 32],
            verified: true
        }),
        "not overwritten"
    );
}

#[tokio::test]
async fn the_contact_list_is_cached_for_the_next_start() {
    use chrono::TimeZone;
    let at = chrono::Utc.timestamp_millis_opt(1).unwrap();
    let record = |name: &str| p2p_chat_protocol::api::ClientRecord {
        username: name.into(),
        host: "127.0.0.1".into(),
        port: 1,
        public_key: "00".repeat(32),
        observed_host: None,
        candidates: Vec::new(),
        relay_only: false,
        registered_at: at,
        last_seen: at,
        online: true,
    };
    let store = LocalStore::in_memory().await.unwrap();
    store
        .cache_contacts(&[record("carol"), record("bob")])
        .await
        .unwrap();
    store.cache_contacts(&[record("bob")]).await.unwrap();
    let cached = store.cached_contacts().await.unwrap();
    assert_eq!(
        cached
            .iter()
            .map(|r| r.username.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
}

#[tokio::test]
async fn search_finds_words_by_prefix_any_case_and_accent_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).await.unwrap();
    let texts = [
        ("bob", "Lunch at the Café tomorrow?"),
        ("carol", "the cafe downstairs is closed"),
        ("bob", "first line\nsecond line with a needle\nthird"),
        ("bob", "nothing here"),
        ("carol", "NEAR(a b) \"quoted\" AND col:x*"),
    ];
    for (n, (peer, text)) in texts.iter().enumerate() {
        store
            .insert_outgoing(peer, id(n as u128), n as u64, text)
            .await
            .unwrap();
    }
    let found = |hits: Vec<Stored>| hits.into_iter().map(|m| m.text).collect::<Vec<_>>();
    assert_eq!(
        found(store.search(None, "cafe", 10).await.unwrap()),
        [texts[1].1, texts[0].1],
        "accents and case folded, newest first"
    );
    assert_eq!(
        found(store.search(Some("bob"), "caf", 10).await.unwrap()),
        [texts[0].1]
    );
    assert_eq!(
        found(store.search(None, "needle second", 10).await.unwrap()),
        [texts[2].1]
    );
    assert!(
        store
            .search(None, "needle missing", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // FTS5's own syntax in the text is matched as words, never run.
    assert_eq!(
        found(store.search(None, "NEAR(a", 10).await.unwrap()),
        [texts[4].1]
    );
    assert_eq!(
        found(store.search(None, "\"quoted\" AND", 10).await.unwrap()),
        [texts[4].1]
    );
    assert!(store.search(None, "*** ((", 10).await.unwrap().is_empty());
    assert_eq!(
        store.search(None, "line", 1).await.unwrap().len(),
        1,
        "the limit holds"
    );
    // Received messages and messages stored before a reopen are found too.
    store
        .insert_incoming("dave", id(9), 9, "a zebra crossing")
        .await
        .unwrap();
    drop(store);
    let store = LocalStore::open(dir.path()).await.unwrap();
    assert_eq!(
        found(store.search(None, "zeb", 10).await.unwrap()),
        ["a zebra crossing"]
    );
}

#[tokio::test]
async fn a_page_around_a_message_holds_it_and_its_neighbours() {
    let store = LocalStore::in_memory().await.unwrap();
    for n in 1..=50u128 {
        store
            .insert_outgoing("bob", id(n), n as u64, &format!("m{n}"))
            .await
            .unwrap();
    }
    let hit = store.search(None, "m20", 10).await.unwrap()[0].seq;
    let page = store
        .read_page("bob", PageRequest::Around(hit), 10)
        .await
        .unwrap();
    let texts: Vec<&str> = page.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "m15", "m16", "m17", "m18", "m19", "m20", "m21", "m22", "m23", "m24", "m25"
        ]
    );
}

#[tokio::test]
async fn a_reply_keeps_the_id_of_the_message_it_answers() {
    let store = LocalStore::in_memory().await.unwrap();
    store
        .insert_outgoing_reply("bob", id(2), 2, "> bob: hi\nhello", Some(id(1)))
        .await
        .unwrap();
    let incoming = Incoming {
        peer: "bob".into(),
        id: id(3),
        sent_at_ms: 3,
        text: "> alice: hello\nhow are you".into(),
        reply_to: Some(id(2)),
    };
    store.insert_incoming_many(&[incoming]).await.unwrap();
    store
        .insert_outgoing("bob", id(4), 4, "plain")
        .await
        .unwrap();
    let page = store.page("bob", None, PAGE_SIZE).await.unwrap();
    let links: Vec<Option<MessageId>> = page.iter().map(|m| m.reply_to).collect();
    assert_eq!(links, [Some(id(1)), Some(id(2)), None]);
    // The outbox carries it to the pump.
    assert_eq!(store.outbox().await.unwrap()[0].reply_to, Some(id(1)));
}
