//! Sign-in throttling: after 5 failures for one account, or 20 from one client address,
//! within a minute, sign-in answers 429 with `Retry-After` until the oldest failure of the
//! minute has passed. Short, so the real owner is never locked out for long; in PostgreSQL,
//! so it holds across servers.

use chrono::{DateTime, Duration, Utc};

/// Failures per account within the window before sign-in is refused.
pub const PER_ACCOUNT: i64 = 5;
/// Failures per client address within the window (an office shares one address).
pub const PER_ADDRESS: i64 = 20;
/// The window.
pub const WINDOW: Duration = Duration::minutes(1);

/// Seconds to wait before trying again, when the limit is reached.
pub async fn retry_after(
    db: &crate::db::Db,
    email: &str,
    client_addr: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    let (by_account, by_address, oldest_account, oldest_address): (
        i64,
        i64,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email = $1),
                    count(*) FILTER (WHERE client_addr = $2),
                    min(at) FILTER (WHERE email = $1),
                    min(at) FILTER (WHERE client_addr = $2)
               FROM sign_in_failures
              WHERE at > $3 AND (email = $1 OR client_addr = $2)",
    )
    .bind(email)
    .bind(client_addr)
    .bind(now - WINDOW)
    .fetch_one(db)
    .await?;
    let wait_for = |oldest: Option<DateTime<Utc>>| {
        oldest
            .map(|at| (at + WINDOW - now).num_seconds().max(1))
            .unwrap_or(WINDOW.num_seconds())
    };
    Ok(if by_account >= PER_ACCOUNT {
        Some(wait_for(oldest_account))
    } else if by_address >= PER_ADDRESS {
        Some(wait_for(oldest_address))
    } else {
        None
    })
}

/// Records a failure, and forgets those older than the window.
pub async fn record_failure(
    db: &crate::db::Db,
    email: &str,
    client_addr: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sign_in_failures (at, email, client_addr) VALUES ($1, $2, $3)")
        .bind(now)
        .bind(email)
        .bind(client_addr)
        .execute(db)
        .await?;
    sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
        .bind(now - WINDOW * 10)
        .execute(db)
        .await?;
    Ok(())
}
