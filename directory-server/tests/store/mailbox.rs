//! The offline mailbox: deposits under quotas (atomic under concurrency), fetch order and
//! paging, deletion by the recipient only, expiry and the purge.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use p2p_chat_directory::store::{DepositOutcome, MailboxQuota, NewMail};
use p2p_chat_protocol::api::MailId;

use crate::{Backend, conformance, new_client, t0};

/// Generous limits, for tests that are not about them.
pub const QUOTA: MailboxQuota = MailboxQuota {
    max_messages: 100,
    max_bytes: 1 << 20,
    max_total_bytes: 1 << 24,
};

/// A message of `size` bytes (all equal to the size's low byte) for `to`, deposited at `at`,
/// expiring a day later.
pub fn mail(to: &str, size: usize, at: DateTime<Utc>) -> NewMail {
    NewMail {
        id: MailId::new(),
        recipient: to.into(),
        sealed: vec![size as u8; size],
        deposited_at: at,
        expires_at: at + Duration::days(1),
    }
}

conformance!(
    mail_is_fetched_in_deposit_order_and_paged,
    only_the_recipient_deletes_its_mail,
    a_mailbox_holds_no_more_than_its_quota,
    the_whole_mailbox_holds_no_more_than_its_total,
    expired_mail_no_longer_counts_and_is_purged,
    concurrent_deposits_never_overfill_a_mailbox,
    concurrent_deposits_never_overfill_the_whole_mailbox,
);

async fn users(db: &Backend, names: &[&str]) {
    for name in names {
        db.insert_client(&new_client(name, t0())).await.unwrap();
    }
}

async fn mail_is_fetched_in_deposit_order_and_paged(db: Backend) {
    users(&db, &["alice", "bob"]).await;
    let mut ids = Vec::new();
    for size in 1..=5 {
        let m = mail("alice", size, t0());
        ids.push(m.id);
        assert_eq!(
            db.deposit_mail(&m, QUOTA).await.unwrap(),
            DepositOutcome::Stored
        );
    }
    db.deposit_mail(&mail("bob", 9, t0()), QUOTA).await.unwrap();
    let all = db.fetch_mail("alice", None, 10, t0()).await.unwrap();
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(all[2].sealed, vec![3u8; 3], "bytes kept exactly");
    assert_eq!(all[0].deposited_at, t0());
    let page = db.fetch_mail("alice", None, 2, t0()).await.unwrap();
    assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..2]);
    let next = db.fetch_mail("alice", Some(ids[1]), 2, t0()).await.unwrap();
    assert_eq!(next.iter().map(|m| m.id).collect::<Vec<_>>(), ids[2..4]);
    let unknown_after = MailId::new();
    assert!(
        db.fetch_mail("alice", Some(unknown_after), 10, t0())
            .await
            .unwrap()
            .is_empty(),
        "an id newer than every message ends the list, existing or not"
    );
    assert!(
        db.fetch_mail("carol", None, 10, t0())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn only_the_recipient_deletes_its_mail(db: Backend) {
    users(&db, &["alice", "bob"]).await;
    let m = mail("alice", 10, t0());
    db.deposit_mail(&m, QUOTA).await.unwrap();
    assert!(!db.delete_mail("bob", m.id, t0()).await.unwrap());
    assert_eq!(
        db.fetch_mail("alice", None, 10, t0()).await.unwrap().len(),
        1
    );
    assert!(db.delete_mail("alice", m.id, t0()).await.unwrap());
    assert!(!db.delete_mail("alice", m.id, t0()).await.unwrap(), "gone");
    assert!(
        db.fetch_mail("alice", None, 10, t0())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_mailbox_holds_no_more_than_its_quota(db: Backend) {
    users(&db, &["alice", "bob"]).await;
    let quota = MailboxQuota {
        max_messages: 3,
        max_bytes: 100,
        ..QUOTA
    };
    for _ in 0..3 {
        assert_eq!(
            db.deposit_mail(&mail("alice", 10, t0()), quota)
                .await
                .unwrap(),
            DepositOutcome::Stored
        );
    }
    assert_eq!(
        db.deposit_mail(&mail("alice", 1, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::TooManyMessages
    );
    assert_eq!(
        db.deposit_mail(&mail("bob", 100, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::Stored,
        "exactly max_bytes fits"
    );
    let first = db.fetch_mail("bob", None, 1, t0()).await.unwrap()[0].id;
    db.delete_mail("bob", first, t0()).await.unwrap();
    db.deposit_mail(&mail("bob", 60, t0()), quota)
        .await
        .unwrap();
    assert_eq!(
        db.deposit_mail(&mail("bob", 41, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::TooManyBytes
    );
    assert_eq!(
        db.deposit_mail(&mail("ghost", 1, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::UnknownRecipient
    );
    assert_eq!(
        db.fetch_mail("alice", None, 10, t0()).await.unwrap().len(),
        3
    );
    assert_eq!(db.fetch_mail("bob", None, 10, t0()).await.unwrap().len(), 1);
}

async fn the_whole_mailbox_holds_no_more_than_its_total(db: Backend) {
    users(&db, &["alice", "bob", "carol"]).await;
    let quota = MailboxQuota {
        max_total_bytes: 250,
        ..QUOTA
    };
    db.deposit_mail(&mail("alice", 100, t0()), quota)
        .await
        .unwrap();
    db.deposit_mail(&mail("bob", 100, t0()), quota)
        .await
        .unwrap();
    assert_eq!(
        db.deposit_mail(&mail("carol", 51, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::StorageFull
    );
    assert_eq!(
        db.deposit_mail(&mail("carol", 50, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::Stored
    );
    // Room comes back when a recipient deletes, and when an account goes.
    let id = db.fetch_mail("alice", None, 1, t0()).await.unwrap()[0].id;
    db.delete_mail("alice", id, t0()).await.unwrap();
    assert_eq!(
        db.deposit_mail(&mail("carol", 100, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::Stored
    );
    assert_eq!(
        db.deposit_mail(&mail("alice", 100, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::StorageFull
    );
    db.delete_client("bob").await.unwrap();
    assert_eq!(
        db.deposit_mail(&mail("alice", 100, t0()), quota)
            .await
            .unwrap(),
        DepositOutcome::Stored
    );
}

async fn expired_mail_no_longer_counts_and_is_purged(db: Backend) {
    users(&db, &["alice", "bob"]).await;
    let quota = MailboxQuota {
        max_messages: 2,
        max_total_bytes: 300,
        ..QUOTA
    };
    db.deposit_mail(&mail("alice", 100, t0()), quota)
        .await
        .unwrap();
    db.deposit_mail(&mail("alice", 100, t0()), quota)
        .await
        .unwrap();
    db.deposit_mail(&mail("bob", 100, t0()), quota)
        .await
        .unwrap();
    let expiry = t0() + Duration::days(1);
    let before = expiry - Duration::milliseconds(1);
    assert_eq!(
        db.fetch_mail("alice", None, 10, before)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        db.fetch_mail("alice", None, 10, expiry)
            .await
            .unwrap()
            .is_empty()
    );
    let id = db.fetch_mail("bob", None, 1, before).await.unwrap()[0].id;
    assert!(
        !db.delete_mail("bob", id, expiry).await.unwrap(),
        "an expired message counts as gone"
    );
    // A deposit after the expiry purges the recipient's expired messages first.
    assert_eq!(
        db.deposit_mail(&mail("alice", 100, expiry), quota)
            .await
            .unwrap(),
        DepositOutcome::Stored
    );
    db.deposit_mail(&mail("bob", 100, expiry), quota)
        .await
        .unwrap();
    assert_eq!(
        db.purge_expired_mail(expiry + Duration::days(1))
            .await
            .unwrap(),
        2,
        "the purge takes what expired"
    );
    assert_eq!(
        db.purge_expired_mail(expiry + Duration::days(1))
            .await
            .unwrap(),
        0
    );
    // Everything is gone, so the whole store has its 300 bytes again.
    for name in ["alice", "bob"] {
        assert_eq!(
            db.deposit_mail(&mail(name, 150, expiry + Duration::days(1)), quota)
                .await
                .unwrap(),
            DepositOutcome::Stored
        );
    }
}

/// Deposits `count` messages of `size` bytes at once, spread over `recipients`; the outcomes.
async fn race(
    db: &Backend,
    recipients: &[&str],
    count: usize,
    size: usize,
    quota: MailboxQuota,
) -> Vec<DepositOutcome> {
    let store: Arc<dyn p2p_chat_directory::Store> = db.store.clone();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let store = store.clone();
            let m = mail(recipients[i % recipients.len()], size, t0());
            tokio::spawn(async move { store.deposit_mail(&m, quota).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

async fn concurrent_deposits_never_overfill_a_mailbox(db: Backend) {
    users(&db, &["alice"]).await;
    let quota = MailboxQuota {
        max_messages: 10,
        ..QUOTA
    };
    let outcomes = race(&db, &["alice"], 40, 10, quota).await;
    let stored = outcomes
        .iter()
        .filter(|&&o| o == DepositOutcome::Stored)
        .count();
    assert_eq!(stored, 10, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|&o| matches!(o, DepositOutcome::Stored | DepositOutcome::TooManyMessages))
    );
    assert_eq!(
        db.fetch_mail("alice", None, 100, t0()).await.unwrap().len(),
        10
    );
}

async fn concurrent_deposits_never_overfill_the_whole_mailbox(db: Backend) {
    let names = ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"];
    users(&db, &names).await;
    let quota = MailboxQuota {
        max_total_bytes: 1000,
        ..QUOTA
    };
    let outcomes = race(&db, &names, 40, 100, quota).await;
    let stored = outcomes
        .iter()
        .filter(|&&o| o == DepositOutcome::Stored)
        .count();
    assert_eq!(stored, 10, "{outcomes:?}");
    let mut held = 0;
    for name in names {
        held += db.fetch_mail(name, None, 100, t0()).await.unwrap().len();
    }
    assert_eq!(held, 10);
}
