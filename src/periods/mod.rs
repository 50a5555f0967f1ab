//! Periods: named OKR cycles ("2026 Q1") that never overlap within one cadence. The
//! current period is the one containing today (in the organisation's time zone); when a
//! quarter and a year both contain today, the shorter one.

pub mod model;

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Access;
use crate::auth::policy::Me;
use crate::http::error::violated_constraint;
use crate::http::page::{self, Flash, Form, FormErrors, INVALID, Layout, Section, check};
use crate::http::sitemap::Sitemap;
use crate::http::{AppState, Result};
use crate::org::model::required_text;
use crate::org::settings::today;
use model::{Cadence, human_date, parse_date, quarter_of};

/// `/periods`, `/periods/new`: everyone reads, admins add.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/periods", Access::SignedIn, get_periods)
        .get("/periods/csv", Access::SignedIn, get_periods_csv)
        .post("/periods", Access::Admin, post_period)
        .get("/periods/new", Access::Admin, get_new_period)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Period {
    pub id: Uuid,
    pub name: String,
    pub cadence: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub closed: bool,
}

impl Period {
    /// Where the period stands relative to `today` ("Current" is the `current` one).
    pub fn state(&self, today: NaiveDate, current: Option<Uuid>) -> &'static str {
        if current == Some(self.id) {
            "Current"
        } else if self.contains(today) {
            "Running"
        } else if self.ends_on < today {
            "Past"
        } else {
            "Upcoming"
        }
    }

    pub fn cadence_label(&self) -> &str {
        Cadence::label_of(&self.cadence)
    }

    /// "1 Jan 2026 – 31 Mar 2026"
    pub fn dates(&self) -> String {
        format!(
            "{} – {}",
            human_date(self.starts_on),
            human_date(self.ends_on)
        )
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }
}

/// The period with this id; the 404 when there is none.
pub async fn load_period(db: &crate::db::Db, id: Uuid) -> crate::http::Result<Period> {
    sqlx::query_as(
        "SELECT id, name, cadence, starts_on, ends_on, closed_at IS NOT NULL AS closed FROM periods WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(crate::http::AppError::NotFound)
}

/// The period containing `today`, the shortest when several do.
/// The period under way on the day `$1`, as a [`Period`]: the shortest containing it (a
/// quarter before its year).
pub const CURRENT: &str =
    "SELECT id, name, cadence, starts_on, ends_on, closed_at IS NOT NULL AS closed
   FROM periods WHERE starts_on <= $1 AND ends_on >= $1
  ORDER BY ends_on - starts_on, starts_on LIMIT 1";

pub async fn current_period(
    db: impl sqlx::PgExecutor<'_>,
    today: NaiveDate,
) -> sqlx::Result<Option<Period>> {
    sqlx::query_as(CURRENT).bind(today).fetch_optional(db).await
}

/// Every period as a select's options (id, name): latest first, a year after its quarters.
pub async fn options(state: &AppState, me: &Me) -> sqlx::Result<Vec<(String, String)>> {
    if let Some(kept) = state.choices.periods(me) {
        return Ok(kept);
    }
    let options: Vec<(String, String)> = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, name FROM periods ORDER BY starts_on DESC, ends_on - starts_on",
    )
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|(id, name)| (id.to_string(), name))
    .collect();
    state.choices.keep_periods(me, options.clone());
    Ok(options)
}

#[derive(Template, WebTemplate)]
#[template(path = "periods/list.html")]
pub struct PeriodsPage {
    layout: Layout,
    periods: Vec<Period>,
    today: NaiveDate,
    current: Option<Uuid>,
}

impl PeriodsPage {
    fn is_current(&self, period: &Period) -> bool {
        self.current == Some(period.id)
    }

    /// Where a period stands relative to today.
    fn state_of(&self, period: &Period) -> &'static str {
        period.state(self.today, self.current)
    }

    fn today_text(&self) -> String {
        human_date(self.today)
    }
}

/// Every period, newest first, with today and the current period (the shortest running).
async fn all_periods(state: &AppState) -> Result<(Vec<Period>, NaiveDate, Option<Uuid>)> {
    let today = today(state).await?;
    let periods: Vec<Period> = sqlx::query_as(
        "SELECT id, name, cadence, starts_on, ends_on, closed_at IS NOT NULL AS closed
           FROM periods ORDER BY starts_on DESC, ends_on - starts_on",
    )
    .fetch_all(&state.db)
    .await?;
    let current = periods
        .iter()
        .filter(|p| p.contains(today))
        .min_by_key(|p| (p.ends_on - p.starts_on, p.starts_on))
        .map(|p| p.id);
    Ok((periods, today, current))
}

/// `GET /periods/csv`: every period, as the list shows them.
pub async fn get_periods_csv(State(state): State<AppState>) -> Result<axum::response::Response> {
    let (periods, today, current) = all_periods(&state).await?;
    let head = [
        "ID", "Period", "Cadence", "Starts", "Ends", "State", "Closed",
    ];
    let rows = periods.into_iter().map(|p| {
        vec![
            p.id.to_string(),
            p.name.clone(),
            p.cadence_label().to_string(),
            p.starts_on.to_string(),
            p.ends_on.to_string(),
            p.state(today, current).to_string(),
            if p.closed { "yes" } else { "no" }.to_string(),
        ]
    });
    crate::http::csv::download("periods", &head, rows)
}

/// `GET /periods`: every period, newest first, the current one marked.
pub async fn get_periods(
    State(state): State<AppState>,
    me: Me,
    flash: Flash,
) -> Result<PeriodsPage> {
    let (periods, today, current) = all_periods(&state).await?;
    let layout = Layout::new("Periods", Section::Organisation, &me).with_flash(flash);
    Ok(PeriodsPage {
        layout,
        periods,
        today,
        current,
    })
}

/// The period form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PeriodForm {
    name: String,
    cadence: String,
    starts_on: String,
    ends_on: String,
    /// Days between key-result check-ins (7: weekly).
    check_in_days: String,
}

struct ValidPeriod {
    name: String,
    cadence: Cadence,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    check_in_days: i32,
}

impl PeriodForm {
    fn parse(&self) -> std::result::Result<ValidPeriod, FormErrors> {
        let mut errors = FormErrors::default();
        let name = check(&mut errors, "name", required_text(&self.name, "a name", 60));
        let cadence = check(&mut errors, "cadence", Cadence::parse(&self.cadence));
        let starts_on = check(
            &mut errors,
            "starts_on",
            parse_date(&self.starts_on, "start date"),
        );
        let ends_on = check(
            &mut errors,
            "ends_on",
            parse_date(&self.ends_on, "end date"),
        );
        if let (Some(start), Some(end)) = (starts_on, ends_on)
            && end < start
        {
            errors.add("ends_on", "The end date must be on or after the start date");
        }
        let check_in_days = match self.check_in_days.trim() {
            "" => Some(7),
            text => match text.parse::<i32>() {
                Ok(days) if (1..=92).contains(&days) => Some(days),
                _ => {
                    errors.add(
                        "check_in_days",
                        "Enter how many days apart check-ins are, from 1 to 92 (7 is weekly)",
                    );
                    None
                }
            },
        };
        match (name, cadence, starts_on, ends_on, check_in_days) {
            (Some(name), Some(cadence), Some(starts_on), Some(ends_on), Some(check_in_days))
                if errors.is_empty() =>
            {
                Ok(ValidPeriod {
                    name,
                    cadence,
                    starts_on,
                    ends_on,
                    check_in_days,
                })
            }
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "periods/form.html")]
pub struct PeriodFormPage {
    layout: Layout,
    form: PeriodForm,
    errors: FormErrors,
    cadences: Vec<(String, String)>,
}

impl PeriodFormPage {
    fn new(me: &Me, form: PeriodForm, errors: FormErrors) -> PeriodFormPage {
        let cadences = Cadence::options();
        PeriodFormPage {
            layout: Layout::new("Add a period", Section::Organisation, me),
            form,
            errors,
            cadences,
        }
    }
}

/// `GET /periods/new`: proposes the quarter after the last one recorded (or the current
/// quarter when there is none).
pub async fn get_new_period(State(state): State<AppState>, me: Me) -> Result<PeriodFormPage> {
    let today = today(&state).await?;
    let last_quarter_end: Option<NaiveDate> =
        sqlx::query_scalar("SELECT max(ends_on) FROM periods WHERE cadence = 'quarter'")
            .fetch_one(&state.db)
            .await?;
    let proposed = last_quarter_end.and_then(|d| d.succ_opt()).unwrap_or(today);
    let (start, end, name) = quarter_of(proposed);
    let form = PeriodForm {
        name,
        cadence: Cadence::Quarter.as_str().into(),
        starts_on: start.to_string(),
        ends_on: end.to_string(),
        check_in_days: "7".into(),
    };
    Ok(PeriodFormPage::new(&me, form, FormErrors::default()))
}

/// `POST /periods`
pub async fn post_period(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<PeriodForm>,
) -> Result<Response> {
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => return Ok((INVALID, PeriodFormPage::new(&me, form, errors)).into_response()),
    };
    let id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO periods (id, name, cadence, starts_on, ends_on, check_in_days) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&valid.name)
    .bind(valid.cadence.as_str())
    .bind(valid.starts_on)
    .bind(valid.ends_on)
    .bind(valid.check_in_days)
    .execute(&mut *tx)
    .await;
    let mut errors = FormErrors::default();
    match inserted {
        Ok(_) => {
            Entry::new("period_created")
                .actor(Some(me.id))
                .entity("period", id)
                .after(serde_json::json!({
                    "name": valid.name, "cadence": valid.cadence.as_str(),
                    "starts_on": valid.starts_on, "ends_on": valid.ends_on,
                    "check_in_days": valid.check_in_days,
                }))
                .client(&client)
                .write(&mut *tx, state.clock.now())
                .await?;
            tx.commit().await?;
            return Ok(page::see_other(
                "/periods",
                &format!("{} added", valid.name),
            ));
        }
        Err(err) if violated_constraint(&err) == Some("periods_name_key") => {
            errors.add(
                "name",
                format!("There is already a period called “{}”", valid.name),
            );
        }
        Err(err) if violated_constraint(&err) == Some("periods_no_overlap") => {
            let other: Option<Period> = sqlx::query_as(
                "SELECT id, name, cadence, starts_on, ends_on, closed_at IS NOT NULL AS closed FROM periods
                  WHERE cadence = $1 AND starts_on <= $3 AND ends_on >= $2 ORDER BY starts_on LIMIT 1",
            )
            .bind(valid.cadence.as_str())
            .bind(valid.starts_on)
            .bind(valid.ends_on)
            .fetch_optional(&state.db)
            .await?;
            let message = match other {
                Some(p) => format!(
                    "These dates overlap {} ({}). Periods of the same cadence cannot overlap",
                    p.name,
                    p.dates()
                ),
                None => "These dates overlap another period of the same cadence".to_string(),
            };
            errors.add("starts_on", message);
        }
        Err(err) => return Err(err.into()),
    }
    Ok((INVALID, PeriodFormPage::new(&me, form, errors)).into_response())
}
