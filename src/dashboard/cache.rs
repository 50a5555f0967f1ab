//! A server keeps the dashboards' figures between views: a dashboard seen again is read from
//! memory while nothing it shows has changed. Whether anything has is one small statement:
//! its unit's version and everything's (migrations/0027), which every refresh moves on for
//! the units whose work it recomputed and for their ancestors. Several servers share the
//! versions, so each knows when its copy is out of date, whichever server took the write.
//!
//! What a viewer sees of their own (navigation, the unit filter's choices) is not kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use uuid::Uuid;

use super::{DashboardQuery, Figures};

/// A dashboard's figures and their HTML.
pub struct Kept {
    pub figures: Figures,
    pub html: String,
}

/// At most this many dashboards kept per server (a division's figures: about 100 KB).
const KEPT: usize = 64;

/// A dashboard as asked for: scope, period or range, the team comparison's order, and the
/// day (overdue and due depend on it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The unit asked for; None for the company.
    pub unit: Option<Uuid>,
    period: Option<Uuid>,
    until: Option<Uuid>,
    sort: String,
    dir: String,
    today: NaiveDate,
}

impl Key {
    pub fn new(query: &DashboardQuery, today: NaiveDate) -> Key {
        let id = |text: &str| Uuid::parse_str(text.trim()).ok();
        Key {
            unit: id(&query.unit),
            period: id(&query.period),
            until: id(&query.until),
            sort: query.sort.trim().to_string(),
            dir: query.dir.trim().to_string(),
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

/// The versions now of `unit`'s dashboard (the company's when None).
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

/// The figures kept, each with the versions it was read at.
#[derive(Default)]
pub struct Cache {
    kept: Mutex<HashMap<Key, (Versions, Arc<Kept>)>>,
}

impl Cache {
    /// What is kept for `key`, if read at `versions`.
    pub fn get(&self, key: &Key, versions: Versions) -> Option<Arc<Kept>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(key)
            .filter(|(at, _)| *at == versions)
            .map(|(_, figures)| figures.clone())
    }

    /// Keeps `figures`, read at `versions`. When full, those read before everything's
    /// version moved on go first, then any.
    pub fn put(&self, key: Key, versions: Versions, figures: Arc<Kept>) {
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
