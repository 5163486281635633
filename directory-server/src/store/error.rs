//! Why a store operation failed: [`StoreError`], and how driver errors map onto it.

/// The database driver's error inside a [`StoreError`] (sqlx's, or rusqlite's for the SQLite
/// backend's reads).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `insert_client` found the username registered already.
    #[error("username {0:?} is already registered")]
    UsernameTaken(String),
    /// `insert_client` was given an invite that is unknown, used up, expired or revoked;
    /// nothing was written.
    #[error("the invite code is unknown, used up, expired or revoked")]
    InviteRefused,
    /// The operation exists only on another backend (a backup on PostgreSQL); the message says
    /// what to use instead.
    #[error("{0}")]
    Unsupported(String),
    /// The database URL names a backend this build does not have.
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite://PATH, sqlite::memory: or \
         postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    UnsupportedScheme {
        /// The scheme found in the URL (text before the first `:`).
        scheme: String,
    },
    /// The database URL could not be parsed.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The database cannot be reached: pool closed or timed out, I/O error, crashed worker,
    /// busy beyond the timeout.
    #[error("database unavailable: {0}")]
    Unavailable(BoxError),
    /// The disk under the database is full (SQLite's `SQLITE_FULL`): the write was not made.
    /// It succeeds again once there is space; nothing needs restarting.
    #[error("the database's disk is full: {0}")]
    DiskFull(BoxError),
    /// The database answered with an error.
    #[error("{0}")]
    Backend(BoxError),
    /// The embedded migrations could not be applied.
    #[error("cannot apply database migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// A stored value is out of range (e.g. a port above 65535 written by another tool).
    #[error("corrupt data in database: {0}")]
    Corrupt(String),
}

// The sqlx error is part of the message rather than a `source()`: sqlx repeats its cause in its
// own message, so a reported chain would print every cause twice.
impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(err)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolClosed
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.into()),
            sqlx::Error::Database(ref db) => {
                let trouble = classify(db.as_ref());
                let cause = postgres_cause(db.as_ref()).unwrap_or_else(|| err.into());
                match trouble {
                    Some(Trouble::DiskFull) => StoreError::DiskFull(cause),
                    Some(Trouble::Unavailable) => StoreError::Unavailable(cause),
                    None => StoreError::Backend(cause),
                }
            }
            other => StoreError::Backend(other.into()),
        }
    }
}

/// PostgreSQL's error in words an operator can act on: its message and SQLSTATE, without the
/// line of the server's source that sqlx appends ("… at line 334"), and the next step for the
/// errors met when setting a directory up (28P01 wrong password, 3D000 no such database,
/// <https://www.postgresql.org/docs/current/errcodes-appendix.html>). `None` for other
/// databases.
fn postgres_cause(db: &dyn sqlx::error::DatabaseError) -> Option<BoxError> {
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    let hint = match pg.code() {
        "28P01" | "28000" => ": check the user and password in the database URL",
        "3D000" => ": create the database first (createdb), then start the directory",
        _ => "",
    };
    Some(
        format!(
            "PostgreSQL: {} (SQLSTATE {}){hint}",
            pg.message(),
            pg.code()
        )
        .into(),
    )
}

/// A database error that is not about the statement itself.
enum Trouble {
    DiskFull,
    Unavailable,
}

/// What a database error means for the caller, from its code:
/// - SQLite's `SQLITE_FULL` (13, in its primary or an extended form,
///   <https://www.sqlite.org/rescode.html#full>) and PostgreSQL's `53100` (disk_full) mean a
///   full disk;
/// - PostgreSQL's classes `08` (connection exception) and `57P` (operator intervention: the
///   server is shutting down or restarting) and `53300` (too many connections) mean the
///   database is unavailable for now
///   (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
fn classify(db: &dyn sqlx::error::DatabaseError) -> Option<Trouble> {
    let code = db.code()?;
    if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return match code.as_ref() {
            "53100" => Some(Trouble::DiskFull),
            "53300" => Some(Trouble::Unavailable),
            c if c.starts_with("08") || c.starts_with("57P") => Some(Trouble::Unavailable),
            _ => None,
        };
    }
    code.parse::<i32>()
        .ok()
        .filter(|code| code & 0xff == 13)
        .map(|_| Trouble::DiskFull)
}
