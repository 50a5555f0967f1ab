//! A technical lead closes an overdue loop in a real browser, by labels, with axe-core on
//! every page: the queue, a measurement, the verdict with learnings, the learning log.

use uuid::Uuid;

use crate::common::TestApp;
use crate::common::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tech_lead_records_the_actual_result_of_an_overdue_loop_and_closes_it() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind Learning", "company", None).await;
    let team = app.create_unit("Search", "team", Some(company)).await;
    let lead = app
        .account("Lucas Moreau", "lucas@northwind.example", "member")
        .await;
    yardstick::org::upsert_membership(
        &app.db,
        team,
        lead,
        yardstick::org::model::MemberRole::TechLead,
    )
    .await
    .unwrap();
    let epic = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO epics (id, team_id, owner_id, work_type, title, status)
         VALUES ($1, $2, $3, 'tech_debt', 'Refactor the search service', 'measuring')",
    )
    .bind(epic)
    .bind(team)
    .bind(lead)
    .execute(&app.db)
    .await
    .unwrap();
    // Due on 20 May; today is 1 Jun 2026: 12 days overdue.
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target,
                               measure_by, data_source, committed_at)
         VALUES (gen_random_uuid(), $1, $2, 'behaviour', 'Learners find what they search for', 'Search success rate',
                 'percent', 'increase', 70, 90, '2026-05-20', 'Search analytics', now())",
    )
    .bind(epic)
    .bind(lead)
    .execute(&app.db)
    .await
    .unwrap();
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    browser
        .sign_in("lucas@northwind.example", crate::common::TEST_PASSWORD)
        .await;
    browser.follow("Loops").await;
    let text = browser.text().await;
    assert!(text.contains("12 days overdue"), "{text}");
    browser.follow("Search success rate").await;
    browser.fill("Measured value", "91").await;
    // A date field takes its parts in the browser's order (en-US: month, day, year).
    browser.fill("Measured on", "05312026").await;
    browser
        .fill("Source", "https://analytics.example/search")
        .await;
    browser.press("Record measurement").await;
    let text = browser.text().await;
    assert!(
        text.contains("Measurement recorded: 91%") && text.contains("Yardstick proposes Achieved"),
        "{text}"
    );
    // Deciding without learnings is refused, with the reason and nothing lost.
    browser.choose("Next step", "Scale").await;
    browser.press("Close the loop").await;
    assert!(
        browser
            .text()
            .await
            .contains("Write what you learned: why it worked or did not")
    );
    browser
        .fill(
            "What we learned",
            "Splitting the index by language fixed the misses; synonyms mattered less than we thought.",
        )
        .await;
    browser.choose("Next step", "Scale").await;
    browser.press("Close the loop").await;
    let text = browser.text().await;
    assert!(
        text.contains("Loop closed: achieved")
            && text.contains("Every loop of the epic is closed, so the epic is closed too"),
        "{text}"
    );
    browser.follow("Learnings").await;
    let text = browser.text().await;
    assert!(
        text.contains("Search success rate Achieved")
            && text.contains("Splitting the index by language fixed the misses"),
        "{text}"
    );
    browser.follow("Refactor the search service").await;
    assert!(browser.text().await.contains("Status: Closed"));
    browser.close().await;
    let (verdict, next_step): (String, String) =
        sqlx::query_as("SELECT verdict, next_step FROM outcomes")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (verdict.as_str(), next_step.as_str()),
        ("achieved", "scale")
    );
}
