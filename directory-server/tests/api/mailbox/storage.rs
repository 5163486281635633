//! What the directory's database file holds: sealed bytes exactly as deposited, never the
//! plaintext or the sender; and the background purge of expired messages.

use std::time::Duration;

use axum::http::StatusCode;
use p2p_chat_directory::mailbox::MailboxLimits;
use p2p_chat_directory::{AppState, app, open_store, run};
use sqlx::sqlite::SqlitePoolOptions;
use tokio::net::TcpListener;

use super::{accounts, deposited, fetch_all, with_limits};
use crate::support::eventually;

/// The client's sealing: a one-way Noise X message to the recipient's static key.
const NOISE_X: &str = "Noise_X_25519_ChaChaPoly_BLAKE2s";

/// Only the test ever holds this text in the clear.
const MARKER: &[u8] = b"PLAINTEXT-MARKER-7f3c9a: meet me at the usual place";

fn keypair() -> snow::Keypair {
    snow::Builder::new(NOISE_X.parse().unwrap())
        .generate_keypair()
        .unwrap()
}

fn seal(sender: &snow::Keypair, recipient_public: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut noise = snow::Builder::new(NOISE_X.parse().unwrap())
        .local_private_key(&sender.private)
        .unwrap()
        .remote_public_key(recipient_public)
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut sealed = vec![0; 65_535];
    let len = noise.write_message(plaintext, &mut sealed).unwrap();
    sealed.truncate(len);
    sealed
}

/// (plaintext, the sender's static public key).
fn open(recipient: &snow::Keypair, sealed: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut noise = snow::Builder::new(NOISE_X.parse().unwrap())
        .local_private_key(&recipient.private)
        .unwrap()
        .build_responder()
        .unwrap();
    let mut plaintext = vec![0; sealed.len()];
    let len = noise.read_message(sealed, &mut plaintext).unwrap();
    plaintext.truncate(len);
    let sender = noise.get_remote_static().unwrap().to_vec();
    (plaintext, sender)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The database file and its write-ahead log, concatenated.
fn database_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

#[tokio::test]
async fn the_database_file_holds_the_sealed_bytes_and_never_the_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("directory.db");
    let url = format!("sqlite://{}", path.display());
    let store = open_store(&url).await.unwrap();
    let app = app(AppState::new(
        store.clone(),
        with_limits(MailboxLimits::default()),
    ));
    let [alice, bob] = accounts(&app, ["alice", "bob"]).await;
    let (alice_keys, bob_keys) = (keypair(), keypair());

    let sealed = seal(&alice_keys, &bob_keys.public, MARKER);
    assert!(!contains(&sealed, MARKER));
    let id = deposited(&app, &alice, "bob", &sealed).await;
    // A control: bytes deposited unsealed are visible in the file, so the scan below works.
    let control = b"CONTROL-UNSEALED-41d2";
    deposited(&app, &alice, "bob", control).await;

    let stored: Vec<u8> = {
        let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
        let blob = sqlx::query_scalar("SELECT sealed FROM mailbox WHERE id = ?")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
        // No column could name the depositor.
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info('mailbox')")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            columns,
            [
                "id",
                "recipient",
                "sealed",
                "size",
                "deposited_at",
                "expires_at"
            ]
        );
        pool.close().await;
        blob
    };
    assert_eq!(stored, sealed, "stored byte for byte");

    let on_disk = database_bytes(&path);
    assert!(contains(&on_disk, control), "the scan sees stored bytes");
    assert!(contains(&on_disk, &sealed[sealed.len() - 32..]));
    assert!(
        !contains(&on_disk, MARKER),
        "plaintext reached the database file"
    );
    assert!(!contains(&on_disk, b"PLAINTEXT-MARKER"));
    assert!(
        !contains(&on_disk, &alice_keys.public),
        "the sender's key is sealed too"
    );

    // Only the recipient can open what it fetches, and learns who sealed it.
    let mail = fetch_all(&app, &bob).await;
    assert_eq!(mail[0], (id, sealed));
    let (plaintext, sender) = open(&bob_keys, &mail[0].1);
    assert_eq!(
        (plaintext.as_slice(), sender),
        (MARKER, alice_keys.public.clone())
    );

    store.close().await;
    let checkpointed = database_bytes(&path);
    assert!(contains(&checkpointed, control));
    assert!(!contains(&checkpointed, MARKER));
}

#[tokio::test]
async fn a_running_directory_purges_expired_messages_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("purge.db").display());
    let store = open_store(&url).await.unwrap();
    let limits = MailboxLimits {
        ttl: Duration::from_millis(1),
        ..MailboxLimits::default()
    };
    let state = AppState::new(store.clone(), with_limits(limits));
    let router = app(state.clone());
    let [alice, _bob] = accounts(&router, ["alice", "bob"]).await;
    deposited(&router, &alice, "bob", b"soon gone").await;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, state, async {
        stopped.await.ok();
    }));
    // Nothing reads bob's mailbox: only the background purge can delete the row.
    let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
    eventually("the expired message is purged", || async {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mailbox")
            .fetch_one(&pool)
            .await
            .unwrap();
        rows == 0
    })
    .await;
    pool.close().await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    store.close().await;
    let reply = crate::support::call(&router, "GET", "/mailbox", None, Some(&alice)).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "store closed"
    );
}
