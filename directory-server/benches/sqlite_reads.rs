//! Benchmark: the read paths considered for the directory's SQLite backend, side by side on
//! one database file of 1,000,000 users (`BENCH_USERS` to change), in one process and run
//! (docs/decisions/0002-sqlite-reads.md). 64 tasks on a two-thread tokio runtime — as many as
//! the HTTP server's workers — look up random users (and then read pages of 100) for
//! `BENCH_SECS` seconds (default 3) through:
//!
//! 1. sqlx's pool as the directory used it (a worker thread per connection hands each row
//!    back through a channel), the baseline;
//! 2. the same with memory-mapped I/O (`PRAGMA mmap_size`);
//! 3. the same page as one row (SQLite's `json_group_array`), listing only;
//! 4. plain SQLite connections (rusqlite, cached prepared statements) on tokio's blocking
//!    pool, one hop per query;
//! 5. the same connections used directly on the async worker (no hop), memory-mapped.
//!
//! Prints queries per second and the ratio to the baseline; no thresholds.
//!
//! Run: `cargo bench -p p2p-chat-directory --bench sqlite_reads`

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// The columns of a client row, as the store reads them.
const COLUMNS: &str = "username, host, port, public_key, observed_host, registered_at, \
                       last_seen, heartbeat_at, candidates, relay_only";

type Row = (
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    String,
    bool,
);

/// A client row as `json_array` writes it (the flag as 0 or 1).
type JsonRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    String,
    i64,
);

/// Memory map of 1 GiB: the whole file of a million users and more.
const MMAP: &str = "1073741824";

/// Concurrent tasks.
const TASKS: usize = 64;

fn users() -> u64 {
    std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn seconds() -> u64 {
    std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// A small xorshift, seeded per task: which user to read next.
struct Draw(u64);

impl Draw {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        1 + self.0 % below
    }
}

fn name(i: u64) -> String {
    format!("user{i:07}")
}

/// Creates the directory's schema with sqlx's migrations (by opening the store) and `users`
/// accounts.
async fn seed(path: &std::path::Path, users: u64) {
    let url = format!("sqlite://{}", path.display());
    let store = p2p_chat_directory::open_store(&url)
        .await
        .expect("open store");
    store.close().await;
    let mut conn = rusqlite::Connection::open(path).expect("open");
    let tx = conn.transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO clients (username, password_hash, host, port, registered_at, \
                 last_seen, public_key, candidates, relay_only) \
                 VALUES (?, '$2b$12$hash', '192.0.2.1', 40000, 0, 0, ?, '', 0)",
            )
            .expect("prepare");
        let key = "ab".repeat(32);
        for i in 1..=users {
            insert.execute((name(i), &key)).expect("insert");
        }
    }
    tx.commit().expect("commit");
    conn.execute_batch("ANALYZE").expect("analyze");
}

/// Runs `TASKS` tasks calling `one` with a fresh draw until the time is up; operations per
/// second.
async fn drive<F, Fut>(one: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let one = Arc::new(one);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let users = users();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (one, stop, done) = (one.clone(), stop.clone(), done.clone());
            tokio::spawn(async move {
                let mut draw = Draw(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
                while !stop.load(Ordering::Relaxed) {
                    one(draw.next(users)).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    // A request ends in socket I/O: give the other tasks (and the timer) a turn.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds())).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        task.await.expect("task");
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

async fn sqlx_pool(path: &std::path::Path, mmap: bool) -> SqlitePool {
    let mut options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("options")
        .read_only(true);
    if mmap {
        options = options.pragma("mmap_size", MMAP);
    }
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("pool")
}

/// Plain connections, taken and given back under a lock; one more is opened whenever none is
/// free.
#[derive(Clone)]
struct Plain(Arc<(std::path::PathBuf, Mutex<Vec<rusqlite::Connection>>)>);

impl Plain {
    fn open(path: &std::path::Path) -> Self {
        Self(Arc::new((path.to_owned(), Mutex::new(Vec::new()))))
    }

    fn connect(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            &self.0.0,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("open");
        conn.pragma_update(None, "mmap_size", MMAP).expect("mmap");
        conn
    }

    fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> T) -> T {
        let free = self.0.1.lock().expect("lock").pop();
        let conn = free.unwrap_or_else(|| self.connect());
        let out = f(&conn);
        self.0.1.lock().expect("lock").push(conn);
        out
    }

    fn lookup(&self, i: u64) -> Option<Row> {
        self.with(|conn| {
            let mut statement = conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM clients WHERE username = ?"))
                .expect("prepare");
            statement
                .query_row([name(i)], row)
                .map(Some)
                .unwrap_or(None)
        })
    }

    fn page(&self, i: u64) -> Vec<Row> {
        self.with(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM clients WHERE username > ? ORDER BY username LIMIT 100"
                ))
                .expect("prepare");
            statement
                .query_map([name(i)], row)
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        })
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn report(what: &str, results: &[(&str, f64)]) {
    let base = results[0].1;
    println!("\n{what}");
    for (name, rate) in results {
        println!("  {name:<58} {rate:>10.0} /s  {:>5.2}x", rate / base);
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("directory.db");
    let users = users();
    runtime.block_on(async {
        let started = Instant::now();
        seed(&path, users).await;
        println!(
            "{users} users seeded in {:.1} s; {TASKS} tasks, {} s per figure",
            started.elapsed().as_secs_f64(),
            seconds()
        );
        let lookup_sql: &'static str =
            Box::leak(format!("SELECT {COLUMNS} FROM clients WHERE username = ?").into_boxed_str());
        let page_sql: &'static str = Box::leak(
            format!("SELECT {COLUMNS} FROM clients WHERE username > ? ORDER BY username LIMIT 100")
                .into_boxed_str(),
        );
        let json_sql: &'static str = Box::leak(
            format!(
                "SELECT json_group_array(json_array({COLUMNS}) ORDER BY username) FROM \
                 (SELECT {COLUMNS} FROM clients WHERE username > ? ORDER BY username LIMIT 100)"
            )
            .into_boxed_str(),
        );
        let mut lookups = Vec::new();
        let mut pages = Vec::new();
        for (label, mmap) in [
            ("1. sqlx pool", false),
            ("2. sqlx pool, memory-mapped", true),
        ] {
            let pool = sqlx_pool(&path, mmap).await;
            let p = pool.clone();
            lookups.push((
                label,
                drive(move |i| {
                    let p = p.clone();
                    async move {
                        let found: Option<Row> = sqlx::query_as(lookup_sql)
                            .bind(name(i))
                            .fetch_optional(&p)
                            .await
                            .expect("lookup");
                        assert!(found.is_some());
                    }
                })
                .await,
            ));
            let p = pool.clone();
            pages.push((
                label,
                drive(move |i| {
                    let p = p.clone();
                    async move {
                        let rows: Vec<Row> = sqlx::query_as(page_sql)
                            .bind(name(i.min(users - 100)))
                            .fetch_all(&p)
                            .await
                            .expect("page");
                        assert_eq!(rows.len(), 100);
                    }
                })
                .await,
            ));
            if mmap {
                let p = pool.clone();
                pages.push((
                    "3. sqlx pool, memory-mapped, the page as one JSON row",
                    drive(move |i| {
                        let p = p.clone();
                        async move {
                            let (json,): (String,) = sqlx::query_as(json_sql)
                                .bind(name(i.min(users - 100)))
                                .fetch_one(&p)
                                .await
                                .expect("page");
                            let rows: Vec<JsonRow> =
                                serde_json::from_str(&json).expect("JSON page");
                            assert_eq!(rows.len(), 100);
                        }
                    })
                    .await,
                ));
            }
            pool.close().await;
        }
        let plain = Plain::open(&path);
        let p = plain.clone();
        lookups.push((
            "4. rusqlite on the blocking pool, memory-mapped",
            drive(move |i| {
                let p = p.clone();
                async move {
                    let found = tokio::task::spawn_blocking(move || p.lookup(i))
                        .await
                        .expect("blocking");
                    assert!(found.is_some());
                }
            })
            .await,
        ));
        let p = plain.clone();
        pages.push((
            "4. rusqlite on the blocking pool, memory-mapped",
            drive(move |i| {
                let p = p.clone();
                async move {
                    let rows = tokio::task::spawn_blocking(move || p.page(i.min(users - 100)))
                        .await
                        .expect("blocking");
                    assert_eq!(rows.len(), 100);
                }
            })
            .await,
        ));
        let p = plain.clone();
        lookups.push((
            "5. rusqlite on the async worker, memory-mapped",
            drive(move |i| {
                let p = p.clone();
                async move {
                    assert!(p.lookup(i).is_some());
                }
            })
            .await,
        ));
        let p = plain.clone();
        pages.push((
            "5. rusqlite on the async worker, memory-mapped",
            drive(move |i| {
                let p = p.clone();
                async move {
                    assert_eq!(p.page(i.min(users - 100)).len(), 100);
                }
            })
            .await,
        ));
        report("Lookup of one user (GET /clients/{username})", &lookups);
        report("Page of 100 users (GET /clients?limit=100)", &pages);
    });
}
