//! Invites, disabled accounts, the operator's view of accounts and the mailbox, backups.

use std::sync::Arc;

use chrono::Duration;
use p2p_chat_directory::StoreError;
use p2p_chat_directory::store::{DepositOutcome, NewInvite};

use crate::mailbox::{QUOTA, mail};
use crate::{Backend, conformance, new_client, new_token, t0};

conformance!(
    an_invite_is_used_up_with_the_registration,
    expired_revoked_and_unknown_invites_register_nobody,
    a_taken_name_does_not_use_up_the_invite,
    concurrent_registrations_share_the_last_use_of_an_invite,
    a_disabled_account_is_absent_to_lookups_tokens_and_mail,
    accounts_and_mailbox_stats_count_what_is_unexpired,
    a_backup_is_a_database_with_the_same_accounts,
);

fn invite(byte: u8, max_uses: Option<u32>, days: Option<i64>) -> NewInvite {
    NewInvite {
        code_hash: [byte; 32],
        note: format!("note {byte}"),
        max_uses,
        created_at: t0(),
        expires_at: days.map(|d| t0() + Duration::days(d)),
    }
}

fn invited(name: &str, byte: u8, at_days: i64) -> p2p_chat_directory::store::NewClient {
    let mut client = new_client(name, t0() + Duration::days(at_days));
    client.invite = Some([byte; 32]);
    client
}

async fn an_invite_is_used_up_with_the_registration(db: Backend) {
    let id = db.insert_invite(&invite(1, Some(2), None)).await.unwrap();
    db.insert_client(&invited("alice", 1, 0)).await.unwrap();
    db.insert_client(&invited("bob", 1, 0)).await.unwrap();
    assert!(matches!(
        db.insert_client(&invited("carol", 1, 0)).await,
        Err(StoreError::InviteRefused)
    ));
    assert!(db.client("carol").await.unwrap().is_none());
    let rows = db.invites().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].id, rows[0].uses, rows[0].max_uses),
        (id, 2, Some(2))
    );
    assert_eq!(rows[0].note, "note 1");
    assert!(!rows[0].usable(t0()));
    // Without a limit, a code serves any number.
    db.insert_invite(&invite(2, None, None)).await.unwrap();
    for name in ["dave", "erin", "frank"] {
        db.insert_client(&invited(name, 2, 0)).await.unwrap();
    }
}

async fn expired_revoked_and_unknown_invites_register_nobody(db: Backend) {
    db.insert_invite(&invite(1, Some(5), Some(7)))
        .await
        .unwrap();
    db.insert_client(&invited("alice", 1, 6)).await.unwrap();
    assert!(matches!(
        db.insert_client(&invited("bob", 1, 7)).await,
        Err(StoreError::InviteRefused)
    ));
    let id = db.insert_invite(&invite(2, Some(5), None)).await.unwrap();
    assert!(db.revoke_invite(id, t0()).await.unwrap());
    assert!(!db.revoke_invite(id, t0()).await.unwrap(), "revoked once");
    assert!(!db.revoke_invite(id + 100, t0()).await.unwrap(), "unknown");
    assert!(matches!(
        db.insert_client(&invited("carol", 2, 0)).await,
        Err(StoreError::InviteRefused)
    ));
    assert!(matches!(
        db.insert_client(&invited("dave", 9, 0)).await,
        Err(StoreError::InviteRefused)
    ));
    let rows = db.invites().await.unwrap();
    assert_eq!(rows[1].revoked_at, Some(t0()));
    assert_eq!(rows.iter().map(|r| r.uses).collect::<Vec<_>>(), [1, 0]);
}

async fn a_taken_name_does_not_use_up_the_invite(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    db.insert_invite(&invite(1, Some(1), None)).await.unwrap();
    assert!(matches!(
        db.insert_client(&invited("alice", 1, 0)).await,
        Err(StoreError::UsernameTaken(_))
    ));
    assert_eq!(db.invites().await.unwrap()[0].uses, 0);
    db.insert_client(&invited("bob", 1, 0)).await.unwrap();
}

async fn concurrent_registrations_share_the_last_use_of_an_invite(db: Backend) {
    db.insert_invite(&invite(1, Some(3), None)).await.unwrap();
    let store = Arc::clone(&db.store);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .insert_client(&invited(&format!("user{i}"), 1, 0))
                    .await
            })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => made += 1,
            Err(StoreError::InviteRefused) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(made, 3);
    assert_eq!(db.invites().await.unwrap()[0].uses, 3);
    assert_eq!(db.list_clients(None, 100).await.unwrap().len(), 3);
}

async fn a_disabled_account_is_absent_to_lookups_tokens_and_mail(db: Backend) {
    for name in ["alice", "bob"] {
        db.insert_client(&new_client(name, t0())).await.unwrap();
    }
    db.insert_token(&new_token(7, "bob", t0(), 30))
        .await
        .unwrap();
    db.touch("bob", t0(), None, true).await.unwrap();
    assert!(db.set_disabled("bob", true).await.unwrap());
    assert!(!db.set_disabled("nobody", true).await.unwrap());
    assert_eq!(db.client("bob").await.unwrap(), None);
    let names: Vec<_> = db
        .list_clients(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.username)
        .collect();
    assert_eq!(names, ["alice"]);
    assert_eq!(db.token_owner(&[7; 32], t0()).await.unwrap(), None);
    assert_eq!(
        db.disabled_token_owner(&[7; 32], t0())
            .await
            .unwrap()
            .as_deref(),
        Some("bob"),
        "the token's holder may learn why"
    );
    assert_eq!(db.disabled_token_owner(&[8; 32], t0()).await.unwrap(), None);
    // A heartbeat (a signaling connection opened before) neither counts nor revives it: its
    // false ends that connection.
    assert!(!db.touch("bob", t0(), None, true).await.unwrap());
    assert_eq!(
        db.deposit_mail(&mail("bob", 10, t0()), QUOTA)
            .await
            .unwrap(),
        DepositOutcome::UnknownRecipient
    );
    assert!(
        matches!(
            db.insert_client(&new_client("bob", t0())).await,
            Err(StoreError::UsernameTaken(_))
        ),
        "the name stays taken"
    );
    let account = db
        .account("bob", t0())
        .await
        .unwrap()
        .expect("the operator sees it");
    assert!(account.disabled);
    assert_eq!(account.heartbeat_at, None, "disabling signs it off");
    // Enabled again, its unexpired login works again.
    assert!(db.set_disabled("bob", false).await.unwrap());
    assert_eq!(db.disabled_token_owner(&[7; 32], t0()).await.unwrap(), None);
    assert_eq!(
        db.token_owner(&[7; 32], t0()).await.unwrap().as_deref(),
        Some("bob")
    );
    assert!(db.client("bob").await.unwrap().is_some());
}

async fn accounts_and_mailbox_stats_count_what_is_unexpired(db: Backend) {
    for name in ["carol", "alice", "bob"] {
        db.insert_client(&new_client(name, t0())).await.unwrap();
    }
    db.insert_token(&new_token(1, "alice", t0(), 30))
        .await
        .unwrap();
    db.insert_token(&new_token(2, "alice", t0() - Duration::days(40), 30))
        .await
        .unwrap();
    for size in [10, 20] {
        db.deposit_mail(&mail("alice", size, t0()), QUOTA)
            .await
            .unwrap();
    }
    db.deposit_mail(&mail("bob", 5, t0() - Duration::days(2)), QUOTA)
        .await
        .unwrap();
    db.set_disabled("carol", true).await.unwrap();

    let all = db.accounts("", 10, t0()).await.unwrap();
    let names: Vec<_> = all.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(
        names,
        ["alice", "bob", "carol"],
        "disabled ones too, in byte order"
    );
    assert_eq!(
        (all[0].logins, all[0].mail_messages, all[0].mail_bytes),
        (1, 2, 30)
    );
    assert_eq!(
        (all[1].logins, all[1].mail_messages),
        (0, 0),
        "bob's mail expired"
    );
    assert!(all[2].disabled && !all[0].disabled);
    let page = db.accounts("alice", 1, t0()).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].username, "bob");
    assert_eq!(db.account("nobody", t0()).await.unwrap(), None);

    let counts = db.user_counts(t0() - Duration::seconds(60)).await.unwrap();
    assert_eq!(
        (counts.registered, counts.disabled, counts.online),
        (3, 1, 0)
    );
    db.touch("alice", t0(), None, true).await.unwrap();
    db.touch("bob", t0() - Duration::seconds(61), None, true)
        .await
        .unwrap();
    assert!(!db.touch("carol", t0(), None, true).await.unwrap());
    let counts = db.user_counts(t0() - Duration::seconds(60)).await.unwrap();
    assert_eq!(
        counts.online, 1,
        "bob's heartbeat is too old, carol is disabled"
    );

    let stats = db.mailbox_stats(t0()).await.unwrap();
    assert_eq!(
        (stats.messages, stats.bytes, stats.recipients, stats.expired),
        (2, 30, 1, 1)
    );
    assert_eq!(stats.oldest, Some(t0()));
}

async fn a_backup_is_a_database_with_the_same_accounts(db: Backend) {
    db.insert_client(&new_client("alice", t0())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    if db.is_sqlite() {
        db.backup(&path).await.unwrap();
        let url = format!("sqlite://{}", path.display());
        let copy = p2p_chat_directory::open_store(&url).await.unwrap();
        assert_eq!(
            copy.client("alice").await.unwrap(),
            db.client("alice").await.unwrap()
        );
        // It never overwrites.
        assert!(db.backup(&path).await.is_err());
    } else {
        match db.backup(&path).await {
            Err(StoreError::Unsupported(message)) => assert!(message.contains("pg_dump")),
            other => panic!("{other:?}"),
        }
        assert!(!path.exists());
    }
}
