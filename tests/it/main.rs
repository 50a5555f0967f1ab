//! Integration tests: the application against a real PostgreSQL, and a real browser.
//! One binary (each test binary links the whole app, so fewer binaries build faster).

mod common;

mod access;
mod accounts;
mod api;
mod api_records;
mod backlog;
mod backup;
mod bad_input;
mod browser_dashboard;
mod browser_epics;
mod browser_loops;
mod browser_okrs;
mod browser_org;
mod browser_planning;
mod dashboard;
mod embedded_cluster;
mod epics;
mod epics_schema;
mod export;
mod faults;
mod health;
mod imports;
mod ingestion;
mod initiatives;
mod logs;
mod loops;
mod mail;
mod okrs;
mod org_units;
mod pages;
mod people;
mod periods;
mod planning;
mod reminders;
mod resilience;
mod webhooks;
