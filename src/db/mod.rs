//! The database: a pool on `DATABASE_URL`, or on the embedded cluster when it is unset;
//! migrations; readiness.

pub mod backup;
pub mod embedded;
pub mod json;
pub mod kept;
pub mod request;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub use embedded::{Cluster, ClusterError, ClusterOptions};
pub use request::Db;

/// The migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The database the embedded cluster serves Yardstick from.
pub const EMBEDDED_DATABASE: &str = "yardstick";

/// Where the data lives, and the embedded cluster when we use one.
pub struct Database {
    pub pool: PgPool,
    pub cluster: Option<Cluster>,
}

impl Database {
    /// Connects to `database_url`, or starts (or joins) the embedded cluster under `data_dir`
    /// and creates its database when missing. Does not migrate.
    pub async fn open(config: &crate::config::Config) -> anyhow::Result<Database> {
        let (options, cluster) = match config.database_url.as_deref() {
            Some(url) => (url.parse::<PgConnectOptions>()?, None),
            None => {
                let options = ClusterOptions {
                    data_dir: config.data_dir.clone(),
                    ephemeral: false,
                };
                let cluster =
                    tokio::task::spawn_blocking(move || Cluster::start(&options)).await??;
                create_database_if_missing(&cluster.connect_options("postgres"), EMBEDDED_DATABASE)
                    .await?;
                (cluster.connect_options(EMBEDDED_DATABASE), Some(cluster))
            }
        };
        let pool = pool_options()
            .max_connections(config.db_connections())
            .connect_with(tuned(options))
            .await?;
        Ok(Database { pool, cluster })
    }

    /// Where `pg_dump` and `pg_restore` connect to reach this database.
    pub fn backup_target(&self, database_url: Option<&str>) -> anyhow::Result<backup::Target> {
        match (database_url, &self.cluster) {
            (Some(url), _) => backup::Target::from_url(url),
            (None, Some(cluster)) => Ok(backup::Target::from_options(
                &cluster.connect_options(EMBEDDED_DATABASE),
            )),
            (None, None) => anyhow::bail!("no database to back up"),
        }
    }

    /// Closes the pool, then releases the embedded cluster (stopping it when no other
    /// command uses it).
    pub async fn close(self) -> anyhow::Result<()> {
        // sqlx's close can return while a connection just given back is still being pinged
        // (sqlx pings each one it takes back); stopping the cluster then fails that ping, a
        // warning in the command's output. So close until none is left, for at most a second.
        for _ in 0..100 {
            self.pool.close().await;
            if self.pool.size() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Some(cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.release()).await??;
        }
        Ok(())
    }
}

/// Pool settings shared by the server and the tests (the server sets its size from the
/// configuration). A short acquire timeout makes pages answer "unavailable" quickly while
/// the database is down, instead of hanging. A connection is pinged before use only when
/// it has been idle for a second: sqlx's default, a ping every time, was a round trip
/// before every statement of a busy server. A connection that died while in use (the
/// database restarted) fails its statement instead, and is closed rather than given back.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(20)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(3))
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(1) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Session settings for every connection: no JIT compilation. Pages run short queries
/// whose plans can still cost enough to trigger it, and compiling them takes far longer
/// (seconds on the dashboard's first run at scale) than running them. And no parallel
/// workers: a page's statement is one of many running at once, and starting workers cost
/// more than it saved (the company's overdue loops: 17 ms with workers, 3 ms without).
pub fn tuned(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("jit", "off"), ("max_parallel_workers_per_gather", "0")])
}

/// Applies the embedded migrations. sqlx holds an advisory lock while it migrates, so
/// several servers starting at once against one database are safe.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    // A migration may leave the dashboard's rollups to be rebuilt (a mark, 0022): done now,
    // at start-up, rather than in the first dashboard request.
    crate::dashboard::rollup::refresh(&Db::new(pool.clone())).await?;
    Ok(())
}

/// `CREATE DATABASE name` unless it exists; two commands racing to create it both succeed.
pub async fn create_database_if_missing(
    admin: &PgConnectOptions,
    name: &str,
) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(admin).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let sql = format!("CREATE DATABASE {}", quote_ident(name));
        match sqlx::raw_sql(&sql).execute(&mut conn).await {
            Ok(_) => {}
            // 42P04 duplicate_database: someone else created it meanwhile.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}

/// Quotes an SQL identifier (for database names, which cannot be bound as parameters).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What `/readyz` reports.
#[derive(Debug, serde::Serialize)]
pub struct Readiness {
    pub database: bool,
    pub migrated: bool,
    pub schema_version: Option<i64>,
}

/// Whether the database answers and every embedded migration has been applied.
pub async fn readiness(pool: &PgPool) -> Readiness {
    let latest = MIGRATOR.iter().map(|m| m.version).max();
    let applied: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await;
    match applied {
        Ok(version) => Readiness {
            database: true,
            migrated: version == latest,
            schema_version: version,
        },
        // The database answered but has no migrations table yet.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Readiness {
            database: true,
            migrated: false,
            schema_version: None,
        },
        Err(_) => Readiness {
            database: false,
            migrated: false,
            schema_version: None,
        },
    }
}
