//! A file database keeps its data across restarts.

use axum::http::StatusCode;
use p2p_chat_directory::{AppState, StoreError, app, open_store};
use serde_json::json;

use crate::support::{PASSWORD, call, fast_settings, key, login, register};

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-name.db");
    let url = format!("sqlite://{}", path.display());

    let store = open_store(&url).await.unwrap();
    let first = app(AppState::new(store.clone(), fast_settings()));
    register(&first, "rosa", 7000).await;
    let old_token = login(&first, "rosa").await;
    store.close().await;
    drop((first, store));
    assert!(path.exists(), "database file created");

    let store = open_store(&url).await.unwrap();
    let second = app(AppState::new(store.clone(), fast_settings()));
    let record = call(&second, "GET", "/clients/rosa", None, None).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.text);
    assert_eq!(record.json["port"], 7000);
    login(&second, "rosa").await;
    let reply = call(
        &second,
        "POST",
        "/clients/rosa/heartbeat",
        None,
        Some(&old_token),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::NO_CONTENT,
        "tokens survive too: {}",
        reply.text
    );
    let reply = call(
        &second,
        "POST",
        "/register",
        Some(json!({"username": "rosa", "password": PASSWORD, "host": "h", "public_key": key(1)})),
        None,
    )
    .await;
    reply.error(StatusCode::CONFLICT, "username_taken");
    store.close().await;
}

#[tokio::test]
async fn the_database_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("wal.db").display());
    let store = open_store(&url).await.unwrap();
    let app = app(AppState::new(store.clone(), fast_settings()));
    register(&app, "sam", 1).await;
    assert!(
        dir.path().join("wal.db-wal").exists(),
        "write-ahead log file"
    );
    store.close().await;
}

#[tokio::test]
async fn unopenable_databases_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}/no/such/dir/d.db", dir.path().display());
    let err = open_store(&missing).await.err().expect("missing directory");
    assert!(err.to_string().contains("unable to open"), "{err}");

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database, just some text").unwrap();
    let err = open_store(&format!("sqlite://{}", garbage.display()))
        .await
        .err()
        .expect("garbage");
    assert!(err.to_string().contains("not a database"), "{err}");

    // A PostgreSQL server that is not there is unavailable (so worth retrying), at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = open_store(&format!("postgres://user:pw@127.0.0.1:{port}/db"))
        .await
        .err()
        .expect("postgres");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = open_store("postgres://user:pw@127.0.0.1:notaport/db")
        .await
        .err()
        .expect("bad URL");
    assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
}

#[tokio::test]
async fn a_new_database_file_is_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("directory.db");
    let store = open_store(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    register(
        &app(AppState::new(store.clone(), fast_settings())),
        "rosa",
        7000,
    )
    .await;
    // The write-ahead log holds the same hashes until a checkpoint: same mode.
    for name in ["directory.db", "directory.db-wal"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
    store.close().await;
}
