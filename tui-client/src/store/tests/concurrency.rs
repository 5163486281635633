//! The store's file under writers that overlap, as the chat window's tasks write it.

use super::*;

/// Writers that overlap (the window storing a flood while an outbox pump records what it
/// sent and the user reads) all succeed: none fails with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_writers_on_a_file_store_never_see_database_is_locked() {
    let home = tempfile::tempdir().unwrap();
    let store = LocalStore::open(home.path()).await.unwrap();
    let rounds = 200u128;
    let incoming = {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..rounds {
                let batch: Vec<Incoming> = (0..20)
                    .map(|n| Incoming {
                        peer: "carol".into(),
                        id: id(round * 100 + n),
                        sent_at_ms: 1,
                        text: "still here".into(),
                        reply_to: None,
                    })
                    .collect();
                store.insert_incoming_many(&batch).await?;
            }
            Ok::<_, StoreError>(())
        })
    };
    let outgoing = {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..rounds {
                let ids: Vec<MessageId> = (0..5).map(|n| id(1_000_000 + round * 10 + n)).collect();
                for id in &ids {
                    store.insert_outgoing("stuck", *id, 1, "x").await?;
                }
                store.outbox_after("stuck", 0, 64).await?;
                store
                    .set_delivery_many("stuck", &ids, Delivery::Sent)
                    .await?;
                store.set_delivered("stuck", &ids[..2]).await?;
            }
            Ok::<_, StoreError>(())
        })
    };
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..rounds {
                store.conversations().await?;
                store
                    .mark_read("carol", i64::try_from(round).unwrap())
                    .await?;
            }
            Ok::<_, StoreError>(())
        })
    };
    for (task, what) in [
        (incoming, "incoming"),
        (outgoing, "outgoing"),
        (reader, "reader"),
    ] {
        if let Err(e) = task.await.unwrap() {
            panic!("{what}: {e}");
        }
    }
}
