//! Yardstick: outcome-driven epic and OKR tracking. Every epic states a measurable
//! anticipated outcome with one owner; objectives cascade; owners close the loop.

// First: the macro is used by the modules below.
#[macro_use]
mod text_enum;

/// The JSON API, its tokens and its OpenAPI document.
pub mod api;
/// The audit log.
pub mod audit;
/// Accounts and access: sign-in, sessions, invitations, throttling, the policy.
pub mod auth;
/// Server-rendered SVG charts: observed values against the anticipated path.
pub mod chart;
/// The application's clock and "today" in the organisation's time zone.
pub mod clock;
/// Command-line flags and environment variables.
pub mod config;
/// The leader dashboard: coverage, loop closure, realisation, in SQL.
pub mod dashboard;
/// The database: pool, migrations, the embedded PostgreSQL cluster.
pub mod db;
/// The demo organisation (`yardstick demo`).
pub mod demo;
/// Epics: work types, status flow, definition of ready, owners.
pub mod epics;
/// The organisation's data as one JSON document (`/admin/export`, `yardstick export`).
pub mod export;
/// The home page.
pub mod home;
/// The web layer: router, middleware, errors, page helpers, static files, health.
pub mod http;
/// Importing epics from Jira CSV exports, as background jobs.
pub mod imports;
/// Initiatives: the largest bodies of work, with epics and outcomes of their own.
pub mod initiatives;
/// Closing the loop: measurements, verdicts, learnings, the loops queue.
pub mod loops;
/// Mail over SMTP.
pub mod mail;
/// In-app notifications: reminders and notices.
pub mod notifications;
/// OKRs: objectives, key results, check-ins, the cascade and its roll-up.
pub mod okrs;
/// Org units, memberships and organisation settings.
pub mod org;
/// Anticipated outcomes: direction, target or band, progress, proposed verdicts.
pub mod outcomes;
/// People.
pub mod people;
/// Periods (OKR cycles).
pub mod periods;
/// Planning: the ranked backlog, capacity, cost and ROI, iterations.
pub mod planning;
/// Logging and statement counting.
pub mod telemetry;
/// Outgoing webhooks: endpoints, the delivery queue, signed posts with retries.
pub mod webhooks;

pub use http::{AppState, app};
