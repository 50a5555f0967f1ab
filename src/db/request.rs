//! [`Db`]: the pool as pages use it. Within a request (the [`one_connection`] middleware),
//! every statement run through `&Db` shares one connection, taken from the pool at the first
//! statement and given back when the response is ready.
//!
//! Why: sqlx pings a connection each time it goes back to the pool, so a page of nine
//! statements on the pool was eighteen round trips to PostgreSQL. With one connection per
//! request it is ten. On two cores every round trip is two process wake-ups, which cost more
//! than most of the statements.
//!
//! Outside a request (background jobs, commands, tests calling a function directly) and for
//! transactions (`db.begin()`, through `Deref` to the pool), statements run on the pool as
//! before. A page whose statements do not depend on each other can run them side by side on
//! the pool with [`Db::apart`].

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, PgPool, Postgres};
use tokio::sync::Mutex;

type Slot = Arc<Mutex<Option<PoolConnection<Postgres>>>>;

tokio::task_local! {
    static REQUEST: Slot;
}

/// The pool, sharing one connection among the statements of a request.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    /// Statements take a connection of their own from the pool, even within a request.
    apart: bool,
}

impl Db {
    pub fn new(pool: PgPool) -> Db {
        Db { pool, apart: false }
    }

    /// The pool, each statement on a connection of its own, so statements awaited together
    /// (`tokio::try_join!`) run at once on as many connections as the pool gives: a
    /// dashboard's dozen aggregates then use both cores. Within a request, the request's
    /// connection goes back to the pool first, so the request never holds one connection
    /// while it waits for others (a full pool would then wait on itself).
    pub async fn apart(&self) -> Db {
        if let Some(slot) = slot() {
            drop(slot.lock().await.take());
        }
        Db {
            pool: self.pool.clone(),
            apart: true,
        }
    }

    /// The request's slot, unless this pool runs each statement apart.
    fn shared_slot(&self) -> Option<Slot> {
        if self.apart { None } else { slot() }
    }

    /// The pool itself: statements on it take a connection of their own.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A connection of its own: within a request, the request's connection (so a request
    /// never holds two, and cannot wait on the pool for a second while holding the first).
    pub async fn acquire(&self) -> sqlx::Result<PoolConnection<Postgres>> {
        if let Some(slot) = self.shared_slot()
            && let Some(conn) = slot.lock().await.take()
        {
            return Ok(conn);
        }
        self.pool.acquire().await
    }

    /// A transaction. Within a request, the request's connection goes back to the pool
    /// first, for the same reason as in [`Db::acquire`]; statements after the transaction
    /// take a connection again.
    ///
    /// It begins in a task of its own, so a request dropped meanwhile (its client went
    /// away) cannot leave the transaction open: sqlx 0.8 forgets a `BEGIN` whose answer it
    /// was still awaiting when cancelled, and the connection went back to the pool inside
    /// the transaction, the next requests' statements running in it, holding its locks (a
    /// session's row for 10 s in the benchmark) and lost if it closed
    /// (transact-rs/sqlx#4393). The task always finishes; a transaction nobody awaits any
    /// more is dropped, which rolls it back.
    pub async fn begin(&self) -> sqlx::Result<sqlx::Transaction<'static, Postgres>> {
        if let Some(slot) = slot() {
            drop(slot.lock().await.take());
        }
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin().await })
            .await
            .map_err(|failed| {
                sqlx::Error::Protocol(format!("the task beginning a transaction failed: {failed}"))
            })?
    }
}

impl Deref for Db {
    type Target = PgPool;

    fn deref(&self) -> &PgPool {
        &self.pool
    }
}

/// Middleware: the statements of this request share one connection.
pub async fn one_connection(request: Request, next: Next) -> Response {
    REQUEST.scope(Slot::default(), next.run(request)).await
}

/// This request's slot, when running inside one.
fn slot() -> Option<Slot> {
    REQUEST.try_with(Arc::clone).ok()
}

/// The request's connection, taken from the pool the first time.
async fn connection<'a>(
    held: &'a mut Option<PoolConnection<Postgres>>,
    pool: &PgPool,
) -> Result<&'a mut PoolConnection<Postgres>, sqlx::Error> {
    if held.is_none() {
        *held = Some(pool.acquire().await?);
    }
    Ok(held.as_mut().expect("just set"))
}

impl<'c> Executor<'c> for &'c Db {
    type Database = Postgres;

    /// On the request's connection, the rows are read whole before they are handed on, so
    /// the connection is free again for the next statement (no page streams its rows).
    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let Some(slot) = self.shared_slot() else {
            return self.pool.fetch_many(query);
        };
        let pool = &self.pool;
        stream::once(async move {
            let mut held = slot.lock().await;
            let conn = connection(&mut held, pool).await?;
            let results: Vec<_> = conn.fetch_many(query).collect().await;
            Ok::<_, sqlx::Error>(stream::iter(results))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let Some(slot) = self.shared_slot() else {
            return self.pool.fetch_optional(query);
        };
        let pool = &self.pool;
        Box::pin(async move {
            let mut held = slot.lock().await;
            let conn = connection(&mut held, pool).await?;
            conn.fetch_optional(query).await
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.describe(sql)
    }
}
