//! `/okrs?unit=&period=&until=&levels=`: the alignment tree — objectives of a unit and
//! everything beneath it for a period (an annual period with the quarterly objectives inside
//! it), their key results, and the objectives cascaded from each, with progress rolled up.
//! Two statements for the whole cascade; a large tree folds its deeper levels, reading only
//! its first level's key results and the folded objectives' progress from the roll-up. A
//! server keeps a tree and its HTML between views until something in it changes
//! (`dashboard::cache`).

use std::collections::HashSet;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::policy::Me;
use crate::dashboard::cache::{self, Kept};
use crate::http::page::{Flash, Layout, Query, Section};
use crate::http::{AppState, Result};
use crate::okrs::cascade::{self, Cascade, KeyResultRow, ObjectiveRow, Roots};
use crate::periods::Period;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TreeQuery {
    unit: String,
    period: String,
    /// The last period of a range starting at `period`.
    until: String,
    /// "all": every level of a large tree, none folded.
    levels: String,
}

/// One line of the tree as the template writes it: an objective opens (with its key
/// results' list), a key result opens (with its cascade's list), or one of them closes.
#[derive(Debug)]
pub struct TreeLine {
    pub objective: Option<ObjectiveRow>,
    pub key_result: Option<KeyResultRow>,
    /// "objective" or "key_result" when this line closes one.
    pub closes: &'static str,
    /// An objective shown without its key results and what is cascaded beneath them (a
    /// large tree's deeper levels): how many key results it has. Its line closes itself.
    pub folded: Option<usize>,
}

/// Above this many objectives, the tree shows the first level's key results and, beneath
/// them, the objectives cascaded from each folded to one line: a division's 165 objectives
/// and 619 key results were 400 KB of page. `levels=all` unfolds them.
const FOLD_ABOVE: usize = 60;

/// The page: the viewer's navigation and filter, and the tree with its HTML (the same for
/// anyone, kept between views like a dashboard's figures, `dashboard::cache`).
#[derive(Template, WebTemplate)]
#[template(path = "okrs/tree.html")]
pub struct TreePage {
    layout: Layout,
    periods: Vec<(String, String)>,
    units: crate::org::UnitFilter,
    kept: Arc<Kept<Tree>>,
}

impl TreePage {
    fn html(&self) -> &str {
        &self.kept.html
    }
}

impl std::ops::Deref for TreePage {
    type Target = Tree;

    fn deref(&self) -> &Tree {
        &self.kept.figures
    }
}

/// The tree for a unit and a period or range.
#[derive(Template)]
#[template(path = "okrs/tree_figures.html")]
pub struct Tree {
    period: Option<Period>,
    unit: String,
    until: String,
    cascade: Cascade,
    lines: Vec<TreeLine>,
    today: NaiveDate,
    /// Whether deeper levels are folded, or unfolded on request.
    folded: bool,
    unfolded: bool,
}

impl Tree {
    /// The CSV of this tree, every level unfolded.
    fn csv_href(&self) -> String {
        format!("/okrs/csv?{}", self.query_string(""))
    }

    /// This tree with every level unfolded, or folded again.
    fn levels_href(&self) -> String {
        let levels = if self.unfolded { "" } else { "all" };
        format!("/okrs?{}", self.query_string(levels))
    }

    fn query_string(&self, levels: &str) -> String {
        let period = self
            .period
            .as_ref()
            .map(|p| p.id.to_string())
            .unwrap_or_default();
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("unit", &self.unit)
            .append_pair("period", &period)
            .append_pair("until", &self.until);
        if !levels.is_empty() {
            query.append_pair("levels", levels);
        }
        query.finish()
    }
}

/// What the tree shows: the period (the longest containing today unless chosen), the unit,
/// the end of the range, and the cascade within them.
struct Scope {
    today: NaiveDate,
    period: Option<Period>,
    unit: Option<Uuid>,
    until: Option<Period>,
    cascade: Cascade,
}

/// The cascade folds above `fold_above` objectives (`cascade::load_folding`).
async fn scope(state: &AppState, me: &Me, query: &TreeQuery, fold_above: usize) -> Result<Scope> {
    let today = me.today(&state.clock);
    let period: Option<Period> = match Uuid::parse_str(query.period.trim()) {
        Ok(id) => Some(crate::periods::load_period(&state.db, id).await?),
        // The longest period containing today: a year shows its quarters' cascades.
        Err(_) => {
            sqlx::query_as(
                "SELECT id, name, cadence, starts_on, ends_on, closed_at IS NOT NULL AS closed
               FROM periods WHERE starts_on <= $1 AND ends_on >= $1
              ORDER BY ends_on - starts_on DESC, starts_on LIMIT 1",
            )
            .bind(today)
            .fetch_optional(&state.db)
            .await?
        }
    };
    let unit = Uuid::parse_str(query.unit.trim()).ok();
    let until: Option<Period> = match Uuid::parse_str(query.until.trim()) {
        Ok(id) => Some(crate::periods::load_period(&state.db, id).await?),
        Err(_) => None,
    };
    let cascade = match &period {
        Some(p) => {
            cascade::load_folding(
                &state.db,
                Roots::Scope {
                    starts_on: p.starts_on,
                    ends_on: until
                        .as_ref()
                        .map_or(p.ends_on, |u| u.ends_on.max(p.ends_on)),
                    unit,
                },
                fold_above,
            )
            .await?
        }
        None => Cascade::default(),
    };
    Ok(Scope {
        today,
        period,
        unit,
        until,
        cascade,
    })
}

/// `GET /okrs/csv?unit=&period=&until=`: the tree as rows, in reading order: each
/// objective, then its key results, each followed by the objectives cascaded from it.
pub async fn get_okrs_csv(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<TreeQuery>,
) -> Result<axum::response::Response> {
    let Scope { cascade, .. } = scope(&state, &me, &query, usize::MAX).await?;
    let head = [
        "Level",
        "Kind",
        "ID",
        "Parent ID",
        "Title",
        "Unit",
        "Period",
        "Owner",
        "Status",
        "Progress",
        "Goal",
        "Value",
        "Confidence",
    ];
    let mut depth = 0usize;
    let mut rows = Vec::new();
    for line in lines(&cascade, false) {
        if let Some(o) = &line.objective {
            depth += 1;
            rows.push(vec![
                depth.to_string(),
                "Objective".to_string(),
                o.id.to_string(),
                o.parent_key_result_id
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
                o.title.clone(),
                o.unit_name.clone(),
                o.period_name.clone(),
                o.owner_name.clone().unwrap_or_default(),
                o.status_label().to_string(),
                cascade.objective_percent(&o.id),
                String::new(),
                String::new(),
                String::new(),
            ]);
        } else if let Some(k) = &line.key_result {
            rows.push(vec![
                depth.to_string(),
                "Key result".to_string(),
                k.id.to_string(),
                k.objective_id.to_string(),
                k.title.clone(),
                String::new(),
                String::new(),
                k.owner_name.clone().unwrap_or_default(),
                String::new(),
                cascade.key_result_percent(&k.id),
                k.goal_text(),
                k.value_text().unwrap_or_default(),
                k.confidence.map(|c| c.to_string()).unwrap_or_default(),
            ]);
        } else if line.closes == "objective" {
            depth -= 1;
        }
    }
    crate::http::csv::download("okrs", &head, rows)
}

/// `GET /okrs?unit=&period=&until=&levels=all`
pub async fn get_okrs(
    State(state): State<AppState>,
    me: Me,
    Query(query): Query<TreeQuery>,
    flash: Flash,
) -> Result<TreePage> {
    let db = &state.db;
    let today = me.today(&state.clock);
    let levels = query.levels.clone();
    let key = cache::Key::new(&query.unit, &query.period, &query.until, levels, today);
    // Without a unit, every unit's objectives.
    let unit = Some(key.unit.unwrap_or(cache::ANY));
    let kept = state
        .okr_trees
        .page(db, key, unit, read_tree(&state, &me, &query))
        .await?;
    let unit = Uuid::parse_str(&kept.figures.unit).ok();
    let periods = crate::periods::options(&state, &me).await?;
    let units = crate::org::UnitFilter::load(&state, unit, &me).await?;
    let layout = Layout::new("OKRs", Section::Okrs, &me).with_flash(flash);
    Ok(TreePage {
        layout,
        periods,
        units,
        kept,
    })
}

/// The tree as asked for, read afresh.
async fn read_tree(state: &AppState, me: &Me, query: &TreeQuery) -> Result<Tree> {
    let unfolded = query.levels == "all";
    let fold_above = if unfolded { usize::MAX } else { FOLD_ABOVE };
    let Scope {
        today,
        period,
        unit,
        until,
        cascade,
    } = scope(state, me, query, fold_above).await?;
    let large = cascade.objectives.len() > FOLD_ABOVE;
    // Folded whether or not the cascade could be read folded (`Cascade::folded`).
    let fold = large && !unfolded;
    let lines = lines(&cascade, fold);
    Ok(Tree {
        period,
        unit: unit.map(|u| u.to_string()).unwrap_or_default(),
        until: until.map(|u| u.id.to_string()).unwrap_or_default(),
        cascade,
        lines,
        today,
        folded: fold,
        unfolded: large && unfolded,
    })
}

/// The tree in reading order: each objective whose parent is not shown starts a branch.
/// With `fold`, the objectives cascaded from a branch's key results are folded.
fn lines(cascade: &Cascade, fold: bool) -> Vec<TreeLine> {
    let mut out = Vec::new();
    let mut visited = HashSet::new();
    for o in cascade.first_level() {
        branch(cascade, o, fold, &mut visited, &mut out);
    }
    out
}

fn branch(
    cascade: &Cascade,
    o: &ObjectiveRow,
    fold: bool,
    visited: &mut HashSet<Uuid>,
    out: &mut Vec<TreeLine>,
) {
    if !visited.insert(o.id) {
        return;
    }
    out.push(TreeLine {
        objective: Some(o.clone()),
        key_result: None,
        closes: "",
        folded: None,
    });
    for k in cascade.key_results_of(&o.id) {
        out.push(TreeLine {
            objective: None,
            key_result: Some(k.clone()),
            closes: "",
            folded: None,
        });
        for child in cascade.cascaded_from(&k.id) {
            if fold {
                // Shown once, like an unfolded branch: what it holds is a click away.
                if visited.insert(child.id) {
                    out.push(TreeLine {
                        objective: Some(child.clone()),
                        key_result: None,
                        closes: "",
                        folded: Some(cascade.key_result_count(&child.id)),
                    });
                }
            } else {
                branch(cascade, child, fold, visited, out);
            }
        }
        out.push(TreeLine {
            objective: None,
            key_result: None,
            closes: "key_result",
            folded: None,
        });
    }
    out.push(TreeLine {
        objective: None,
        key_result: None,
        closes: "objective",
        folded: None,
    });
}
