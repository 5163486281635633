//! Login tokens: stored as hashes, expiring, deleted on logout, purged when stale.

use chrono::Duration;

use crate::{Backend, conformance, new_client, new_token, t0};

conformance!(
    a_token_names_its_owner_until_it_expires,
    a_logout_deletes_one_token,
    expired_tokens_are_purged_when_the_owner_logs_in_again,
    a_token_for_a_missing_user_is_refused,
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
