//! Accounts, listings, addresses and presence.

use std::time::Duration as StdDuration;

use chrono::Duration;
use p2p_chat_directory::StoreError;
use p2p_chat_directory::store::AddressUpdate;

use crate::{Backend, conformance, new_client, new_token, t0};

conformance!(
    a_client_is_stored_and_read_back,
    a_taken_username_is_refused,
    listings_are_in_byte_order_and_paged,
    an_address_update_keeps_what_it_does_not_carry,
    heartbeats_make_a_client_online_and_signing_off_ends_it,
    a_new_password_ends_every_token,
    deleting_a_client_takes_its_tokens_and_mail,
    a_closed_store_is_unavailable,
);

async fn a_client_is_stored_and_read_back(db: Backend) {
    let inserted = db.insert_client(&new_client("alice", t0())).await.unwrap();
    assert_eq!(inserted.username, "alice");
    assert_eq!(
        (inserted.host.as_str(), inserted.port),
        ("192.0.2.1", 55555)
    );
    assert_eq!(inserted.public_key, "ab".repeat(32));
    assert_eq!(inserted.observed_host.as_deref(), Some("198.51.100.7"));
    assert_eq!((inserted.registered_at, inserted.last_seen), (t0(), t0()));
    assert_eq!(
        inserted.heartbeat_at, None,
        "registering is not a heartbeat"
    );
    assert!(inserted.candidates.is_empty() && !inserted.relay_only);
    assert_eq!(db.client("alice").await.unwrap(), Some(inserted));
    assert_eq!(
        db.password_hash("alice").await.unwrap().as_deref(),
        Some("$2b$04$hash-of-alice")
    );
    assert_eq!(db.client("bob").await.unwrap(), None);
    assert_eq!(db.password_hash("bob").await.unwrap(), None);
    db.ping().await.unwrap();
}

async fn a_taken_username_is_refused(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    let mut again = new_client("alice", t0() + Duration::seconds(1));
    again.host = "192.0.2.99".into();
    match db.insert_client(&again).await {
        Err(StoreError::UsernameTaken(name)) => assert_eq!(name, "alice"),
        other => panic!("expected UsernameTaken, got {other:?}"),
    }
    let kept = db.client("alice").await.unwrap().unwrap();
    assert_eq!(kept.host, "192.0.2.1", "the first registration stays");
}

async fn listings_are_in_byte_order_and_paged(db: Backend) {
    // Byte order puts '-' < '.' < digits < '_' < letters; a language's collation would not
    // (ICU's en-US sorts "a_b" first).
    let names = ["aa", "a_b", "a0", "a.b", "a-b", "b"];
    for name in names {
        db.insert_client(&new_client(name, t0())).await.unwrap();
    }
    let all: Vec<String> = db
        .list_clients(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.username)
        .collect();
    assert_eq!(all, ["a-b", "a.b", "a0", "a_b", "aa", "b"]);
    let page = |after: Option<&'static str>, limit| {
        let store = db.store.clone();
        async move {
            store
                .list_clients(after, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.username)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(None, 2).await, ["a-b", "a.b"]);
    assert_eq!(page(Some("a.b"), 2).await, ["a0", "a_b"]);
    assert_eq!(page(Some("a_b"), 10).await, ["aa", "b"]);
    assert_eq!(page(Some("b"), 10).await, Vec::<String>::new());
    assert_eq!(page(Some("a1"), 1).await, ["a_b"], "`after` need not exist");
    assert_eq!(page(None, 0).await, Vec::<String>::new());
}

async fn an_address_update_keeps_what_it_does_not_carry(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    let at = t0() + Duration::seconds(30);
    let update = AddressUpdate {
        username: "alice".into(),
        host: "192.0.2.2".into(),
        port: 40000,
        public_key: Some("cd".repeat(32)),
        observed_host: Some("203.0.113.5".into()),
        candidates: Some(vec!["192.0.2.3:40000".into(), "[2001:db8::1]:40000".into()]),
        relay_only: Some(true),
        now: at,
    };
    let row = db.update_address(&update).await.unwrap().unwrap();
    assert_eq!((row.host.as_str(), row.port), ("192.0.2.2", 40000));
    assert_eq!(row.public_key, "cd".repeat(32));
    assert_eq!(row.observed_host.as_deref(), Some("203.0.113.5"));
    assert_eq!(row.candidates, ["192.0.2.3:40000", "[2001:db8::1]:40000"]);
    assert!(row.relay_only);
    assert_eq!((row.last_seen, row.heartbeat_at), (at, Some(at)));
    assert_eq!(row.registered_at, t0());

    let later = at + Duration::seconds(30);
    let bare = AddressUpdate {
        host: "192.0.2.4".into(),
        port: 40001,
        public_key: None,
        observed_host: None,
        candidates: None,
        relay_only: None,
        now: later,
        ..update.clone()
    };
    let row = db.update_address(&bare).await.unwrap().unwrap();
    assert_eq!((row.host.as_str(), row.port), ("192.0.2.4", 40001));
    assert_eq!(row.public_key, "cd".repeat(32), "key kept");
    assert_eq!(
        row.observed_host.as_deref(),
        Some("203.0.113.5"),
        "observed kept"
    );
    assert_eq!(row.candidates.len(), 2, "candidates kept");
    assert!(row.relay_only, "relay-only kept");
    assert_eq!(db.client("alice").await.unwrap(), Some(row));

    let cleared = AddressUpdate {
        candidates: Some(Vec::new()),
        relay_only: Some(false),
        ..bare.clone()
    };
    let row = db.update_address(&cleared).await.unwrap().unwrap();
    assert!(row.candidates.is_empty() && !row.relay_only);

    let ghost = AddressUpdate {
        username: "ghost".into(),
        ..bare
    };
    assert_eq!(db.update_address(&ghost).await.unwrap(), None);
}

async fn heartbeats_make_a_client_online_and_signing_off_ends_it(db: Backend) {
    let window = StdDuration::from_secs(60);
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    let record = |at| {
        let store = db.store.clone();
        async move {
            store
                .client("alice")
                .await
                .unwrap()
                .unwrap()
                .into_record(at, window)
        }
    };
    assert!(!record(t0()).await.online, "registered, never running");

    let login = t0() + Duration::seconds(10);
    assert!(
        db.touch("alice", login, Some("203.0.113.8"), false)
            .await
            .unwrap()
    );
    let row = db.client("alice").await.unwrap().unwrap();
    assert_eq!((row.last_seen, row.heartbeat_at), (login, None));
    assert_eq!(row.observed_host.as_deref(), Some("203.0.113.8"));
    assert!(!record(login).await.online, "a login is not a heartbeat");

    let beat = t0() + Duration::seconds(20);
    assert!(db.touch("alice", beat, None, true).await.unwrap());
    let row = db.client("alice").await.unwrap().unwrap();
    assert_eq!((row.last_seen, row.heartbeat_at), (beat, Some(beat)));
    assert_eq!(row.observed_host.as_deref(), Some("203.0.113.8"), "kept");
    assert!(record(beat + Duration::seconds(60)).await.online);
    assert!(!record(beat + Duration::seconds(61)).await.online);

    assert!(db.sign_off("alice").await.unwrap());
    assert!(!record(beat).await.online, "signed off: offline at once");
    assert_eq!(db.client("alice").await.unwrap().unwrap().last_seen, beat);

    assert!(!db.touch("ghost", beat, None, true).await.unwrap());
    assert!(!db.sign_off("ghost").await.unwrap());
}

async fn a_new_password_ends_every_token(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    db.insert_client(&new_client("bob", t0())).await.unwrap();
    db.insert_token(&new_token(1, "alice", t0(), 30))
        .await
        .unwrap();
    db.insert_token(&new_token(2, "alice", t0(), 30))
        .await
        .unwrap();
    db.insert_token(&new_token(3, "bob", t0(), 30))
        .await
        .unwrap();
    assert!(db.set_password_hash("alice", "$2b$04$new").await.unwrap());
    assert_eq!(
        db.password_hash("alice").await.unwrap().as_deref(),
        Some("$2b$04$new")
    );
    assert_eq!(db.token_owner(&[1; 32], t0()).await.unwrap(), None);
    assert_eq!(db.token_owner(&[2; 32], t0()).await.unwrap(), None);
    assert_eq!(
        db.token_owner(&[3; 32], t0()).await.unwrap().as_deref(),
        Some("bob"),
        "other users keep theirs"
    );
    assert!(!db.set_password_hash("ghost", "$2b$04$x").await.unwrap());
}

async fn deleting_a_client_takes_its_tokens_and_mail(db: Backend) {
    use crate::mailbox::{QUOTA, mail};
    use p2p_chat_directory::store::DepositOutcome;
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    db.insert_token(&new_token(1, "alice", t0(), 30))
        .await
        .unwrap();
    let deposit = db
        .deposit_mail(&mail("alice", 100, t0()), QUOTA)
        .await
        .unwrap();
    assert_eq!(deposit, DepositOutcome::Stored);
    assert!(db.delete_client("alice").await.unwrap());
    assert_eq!(db.client("alice").await.unwrap(), None);
    assert_eq!(db.token_owner(&[1; 32], t0()).await.unwrap(), None);
    assert!(!db.delete_client("alice").await.unwrap());
    // Registered again under the same name: an empty mailbox, no old tokens.
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    assert!(
        db.fetch_mail("alice", None, 10, t0())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.token_owner(&[1; 32], t0()).await.unwrap(), None);
}

async fn a_closed_store_is_unavailable(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    db.close().await;
    match db.client("alice").await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(matches!(db.ping().await, Err(StoreError::Unavailable(_))));
}
