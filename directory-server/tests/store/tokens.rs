//! Login tokens: stored as hashes, expiring, deleted on logout, purged when stale; and the
//! counts of wrong passwords behind the login back-off.

use chrono::Duration;

use crate::{Backend, conformance, new_client, new_token, t0};

conformance!(
    a_token_names_its_owner_until_it_expires,
    a_logout_deletes_one_token,
    expired_tokens_are_purged_when_the_owner_logs_in_again,
    a_token_for_a_missing_user_is_refused,
    password_checks_are_counted_until_forgotten_or_cleared,
    concurrent_checks_each_get_their_own_count,
);

async fn a_token_names_its_owner_until_it_expires(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    db.insert_token(&new_token(7, "alice", t0(), 1))
        .await
        .unwrap();
    let owner = |at| {
        let store = db.store.clone();
        async move { store.token_owner(&[7; 32], at).await.unwrap() }
    };
    assert_eq!(owner(t0()).await.as_deref(), Some("alice"));
    let expiry = t0() + Duration::days(1);
    assert_eq!(
        owner(expiry - Duration::milliseconds(1)).await.as_deref(),
        Some("alice")
    );
    assert_eq!(owner(expiry).await, None, "expired at its expiry time");
    assert_eq!(db.token_owner(&[8; 32], t0()).await.unwrap(), None);
}

async fn a_logout_deletes_one_token(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    db.insert_token(&new_token(1, "alice", t0(), 30))
        .await
        .unwrap();
    db.insert_token(&new_token(2, "alice", t0(), 30))
        .await
        .unwrap();
    assert!(db.delete_token(&[1; 32]).await.unwrap());
    assert!(!db.delete_token(&[1; 32]).await.unwrap(), "gone already");
    assert_eq!(db.token_owner(&[1; 32], t0()).await.unwrap(), None);
    assert_eq!(
        db.token_owner(&[2; 32], t0()).await.unwrap().as_deref(),
        Some("alice"),
        "the other session stays logged in"
    );
}

async fn expired_tokens_are_purged_when_the_owner_logs_in_again(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    db.insert_token(&new_token(1, "alice", t0(), 1))
        .await
        .unwrap();
    // Re-inserting the same hash fails only while the old row exists: it proves the purge.
    let later = t0() + Duration::days(2);
    db.insert_token(&new_token(1, "alice", later, 1))
        .await
        .unwrap();
    assert_eq!(
        db.token_owner(&[1; 32], later).await.unwrap().as_deref(),
        Some("alice")
    );
    assert!(
        db.insert_token(&new_token(1, "alice", later, 1))
            .await
            .is_err(),
        "an unexpired token's hash is unique"
    );
}

async fn a_token_for_a_missing_user_is_refused(db: Backend) {
    assert!(
        db.insert_token(&new_token(1, "ghost", t0(), 1))
            .await
            .is_err()
    );
    assert_eq!(db.token_owner(&[1; 32], t0()).await.unwrap(), None);
}

async fn password_checks_are_counted_until_forgotten_or_cleared(db: Backend) {
    let forget = |at: chrono::DateTime<chrono::Utc>| at - Duration::minutes(15);
    // Unregistered names are counted too.
    for expected in 0..3 {
        let at = t0() + Duration::seconds(expected);
        assert_eq!(
            db.count_password_check("eve", at, forget(at))
                .await
                .unwrap(),
            expected as u32
        );
    }
    let at = t0() + Duration::seconds(2);
    assert_eq!(db.password_failures("eve", forget(at)).await.unwrap(), 3);
    assert_eq!(
        db.password_failures("bob", forget(at)).await.unwrap(),
        0,
        "per name"
    );
    let forgotten = at + Duration::minutes(15);
    assert_eq!(
        db.password_failures("eve", forget(forgotten))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.count_password_check("eve", forgotten, forget(forgotten))
            .await
            .unwrap(),
        0,
        "a forgotten count starts over"
    );
    assert_eq!(
        db.password_failures("eve", forget(forgotten))
            .await
            .unwrap(),
        1
    );
    db.clear_password_failures("eve").await.unwrap();
    assert_eq!(
        db.password_failures("eve", forget(forgotten))
            .await
            .unwrap(),
        0
    );
    db.clear_password_failures("nobody").await.unwrap();

    db.count_password_check("old", t0(), forget(t0()))
        .await
        .unwrap();
    db.count_password_check("new", forgotten, forget(forgotten))
        .await
        .unwrap();
    assert_eq!(db.purge_password_failures(t0()).await.unwrap(), 1);
    assert_eq!(
        db.password_failures("new", forget(forgotten))
            .await
            .unwrap(),
        1
    );
}

async fn concurrent_checks_each_get_their_own_count(db: Backend) {
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move {
                store
                    .count_password_check("eve", t0(), t0() - Duration::minutes(15))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (0..30).collect::<Vec<u32>>());
}
