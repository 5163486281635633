//! `p2p-chat-directory migrate-to URL`, the real binary: a SQLite directory copied into
//! PostgreSQL answers exactly as before.

use std::process::Command;

use chrono::Duration;
use p2p_chat_directory::open_store;
use p2p_chat_directory::store::{AddressUpdate, DepositOutcome, MailboxQuota, NewInvite};

use crate::mailbox::{QUOTA, mail};
use crate::{new_client, new_token, t0};

fn migrate(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_p2p-chat-directory"))
        .args(args)
        .output()
        .expect("run p2p-chat-directory");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_directory_moves_to_postgresql_whole() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("directory.db").display());
    let old = open_store(&sqlite_url).await.unwrap();
    // Now is after t0 + 1 day: what expired then is left behind.
    for name in ["alice", "bob", "a_b", "a-b"] {
        old.insert_client(&new_client(name, t0())).await.unwrap();
    }
    old.update_address(&AddressUpdate {
        username: "bob".into(),
        host: "192.0.2.9".into(),
        port: 4000,
        public_key: None,
        observed_host: Some("203.0.113.9".into()),
        candidates: Some(vec!["192.0.2.10:4000".into()]),
        relay_only: Some(true),
        now: t0() + Duration::seconds(5),
    })
    .await
    .unwrap();
    let far = chrono::Utc::now() + Duration::days(30);
    old.insert_token(&new_token(1, "alice", far, 1))
        .await
        .unwrap();
    old.insert_token(&new_token(2, "alice", t0(), 1))
        .await
        .unwrap();
    let mut kept = mail("alice", 300, far);
    kept.expires_at = far + Duration::days(1);
    old.deposit_mail(&kept, QUOTA).await.unwrap();
    old.deposit_mail(&mail("bob", 200, t0()), QUOTA)
        .await
        .unwrap();
    // An invite used once, a revoked one, and an account the operator disabled.
    let invite = |byte: u8| NewInvite {
        code_hash: [byte; 32],
        note: format!("for {byte}"),
        max_uses: Some(2),
        created_at: t0(),
        expires_at: None,
    };
    old.insert_invite(&invite(7)).await.unwrap();
    let revoked = old.insert_invite(&invite(8)).await.unwrap();
    old.revoke_invite(revoked, t0()).await.unwrap();
    let mut invited = new_client("carol", t0());
    invited.invite = Some([7; 32]);
    old.insert_client(&invited).await.unwrap();
    old.set_disabled("a_b", true).await.unwrap();
    let before = old.list_clients(None, 100).await.unwrap();
    let accounts = old.accounts("", 100, far).await.unwrap();
    let invites = old.invites().await.unwrap();
    old.close().await;

    let pg_url = crate::postgres::database();
    let (ok, out, err) = migrate(&["--database", &sqlite_url, "migrate-to", &pg_url]);
    assert!(ok, "{err}");
    assert!(
        out.contains("accounts 5, login tokens 1, mailbox messages 1, invites 2")
            && out.contains(&format!("--database '{pg_url}'")),
        "{out}"
    );

    let new = open_store(&pg_url).await.unwrap();
    assert_eq!(new.list_clients(None, 100).await.unwrap(), before);
    assert_eq!(new.accounts("", 100, far).await.unwrap(), accounts);
    assert_eq!(new.invites().await.unwrap(), invites);
    // New invites are numbered after the copied ones.
    assert_eq!(new.insert_invite(&invite(9)).await.unwrap(), revoked + 1);
    assert_eq!(
        new.password_hash("bob").await.unwrap().as_deref(),
        Some("$2b$04$hash-of-bob")
    );
    assert_eq!(
        new.token_owner(&[1; 32], far).await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(
        new.token_owner(&[2; 32], t0()).await.unwrap(),
        None,
        "expired: left"
    );
    let fetched = new.fetch_mail("alice", None, 10, far).await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!((fetched[0].id, &fetched[0].sealed), (kept.id, &kept.sealed));
    assert!(
        new.fetch_mail("bob", None, 10, t0())
            .await
            .unwrap()
            .is_empty()
    );
    // The copied message counts toward the whole mailbox's total.
    let tight = MailboxQuota {
        max_total_bytes: 400,
        ..QUOTA
    };
    assert_eq!(
        new.deposit_mail(&mail("bob", 101, far), tight)
            .await
            .unwrap(),
        DepositOutcome::StorageFull
    );
    new.close().await;

    // deploy.md's backup: pg_dump while it runs, pg_restore into a new database.
    let dump = dir.path().join("directory.dump");
    let restored = crate::postgres::database();
    for (program, args) in [
        (
            "pg_dump",
            vec![
                "--format=custom".to_owned(),
                format!("--file={}", dump.display()),
                crate::postgres::name_of(&pg_url).to_owned(),
            ],
        ),
        (
            "pg_restore",
            vec![
                format!("--dbname={}", crate::postgres::name_of(&restored)),
                dump.display().to_string(),
            ],
        ),
    ] {
        let out = crate::postgres::tool(program).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let copy = open_store(&restored).await.unwrap();
    assert_eq!(copy.list_clients(None, 100).await.unwrap(), before);
    assert_eq!(
        copy.fetch_mail("alice", None, 10, far).await.unwrap(),
        fetched
    );
    copy.close().await;

    // Never into a directory that has accounts; the SQLite file is untouched.
    let (ok, _, err) = migrate(&["migrate-to", &pg_url, "--database", &sqlite_url]);
    assert!(!ok);
    assert!(err.contains("already has 5 accounts"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let old = open_store(&sqlite_url).await.unwrap();
    assert_eq!(old.list_clients(None, 100).await.unwrap(), before);
}

#[test]
fn migrate_to_says_what_is_wrong_with_its_databases() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let cases = [
        (
            vec!["--database", &missing, "migrate-to", "postgres://h/db"],
            "no SQLite database at",
        ),
        (
            vec![
                "--database",
                "postgres://h/db",
                "migrate-to",
                "postgres://h/db2",
            ],
            "--database must be sqlite://PATH",
        ),
        (
            vec!["--database", &missing, "migrate-to", "sqlite://x.db"],
            "the target must be postgres://",
        ),
    ];
    for (args, expected) in cases {
        let (ok, _, err) = migrate(&args);
        assert!(!ok, "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert!(
        !dir.path().join("nope.db").exists(),
        "no empty file left behind"
    );
}

#[test]
fn a_missing_postgresql_database_is_named_with_the_next_step() {
    let url = crate::postgres::database();
    let missing = format!(
        "{}nosuchdb",
        url.strip_suffix(crate::postgres::name_of(&url)).unwrap()
    );
    let (ok, _, err) = migrate(&["--listen", "127.0.0.1:0", "--database", &missing]);
    assert!(!ok);
    assert!(
        err.contains("database \"nosuchdb\" does not exist (SQLSTATE 3D000): create the database"),
        "{err}"
    );
    assert!(!err.contains(" at line "), "{err}");
}
