//! The organisation: a tree of units (company → divisions → teams, any depth), the people
//! in each unit with their roles, and organisation-wide settings (name, time zone).

pub mod choices;
pub mod model;
pub mod settings;
mod tree;
mod unit_form;
mod unit_page;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::policy::Access;
use crate::http::AppState;
use crate::http::sitemap::Sitemap;

pub use settings::Organisation;

/// `/org` and `/org/units/...`: everyone reads, admins change.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/org", Access::SignedIn, tree::get_org)
        .get("/org/csv", Access::SignedIn, tree::get_org_csv)
        .get("/org/settings", Access::Admin, settings::get_settings)
        .post("/org/settings", Access::Admin, settings::post_settings)
        .post("/org/units", Access::Admin, unit_form::post_unit)
        .get("/org/units/new", Access::Admin, unit_form::get_new_unit)
        .get("/org/units/{id}", Access::SignedIn, unit_page::get_unit)
        .post(
            "/org/units/{id}",
            Access::Admin,
            unit_form::post_unit_update,
        )
        .get(
            "/org/units/{id}/edit",
            Access::Admin,
            unit_form::get_edit_unit,
        )
        .post(
            "/org/units/{id}/members",
            Access::Admin,
            unit_page::post_member,
        )
        .post(
            "/org/units/{id}/members/{person_id}/remove",
            Access::Admin,
            unit_page::post_remove_member,
        )
}

/// A unit as lists and selects show it, in tree order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitInTree {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub kind: String,
    pub archived: bool,
    pub depth: i32,
    pub members: i64,
    /// Units directly beneath it that a filter leaves out (see [`UnitFilter`]).
    #[sqlx(default)]
    pub folded: i64,
}

impl UnitInTree {
    /// The name indented by depth, for select options.
    pub fn indented_name(&self) -> String {
        format!("{}{}", "\u{2014} ".repeat(self.depth as usize), self.name)
    }

    pub fn kind_label(&self) -> &str {
        model::UnitKind::label_of(&self.kind)
    }
}

/// Units not archived as a select's options (id, indented name), parents before children,
/// for choosing where a record goes. (Filters use [`UnitFilter`].)
pub async fn unit_options(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<(String, String)>> {
    Ok(units_in_tree_order(db, false)
        .await?
        .iter()
        .filter(|u| !u.archived)
        .map(|u| (u.id.to_string(), u.indented_name()))
        .collect())
}

/// A list of a unit's records is read team by team when the unit is a small part of the
/// organisation, and as the organisation's is (in the list's order, testing each row's
/// unit) when it holds a quarter of the open units or more: there the rows come soon enough,
/// and team by team would read every team's first page. Over the unit's rows in
/// `org_unit_tree` (as ancestor), whether it is wide.
pub const WIDE: &str = "count(*) * 4 >= (SELECT units FROM headcounts)";

/// Pushes `WITH teams AS MATERIALIZED (…), wide AS (…)`: the units beneath `unit` (itself
/// included) as `teams(id)`, and whether it is [`WIDE`] as `wide(wide)`.
pub fn push_teams(sql: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, unit: Uuid) {
    sql.push(
        "WITH teams AS MATERIALIZED (SELECT descendant_id AS id FROM org_unit_tree WHERE ancestor_id = ",
    )
    .push_bind(unit)
    .push(format_args!("), wide AS (SELECT {WIDE} AS wide FROM teams) "));
}

/// Pushes ` AND …`: the unit in `column` is `unit` or beneath it, tested on each row (a
/// subquery, not a join, so that the plan keeps reading in the list's order).
pub fn push_beneath(sql: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, column: &str, unit: Uuid) {
    sql.push(format_args!(
        " AND (SELECT true FROM org_unit_tree x WHERE x.descendant_id = {column} AND x.ancestor_id = "
    ))
    .push_bind(unit)
    .push(")");
}

/// At most this many open units, a unit filter lists them all; beyond, it opens the tree only
/// where the person is looking (a select of 631 units was 55 KB of every list page).
const WHOLE_TREE_UP_TO: i64 = 100;

/// The units a filter offers: every unit in a small organisation; in a large one the tree
/// opened along the chosen unit and the person's own units (each with its ancestors,
/// their siblings and its children), every other unit folded with the count beneath it.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// (id, indented name), parents before children.
    pub options: Vec<(String, String)>,
    /// How to reach a folded unit's children, when some are folded.
    pub hint: &'static str,
}

impl UnitFilter {
    /// The filter for `chosen` as `me` sees it: kept by this server while the choices'
    /// version stands still ([`choices`]), read afresh otherwise.
    pub async fn load(
        state: &AppState,
        chosen: Option<Uuid>,
        me: &crate::auth::policy::Me,
    ) -> sqlx::Result<UnitFilter> {
        if let Some(kept) = state.choices.unit_filter(chosen, me) {
            return Ok(kept);
        }
        let filter = UnitFilter::read(&state.db, chosen, me.id).await?;
        state.choices.keep_unit_filter(chosen, me, filter.clone());
        Ok(filter)
    }

    async fn read(
        db: impl sqlx::PgExecutor<'_>,
        chosen: Option<Uuid>,
        viewer: Uuid,
    ) -> sqlx::Result<UnitFilter> {
        let units: Vec<UnitInTree> = sqlx::query_as(
            // The open units are counted already, for the home page (migration 0023).
            "WITH whole AS (SELECT units <= $3 AS whole FROM headcounts),
                  open AS (
                      SELECT ancestor_id AS id FROM org_unit_tree WHERE descendant_id = $1
                      UNION
                      SELECT t.ancestor_id FROM memberships m
                        JOIN org_unit_tree t ON t.descendant_id = m.org_unit_id
                       WHERE m.person_id = $2
                      UNION
                      SELECT id FROM org_units WHERE parent_id IS NULL)
             SELECT u.id, u.parent_id, u.name, u.kind, u.archived_at IS NOT NULL AS archived,
                    0 AS depth, 0::int8 AS members,
                    CASE WHEN w.whole OR u.id IN (SELECT id FROM open) THEN 0
                         ELSE (SELECT count(*) FROM org_units c WHERE c.parent_id = u.id) END AS folded
               FROM org_units u CROSS JOIN whole w
              WHERE w.whole OR u.parent_id IS NULL OR u.parent_id IN (SELECT id FROM open)
              ORDER BY u.parent_id NULLS FIRST, lower(u.name), u.id",
        )
        .bind(chosen)
        .bind(viewer)
        .bind(WHOLE_TREE_UP_TO)
        .fetch_all(db)
        .await?;
        let units = tree_order(units);
        let hint = if units.iter().any(|u| u.folded > 0) {
            "A unit showing how many units are beneath it lists them once you choose it and apply the filter."
        } else {
            ""
        };
        let options = units
            .iter()
            .map(|u| {
                let name = match u.folded {
                    0 => u.indented_name(),
                    1 => format!("{} (1 unit beneath)", u.indented_name()),
                    n => format!("{} ({n} units beneath)", u.indented_name()),
                };
                (u.id.to_string(), name)
            })
            .collect();
        Ok(UnitFilter { options, hint })
    }
}

/// Every unit, parents before children, siblings by name, with its member count when
/// `with_members` (0 otherwise: counting them took 6 ms at 631 units): one query. The
/// database sorts siblings (by name as it compares text, then id); the walk down the tree
/// is done here (a recursive query sorting paths of names took 4 ms more, on every page
/// with a unit filter).
pub async fn units_in_tree_order(
    db: impl sqlx::PgExecutor<'_>,
    with_members: bool,
) -> sqlx::Result<Vec<UnitInTree>> {
    let units: Vec<UnitInTree> = sqlx::query_as(
        "SELECT u.id, u.parent_id, u.name, u.kind, u.archived_at IS NOT NULL AS archived, 0 AS depth,
                CASE WHEN $1 THEN (SELECT count(*) FROM memberships m WHERE m.org_unit_id = u.id) ELSE 0 END AS members
           FROM org_units u
          ORDER BY u.parent_id NULLS FIRST, lower(u.name), u.id",
    )
    .bind(with_members)
    .fetch_all(db)
    .await?;
    Ok(tree_order(units))
}

/// Units sorted by parent (siblings in order) put in tree order, each with its depth.
fn tree_order(units: Vec<UnitInTree>) -> Vec<UnitInTree> {
    let mut children: std::collections::HashMap<Option<Uuid>, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, unit) in units.iter().enumerate() {
        children.entry(unit.parent_id).or_default().push(i);
    }
    let mut order = Vec::with_capacity(units.len());
    // (unit, depth), the next to visit on top.
    let mut stack: Vec<(usize, i32)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    while let Some((i, depth)) = stack.pop() {
        order.push((i, depth));
        if let Some(kids) = children.get(&Some(units[i].id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    let mut slots: Vec<Option<UnitInTree>> = units.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| {
            slots[i].take().map(|mut unit| {
                unit.depth = depth;
                unit
            })
        })
        .collect()
}

/// Inserts a unit beneath `parent` and its rows of the closure table.
pub async fn insert_unit(
    tx: &mut PgConnection,
    id: Uuid,
    parent: Option<Uuid>,
    name: &str,
    kind: model::UnitKind,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO org_units (id, parent_id, name, kind) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(parent)
        .bind(name)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO org_unit_tree (ancestor_id, descendant_id, depth)
         SELECT ancestor_id, $1, depth + 1 FROM org_unit_tree WHERE descendant_id = $2
         UNION ALL SELECT $1, $1, 0",
    )
    .bind(id)
    .bind(parent)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Moving units is rare: serialising moves makes concurrent ones unable to build a cycle.
pub async fn lock_tree(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('yardstick.org_unit_tree'))")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether `candidate` is `unit` itself or one of the units beneath it.
pub async fn is_within(tx: &mut PgConnection, unit: Uuid, candidate: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM org_unit_tree WHERE ancestor_id = $1 AND descendant_id = $2)",
    )
    .bind(unit)
    .bind(candidate)
    .fetch_one(&mut *tx)
    .await
}

/// Re-hangs `unit` and everything beneath it under `new_parent` in the closure table.
/// Call with the tree locked, after checking that `new_parent` is not within `unit`.
pub async fn move_subtree(
    tx: &mut PgConnection,
    unit: Uuid,
    new_parent: Option<Uuid>,
) -> sqlx::Result<()> {
    // Forget the subtree's links to its old ancestors...
    sqlx::query(
        "DELETE FROM org_unit_tree
          WHERE descendant_id IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)
            AND ancestor_id NOT IN (SELECT descendant_id FROM org_unit_tree WHERE ancestor_id = $1)",
    )
    .bind(unit)
    .execute(&mut *tx)
    .await?;
    // ...and link every unit of it to every ancestor of the new parent.
    sqlx::query(
        "INSERT INTO org_unit_tree (ancestor_id, descendant_id, depth)
         SELECT above.ancestor_id, below.descendant_id, above.depth + below.depth + 1
           FROM org_unit_tree above, org_unit_tree below
          WHERE above.descendant_id = $2 AND below.ancestor_id = $1",
    )
    .bind(unit)
    .bind(new_parent)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Adds `person` to `unit` with `role` (or changes their role there) and writes the change
/// to the audit log, in one transaction.
pub async fn save_membership(
    db: &crate::db::Db,
    actor: &crate::auth::policy::Me,
    client: &str,
    now: chrono::DateTime<chrono::Utc>,
    unit: Uuid,
    person: Uuid,
    role: model::MemberRole,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    let before: Option<String> = sqlx::query_scalar(
        "SELECT role FROM memberships WHERE org_unit_id = $1 AND person_id = $2 FOR UPDATE",
    )
    .bind(unit)
    .bind(person)
    .fetch_optional(&mut *tx)
    .await?;
    upsert_membership(&mut *tx, unit, person, role).await?;
    crate::audit::Entry::new("membership_saved")
        .actor(Some(actor.id))
        .entity("org_unit", unit)
        .before(serde_json::json!({ "person_id": person, "role": before }))
        .after(serde_json::json!({ "person_id": person, "role": role.as_str() }))
        .client(client)
        .write(&mut *tx, now)
        .await?;
    tx.commit().await
}

/// Adds `person` to `unit` with `role`, or changes their role there.
pub async fn upsert_membership(
    db: impl sqlx::PgExecutor<'_>,
    unit: Uuid,
    person: Uuid,
    role: model::MemberRole,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO memberships (person_id, org_unit_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (person_id, org_unit_id) DO UPDATE
            SET role = EXCLUDED.role, version = memberships.version + 1, updated_at = now()
          WHERE memberships.role <> EXCLUDED.role",
    )
    .bind(person)
    .bind(unit)
    .bind(role.as_str())
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: u128, parent: Option<u128>, name: &str) -> UnitInTree {
        UnitInTree {
            id: Uuid::from_u128(id),
            parent_id: parent.map(Uuid::from_u128),
            name: name.to_string(),
            kind: "team".to_string(),
            archived: false,
            depth: -1,
            members: 0,
            folded: 0,
        }
    }

    #[test]
    fn tree_order_puts_each_unit_after_its_parent_and_before_the_next_sibling() {
        // As the query sorts them: by parent, then by name.
        let units = vec![
            unit(1, None, "Acme"),
            unit(3, Some(1), "Learning"),
            unit(2, Some(1), "Platform"),
            unit(5, Some(2), "Billing"),
            unit(4, Some(2), "Search"),
            unit(6, Some(3), "Onboarding"),
        ];
        let ordered: Vec<(String, i32)> = tree_order(units)
            .into_iter()
            .map(|u| (u.name, u.depth))
            .collect();
        let expected = [
            ("Acme", 0),
            ("Learning", 1),
            ("Onboarding", 2),
            ("Platform", 1),
            ("Billing", 2),
            ("Search", 2),
        ];
        assert_eq!(
            ordered,
            expected
                .iter()
                .map(|(n, d)| (n.to_string(), *d))
                .collect::<Vec<_>>()
        );
    }
}
