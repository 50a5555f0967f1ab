//! A server keeps the dashboards' figures and the OKR trees between views, with their HTML:
//! one seen again is read from memory while nothing it shows has changed. Whether anything has is one small statement:
//! its unit's version and everything's (migrations/0027), which every refresh moves on for
//! the units whose work it recomputed and for their ancestors. Several servers share the
//! versions, so each knows when its copy is out of date, whichever server took the write.
//!
//! What a viewer sees of their own (navigation, the unit filter's choices) is not kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use uuid::Uuid;

/// The version row standing for any unit's work (an OKR tree of every unit).
pub const ANY: Uuid = Uuid::max();

/// A page's figures and their HTML.
pub struct Kept<T> {
    pub figures: T,
    pub html: String,
}

/// At most this many pages of each kind kept per server (a division's dashboard: about
/// 100 KB).
const KEPT: usize = 64;

/// A page as asked for: scope, period or range, how it is shown (a dashboard's order, a
/// tree's levels), and the day (overdue and due depend on it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The unit asked for, if any.
    pub unit: Option<Uuid>,
    period: Option<Uuid>,
    until: Option<Uuid>,
    shown: String,
    today: NaiveDate,
}

impl Key {
    pub fn new(unit: &str, period: &str, until: &str, shown: String, today: NaiveDate) -> Key {
        let id = |text: &str| Uuid::parse_str(text.trim()).ok();
        Key {
            unit: id(unit),
            period: id(period),
            until: id(until),
            shown,
            today,
        }
    }
}

/// Everything's version and the unit's: figures read at these still hold while they last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    everything: i64,
    unit: i64,
}

/// The versions now of `unit`'s pages (the company's when None; every unit's: `ANY`).
pub async fn versions(db: &crate::db::Db, unit: Option<Uuid>) -> sqlx::Result<Versions> {
    let (everything, unit) = sqlx::query_as(
        "SELECT coalesce((SELECT version FROM dashboard_versions WHERE unit_id = '00000000-0000-0000-0000-000000000000'), 0),
                coalesce((SELECT version FROM dashboard_versions
                           WHERE unit_id = coalesce($1, (SELECT id FROM org_units WHERE parent_id IS NULL
                                                          ORDER BY archived_at NULLS FIRST, lower(name) LIMIT 1))), 0)",
    )
    .bind(unit)
    .fetch_one(db)
    .await?;
    Ok(Versions { everything, unit })
}

/// A page kept, with the versions it was read at.
type Entry<T> = (Versions, Arc<Kept<T>>);

/// The pages kept.
pub struct Cache<T> {
    kept: Mutex<HashMap<Key, Entry<T>>>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            kept: Mutex::default(),
        }
    }
}

impl<T: askama::Template> Cache<T> {
    /// The page for `key` (of `unit`, as `versions` reads it): the one kept if nothing it
    /// shows changed since, or else the one `read` reads, rendered and kept. The roll-ups
    /// are refreshed first, and the versions read before `read` runs: a change they do not
    /// count yet moves them on again at the next refresh, so a page kept never outlives
    /// what it shows.
    pub async fn page(
        &self,
        db: &crate::db::Db,
        key: Key,
        unit: Option<Uuid>,
        read: impl Future<Output = crate::http::Result<T>>,
    ) -> crate::http::Result<Arc<Kept<T>>> {
        super::rollup::refresh(db).await?;
        let versions = versions(db, unit).await?;
        if let Some(kept) = self.get(&key, versions) {
            return Ok(kept);
        }
        let figures = read.await?;
        let html = figures.render().map_err(anyhow::Error::from)?;
        let kept = Arc::new(Kept { figures, html });
        self.put(key, versions, kept.clone());
        Ok(kept)
    }
}

impl<T> Cache<T> {
    /// What is kept for `key`, if read at `versions`.
    pub fn get(&self, key: &Key, versions: Versions) -> Option<Arc<Kept<T>>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(key)
            .filter(|(at, _)| *at == versions)
            .map(|(_, figures)| figures.clone())
    }

    /// Keeps `figures`, read at `versions`. When full, those read before everything's
    /// version moved on go first, then any.
    pub fn put(&self, key: Key, versions: Versions, figures: Arc<Kept<T>>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= KEPT && !kept.contains_key(&key) {
            kept.retain(|_, (at, _)| at.everything == versions.everything);
            if kept.len() >= KEPT
                && let Some(any) = kept.keys().next().cloned()
            {
                kept.remove(&any);
            }
        }
        kept.insert(key, (versions, figures));
    }

    /// How many dashboards are kept.
    pub fn len(&self) -> usize {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
