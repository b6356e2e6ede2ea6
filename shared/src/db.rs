//! The PostgreSQL pool and the embedded migrations.

use std::time::Duration;

use sqlx::{PgPool, postgres::PgPoolOptions};

use crate::config::DatabaseSettings;

/// The migrations of `migrations/`, compiled into every binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Failures while setting up the database.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    /// The server could not be reached or refused the connection.
    #[error("could not connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed; the database is left at the last migration that succeeded.
    #[error("could not run database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Builds a pool lazily: the process starts even while Postgres is down, and each use waits at
/// most `acquire_timeout` for a connection, so a request fails fast instead of hanging.
pub fn lazy_pool(settings: &DatabaseSettings) -> Result<PgPool, DbSetupError> {
    PgPoolOptions::new()
        .max_connections(settings.database_max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(settings.url())
        .map_err(DbSetupError::Connect)
}

/// Connects (failing if Postgres is unreachable) and, when enabled, runs pending migrations.
pub async fn connect_and_migrate(settings: &DatabaseSettings) -> Result<PgPool, DbSetupError> {
    let pool = PgPoolOptions::new()
        .max_connections(settings.database_max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .connect(settings.url())
        .await
        .map_err(DbSetupError::Connect)?;
    if settings.run_migrations {
        migrate(&pool).await?;
    }
    Ok(pool)
}

/// Applies pending migrations. sqlx takes a Postgres advisory lock for the duration, so processes
/// starting together apply each migration once.
pub async fn migrate(pool: &PgPool) -> Result<(), DbSetupError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// A database of its own for a test or a benchmark run, on the server of `admin_url`, named
/// `<prefix>_<uuid>`: created empty (no migrations), dropped with [`ScratchDatabase::drop`].
#[derive(Debug, Clone)]
pub struct ScratchDatabase {
    /// Its name.
    pub name: String,
    /// Its URL (the admin URL with the database replaced, query kept).
    pub url: String,
    admin_url: String,
}

impl ScratchDatabase {
    /// Creates it.
    pub async fn create(admin_url: &str, prefix: &str) -> Result<Self, sqlx::Error> {
        use sqlx::Connection;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url).await?;
        // Runtime SQL: the database's name is an identifier made here, which no bind can carry.
        sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let (base, rest) = admin_url.rsplit_once('/').unwrap_or((admin_url, ""));
        let query = rest
            .split_once('?')
            .map(|(_, q)| format!("?{q}"))
            .unwrap_or_default();
        Ok(Self {
            url: format!("{base}/{name}{query}"),
            name,
            admin_url: admin_url.to_owned(),
        })
    }

    /// Drops it, closing whatever connections are left.
    pub async fn drop(&self) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
        // Runtime SQL: the database's name is an identifier, which no bind can carry.
        sqlx::query(&format!(
            r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
            self.name
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }
}
