//! What a server keeps between views, each value with the version it was read at: it serves
//! only a request that finds the same version (read from the database, so several servers
//! each know when their copy is out of date, whichever took the write).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgRow;
use uuid::Uuid;

/// Values by key, each with the version `W` it was read at, at most `limit` of them.
pub struct Kept<K, V, W = i64> {
    values: Mutex<HashMap<K, (W, V)>>,
    limit: usize,
}

impl<K: std::hash::Hash + Eq, V: Clone, W: PartialEq + Copy> Kept<K, V, W> {
    pub fn new(limit: usize) -> Self {
        Kept {
            values: Mutex::new(HashMap::new()),
            limit,
        }
    }

    /// The value kept for `key`, if read at `version`.
    pub fn get(&self, key: &K, version: W) -> Option<V> {
        self.kept(key)
            .filter(|(at, _)| *at == version)
            .map(|(_, value)| value)
    }

    /// The value kept for `key`, with the version it was read at.
    pub fn kept(&self, key: &K) -> Option<(W, V)> {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        values.get(key).map(|(at, value)| (*at, value.clone()))
    }

    /// Keeps `value`; when full, those read at other versions go first, then all.
    pub fn keep(&self, key: K, version: W, value: V) {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        if values.len() >= self.limit {
            values.retain(|_, (at, _)| *at == version);
            if values.len() >= self.limit {
                values.clear();
            }
        }
        values.insert(key, (version, value));
    }
}

/// The versions of what every kept record shows of others, as columns: names of people,
/// work, objectives and key results, and cost rates (`names`, migrations/0036); units and
/// periods (`choices`, 0033).
pub const NAMES_AND_CHOICES: &str = "(SELECT version FROM names_version) AS names,
         (SELECT version FROM choices_version) AS choices";

/// The record `id` as kept, while the versions `versions` reads of it (a statement binding
/// the id as `$1`; no row when it is gone) are those it was kept at; otherwise read by
/// `read` (binding the id as `$1`, answering the record's columns and its versions' in one
/// row, so what is kept is never older than the versions it is kept at) and kept, if
/// `worth_keeping` (a large one would take the memory of many).
pub async fn read_through<V, W>(
    db: &crate::db::Db,
    kept: &Kept<Uuid, Arc<V>, W>,
    id: Uuid,
    versions: &str,
    read: &str,
    worth_keeping: fn(&V) -> bool,
) -> sqlx::Result<Option<V>>
where
    V: Clone + Send + Unpin + for<'r> sqlx::FromRow<'r, PgRow>,
    W: PartialEq + Copy + Send + Unpin + for<'r> sqlx::FromRow<'r, PgRow>,
{
    if let Some((at, value)) = kept.kept(&id) {
        let now: Option<W> = sqlx::query_as(versions).bind(id).fetch_optional(db).await?;
        if now == Some(at) {
            return Ok(Some(V::clone(&value)));
        }
    }
    let Some(row) = sqlx::query(read).bind(id).fetch_optional(db).await? else {
        return Ok(None);
    };
    let value = V::from_row(&row)?;
    if worth_keeping(&value) {
        kept.keep(id, W::from_row(&row)?, Arc::new(value.clone()));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_serves_only_the_version_it_was_read_at_and_a_full_store_makes_room() {
        let kept: Kept<u8, &str> = Kept::new(2);
        kept.keep(1, 7, "one");
        assert_eq!(kept.get(&1, 7), Some("one"));
        assert_eq!(kept.get(&1, 8), None);
        assert_eq!(kept.kept(&1), Some((7, "one")));
        kept.keep(2, 8, "two");
        // Full: the one read at another version than the newcomer's goes.
        kept.keep(3, 8, "three");
        assert_eq!(kept.kept(&1), None);
        assert_eq!(kept.get(&2, 8), Some("two"));
        assert_eq!(kept.get(&3, 8), Some("three"));
    }
}
