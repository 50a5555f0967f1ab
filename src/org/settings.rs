//! Organisation-wide settings: its name and the time zone that defines "today".

use askama::Template;
use askama_web::WebTemplate;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::audit::Entry;
use crate::auth::guard::ClientAddr;
use crate::auth::policy::Me;
use crate::http::page::{
    self, CONFLICT, ChangedField, Flash, Form, FormErrors, INVALID, Layout, Section, check,
};
use crate::http::{AppState, Result};

/// The organisation's settings row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organisation {
    pub name: String,
    pub time_zone: String,
    pub version: i32,
}

impl Organisation {
    /// Reads the one settings row.
    pub async fn load(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Organisation> {
        sqlx::query_as("SELECT name, time_zone, version FROM organisation")
            .fetch_one(db)
            .await
    }

    /// The time zone; UTC if the stored name is unknown to this build.
    pub fn zone(&self) -> Tz {
        zone(&self.time_zone)
    }
}

/// A stored time zone name's zone; UTC if the name is unknown to this build.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// Today's date in the organisation's time zone: one small query. A request by someone
/// signed in has it without one (`Me::today`).
pub async fn today(state: &AppState) -> sqlx::Result<NaiveDate> {
    let org = Organisation::load(&state.db).await?;
    Ok(state.clock.today(org.zone()))
}

/// A time zone name from the IANA database.
pub fn parse_time_zone(value: &str) -> std::result::Result<Tz, String> {
    value
        .trim()
        .parse::<Tz>()
        .map_err(|_| "Choose a time zone from the list, for example Europe/Berlin".to_string())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    name: String,
    time_zone: String,
    version: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "org/settings.html")]
pub struct SettingsPage {
    layout: Layout,
    form: SettingsForm,
    errors: FormErrors,
    changes: Vec<ChangedField>,
    zones: Vec<(String, String)>,
}

impl SettingsPage {
    fn new(form: SettingsForm, errors: FormErrors, flash: Flash, me: &Me) -> SettingsPage {
        let zones = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| (tz.name().to_string(), tz.name().to_string()))
            .collect();
        let layout =
            Layout::new("Organisation settings", Section::Organisation, me).with_flash(flash);
        SettingsPage {
            layout,
            form,
            errors,
            changes: Vec::new(),
            zones,
        }
    }
}

/// `GET /org/settings`
pub async fn get_settings(
    State(state): State<AppState>,
    me: Me,
    flash: Flash,
) -> Result<SettingsPage> {
    let org = Organisation::load(&state.db).await?;
    let form = SettingsForm {
        name: org.name,
        time_zone: org.time_zone,
        version: org.version.to_string(),
    };
    Ok(SettingsPage::new(form, FormErrors::default(), flash, &me))
}

/// `POST /org/settings`
pub async fn post_settings(
    State(state): State<AppState>,
    me: Me,
    ClientAddr(client): ClientAddr,
    Form(form): Form<SettingsForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let name = check(
        &mut errors,
        "name",
        crate::org::model::required_text(&form.name, "the organisation's name", 120),
    );
    let zone = check(&mut errors, "time_zone", parse_time_zone(&form.time_zone));
    let (Some(name), Some(zone)) = (name, zone) else {
        return Ok((
            INVALID,
            SettingsPage::new(form, errors, Flash::default(), &me),
        )
            .into_response());
    };
    let version: i32 = form.version.trim().parse().unwrap_or(0);
    let mut tx = state.db.begin().await?;
    let before = Organisation::load(&mut *tx).await?;
    let updated = sqlx::query(
        "UPDATE organisation SET name = $1, time_zone = $2, version = version + 1, updated_at = now()
          WHERE version = $3",
    )
    .bind(&name)
    .bind(zone.name())
    .bind(version)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 1 {
        Entry::new("settings_changed")
            .actor(Some(me.id))
            .before(serde_json::json!({ "name": before.name, "time_zone": before.time_zone }))
            .after(serde_json::json!({ "name": name, "time_zone": zone.name() }))
            .client(&client)
            .write(&mut *tx, state.clock.now())
            .await?;
        tx.commit().await?;
    } else {
        drop(tx);
        let current = Organisation::load(&state.db).await?;
        let changes = page::changed_fields(&[
            ("Name", current.name.clone(), form.name.clone()),
            (
                "Time zone",
                current.time_zone.clone(),
                form.time_zone.clone(),
            ),
        ]);
        let mut page = SettingsPage::new(
            SettingsForm {
                version: current.version.to_string(),
                ..form
            },
            errors,
            Flash::default(),
            &me,
        );
        page.changes = changes;
        return Ok((CONFLICT, page).into_response());
    }
    Ok(page::see_other("/org", "Organisation settings saved").into_response())
}
