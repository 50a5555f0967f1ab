//! A server keeps the dashboards' figures and the OKR trees between views, with their HTML:
//! one seen again is read from memory while nothing it shows has changed. Whether anything
//! has is one small statement: its unit's version and everything's (migrations/0027),
//! which every refresh moves on for the units whose work it recomputed and for their
//! ancestors. Several servers share the
//! versions, so each knows when its copy is out of date, whichever server took the write.
//!
//! What a viewer sees of their own (navigation, the unit filter's choices) is not kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use uuid::Uuid;

/// The version row standing for everything every page shows (units, periods, names).
pub const EVERYTHING: Uuid = Uuid::nil();
/// The version row standing for any unit's work (an OKR tree of every unit).
pub const ANY: Uuid = Uuid::max();

/// A page's figures and their HTML.
pub struct Kept<T> {
    pub figures: T,
    pub html: String,
}

/// At most this much HTML kept per kind of page and server, with the figures behind it
/// (about as large again): a division's dashboard is 115 KB, a folded OKR tree 80 KB.
const BUDGET: usize = 4 << 20;
/// A page larger than this (an unfolded tree of hundreds of objectives) is not kept.
const LARGEST: usize = BUDGET / 8;

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
        "SELECT coalesce((SELECT version FROM dashboard_versions WHERE unit_id = $2), 0),
                coalesce((SELECT version FROM dashboard_versions
                           WHERE unit_id = coalesce($1, (SELECT id FROM org_units WHERE parent_id IS NULL
                                                          ORDER BY archived_at NULLS FIRST, lower(name) LIMIT 1))), 0)",
    )
    .bind(unit)
    .bind(EVERYTHING)
    .fetch_one(db)
    .await?;
    Ok(Versions { everything, unit })
}

/// A page kept, with the versions it was read at.
type Entry<T> = (Versions, Arc<Kept<T>>);

/// The pages kept, and the bytes of their HTML.
pub struct Cache<T> {
    kept: Mutex<(HashMap<Key, Entry<T>>, usize)>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            kept: Mutex::new((HashMap::new(), 0)),
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
        kept.0
            .get(key)
            .filter(|(at, _)| *at == versions)
            .map(|(_, page)| page.clone())
    }

    /// Keeps `page`, read at `versions`, within the budget: pages read before everything's
    /// version moved on go first, then any.
    pub fn put(&self, key: Key, versions: Versions, page: Arc<Kept<T>>) {
        let size = page.html.len();
        if size > LARGEST {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let (pages, bytes) = &mut *kept;
        if let Some((_, old)) = pages.remove(&key) {
            *bytes -= old.html.len();
        }
        if *bytes + size > BUDGET {
            pages.retain(|_, (at, _)| at.everything == versions.everything);
            *bytes = pages.values().map(|(_, p)| p.html.len()).sum();
        }
        while *bytes + size > BUDGET {
            let Some(any) = pages.keys().next().cloned() else {
                break;
            };
            if let Some((_, old)) = pages.remove(&any) {
                *bytes -= old.html.len();
            }
        }
        pages.insert(key, (versions, page));
        *bytes += size;
    }

    /// How many pages are kept, and the bytes of their HTML.
    pub fn size(&self) -> (usize, usize) {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        (kept.0.len(), kept.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: usize) -> Arc<Kept<()>> {
        Arc::new(Kept {
            figures: (),
            html: "x".repeat(bytes),
        })
    }

    fn key(shown: &str) -> Key {
        Key::new("", "", "", shown.to_string(), NaiveDate::MIN)
    }

    #[test]
    fn pages_are_kept_within_the_budget_and_those_of_an_older_everything_go_first() {
        let cache = Cache::<()>::default();
        let at = |everything| Versions {
            everything,
            unit: 1,
        };
        cache.put(key("old"), at(1), page(LARGEST));
        for n in 0..7 {
            cache.put(key(&n.to_string()), at(2), page(LARGEST));
        }
        assert_eq!(cache.size(), (8, BUDGET));
        // Full: the page read before everything's version moved on goes first.
        cache.put(key("new"), at(2), page(LARGEST / 2));
        assert!(cache.get(&key("old"), at(1)).is_none());
        assert!(cache.get(&key("new"), at(2)).is_some());
        assert_eq!(cache.size(), (8, BUDGET - LARGEST / 2));
        // The same key replaced counts once.
        cache.put(key("0"), at(2), page(LARGEST));
        assert_eq!(cache.size(), (8, BUDGET - LARGEST / 2));
        // Then any goes, until the new page fits.
        cache.put(key("more"), at(2), page(LARGEST));
        assert!(cache.size().1 <= BUDGET);
        assert!(cache.get(&key("more"), at(2)).is_some());
        // Read at other versions: not this page.
        assert!(cache.get(&key("0"), at(3)).is_none());
        // Too large to keep.
        cache.put(key("huge"), at(2), page(LARGEST + 1));
        assert!(cache.get(&key("huge"), at(2)).is_none());
    }
}
