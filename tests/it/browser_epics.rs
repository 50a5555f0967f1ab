//! The product manager's flow in a real browser, with the keyboard alone.

use crate::common::TestApp;
use crate::common::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_manager_defines_and_starts_an_epic_with_the_keyboard_alone() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind Learning", "company", None).await;
    let team = app.create_unit("Onboarding", "team", Some(company)).await;
    let pm = app
        .account("Priya Raman", "priya@northwind.example", "member")
        .await;
    yardstick::org::upsert_membership(
        &app.db,
        team,
        pm,
        yardstick::org::model::MemberRole::ProductManager,
    )
    .await
    .unwrap();
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    // From the sign-in page on, nothing but Tab, arrow keys, typing and Enter.
    browser.visit("/login").await;
    browser.key_fill("Email", "priya@northwind.example").await;
    browser
        .key_fill("Password", crate::common::TEST_PASSWORD)
        .await;
    browser.key_activate("Sign in").await;
    browser.key_activate("Epics").await;
    browser.key_activate("New epic").await;
    browser
        .key_fill("Title", "New onboarding for learners")
        .await;
    browser.key_choose("Team", "Onboarding").await;
    browser.key_activate("Create epic").await;
    assert!(browser.text().await.contains("Epic created"));

    browser.key_activate("Mark ready").await;
    let text = browser.text().await;
    assert!(
        text.contains("This epic is not ready yet")
            && text.contains("It needs at least one measurable anticipated outcome"),
        "{text}"
    );
    browser.key_activate("Add the anticipated outcome").await;
    browser
        .key_fill(
            "What problem are we solving, what behaviour are we changing, or what opportunity are we addressing?",
            "New learners finish onboarding instead of dropping out",
        )
        .await;
    browser
        .key_fill(
            "What metric defines success?",
            "Learners completing onboarding within 7 days",
        )
        .await;
    browser
        .key_fill(
            "Where do the numbers come from, and how are they measured?",
            "Product analytics, onboarding funnel",
        )
        .await;
    browser.key_fill("Baseline: where it is today", "45").await;
    browser.key_fill("Target", "80").await;
    // A date field takes its parts in the browser's order (en-US: month, day, year).
    browser.key_fill("Measure by", "09302026").await;
    browser.key_activate("Save outcome").await;
    let text = browser.text().await;
    assert!(
        text.contains(
            "Learners completing onboarding within 7 days from 45% to 80% by 30 Sep 2026"
        ),
        "{text}"
    );
    browser.key_activate("Mark ready").await;
    browser.key_activate("Start work").await;
    assert!(browser.text().await.contains("Status: In progress"));
    browser.close().await;
    let (status, measure_by): (String, chrono::NaiveDate) = sqlx::query_as(
        "SELECT e.status, o.measure_by FROM epics e JOIN outcomes o ON o.epic_id = e.id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(status, "in_progress");
    assert_eq!(measure_by.to_string(), "2026-09-30");
}
