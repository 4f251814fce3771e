//! Storage: the embedded PostgreSQL cluster, the connection pool, migrations.
//!
//! Invariant: database work never runs on an actix worker thread. [`Db::run`] moves it to tokio's
//! blocking pool, and the r2d2 pool size bounds how many such threads hold a connection at once.

pub mod cluster;
pub mod notify;
pub mod schema;

use std::time::Duration;

use diesel::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type Conn = PooledConnection<ConnectionManager<PgConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database connection pool: {0}")]
    Pool(String),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("migrations: {0}")]
    Migration(String),
    #[error("blocking task failed: {0}")]
    Join(String),
    #[error("ledger: {0}")]
    Ledger(#[from] crate::ledger::db::LedgerDbError),
}

/// Runs pending migrations on one connection; returns the versions applied.
pub fn migrate(conn: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .map_err(|e| StoreError::Migration(e.to_string()))
}

pub fn connect(url: &str) -> Result<PgConnection, StoreError> {
    use diesel::Connection;
    Ok(PgConnection::establish(url)?)
}

/// The request-side database handle.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    url: std::sync::Arc<str>,
    feed: std::sync::Arc<notify::Feed>,
}

impl Db {
    pub fn new(url: &str, size: u32) -> Result<Db, StoreError> {
        let feed = std::sync::Arc::new(notify::Feed::default());
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(notify::Listen(feed.clone())))
            .build(ConnectionManager::<PgConnection>::new(url))
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(Db {
            pool,
            url: url.into(),
            feed,
        })
    }

    /// The change notifications of this database (see [`notify`]).
    pub fn feed(&self) -> &notify::Feed {
        &self.feed
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let feed = self.feed.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StoreError::Pool(e.to_string()))?;
            // Changes committed elsewhere since this connection was last used, then the ones
            // `f` committed itself: subscribers hear of them before this returns.
            feed.drain(&mut conn);
            let out = f(&mut conn);
            feed.drain(&mut conn);
            out
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?
    }

    /// The connection string (for work that needs its own connections, like `ledger verify`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// (connections open, idle) for `/metrics`.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }
}
