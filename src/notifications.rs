//! `/notifications`: what the reminders and notices told me, newest first, unread marked;
//! marking one or all as read.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::policy::{Access, Me};
use crate::http::page::{self, Flash, Id, Layout, Section};
use crate::http::sitemap::Sitemap;
use crate::http::{AppState, Result};

pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/notifications", Access::SignedIn, get_notifications)
        .post("/notifications/read", Access::SignedIn, post_read_all)
        .post("/notifications/{id}/read", Access::SignedIn, post_read)
}

#[derive(Debug, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub href: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

impl Notification {
    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "loop_due_in_7_days" => "Due soon",
            "loop_due_today" => "Due today",
            "loop_overdue" => "Overdue",
            "checkpoint" => "Checkpoint",
            "check_in_due" => "Check-in due",
            _ => "Loop closed",
        }
    }

    pub fn when(&self) -> String {
        self.created_at.format("%-d %b %Y").to_string()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    layout: Layout,
    notifications: Vec<Notification>,
}

impl NotificationsPage {
    fn has_unread(&self) -> bool {
        self.notifications.iter().any(|n| !n.read)
    }
}

/// `GET /notifications`: the latest 100, unread first.
pub async fn get_notifications(
    State(state): State<AppState>,
    me: Me,
    flash: Flash,
) -> Result<NotificationsPage> {
    let notifications = sqlx::query_as(
        "SELECT id, kind, title, href, created_at, read_at IS NOT NULL AS read
           FROM notifications WHERE person_id = $1
          ORDER BY read_at IS NOT NULL, created_at DESC, id LIMIT 100",
    )
    .bind(me.id)
    .fetch_all(&state.db)
    .await?;
    let layout = Layout::new("Notifications", Section::None, &me).with_flash(flash);
    Ok(NotificationsPage {
        layout,
        notifications,
    })
}

/// `POST /notifications/{id}/read`: only one's own.
pub async fn post_read(
    State(state): State<AppState>,
    me: Me,
    Id(id): Id<Uuid>,
) -> Result<Response> {
    sqlx::query("UPDATE notifications SET read_at = $3 WHERE id = $1 AND person_id = $2 AND read_at IS NULL")
        .bind(id)
        .bind(me.id)
        .bind(state.clock.now())
        .execute(&state.db)
        .await?;
    Ok(page::see_other("/notifications", "Marked as read"))
}

/// `POST /notifications/read`
pub async fn post_read_all(State(state): State<AppState>, me: Me) -> Result<Response> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $2 WHERE person_id = $1 AND read_at IS NULL",
    )
    .bind(me.id)
    .bind(state.clock.now())
    .execute(&state.db)
    .await?;
    Ok(page::see_other(
        "/notifications",
        &format!("{} marked as read", done.rows_affected()),
    ))
}
