//! A leader sets a division objective and cascades it; the team sets its key results and
//! checks in; the alignment tree shows the team's progress rolled up — in a real browser,
//! by labels, with axe-core on every page.

use uuid::Uuid;

use crate::common::TestApp;
use crate::common::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cascades_an_objective_and_the_teams_check_ins_roll_up_in_the_tree() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind Learning", "company", None).await;
    let division = app
        .create_unit("Learner Experience", "division", Some(company))
        .await;
    let team = app.create_unit("Onboarding", "team", Some(division)).await;
    let leader = app
        .account("Maya Okafor", "maya@northwind.example", "member")
        .await;
    let pm = app
        .account("Priya Raman", "priya@northwind.example", "member")
        .await;
    use yardstick::org::model::MemberRole;
    yardstick::org::upsert_membership(&app.db, division, leader, MemberRole::Leader)
        .await
        .unwrap();
    yardstick::org::upsert_membership(&app.db, team, pm, MemberRole::ProductManager)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO periods (id, name, cadence, starts_on, ends_on)
         VALUES ($1, '2026 Q2', 'quarter', '2026-04-01', '2026-06-30')",
    )
    .bind(Uuid::new_v4())
    .execute(&app.db)
    .await
    .unwrap();
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };

    // The leader: the division's objective, a rolled-up key result, the cascade.
    browser
        .sign_in("maya@northwind.example", crate::common::TEST_PASSWORD)
        .await;
    browser.visit("/okrs").await;
    browser.follow("New objective").await;
    browser
        .fill(
            "Objective",
            "Expand access to dual enrollment opportunities",
        )
        .await;
    browser.choose("Unit", "Learner Experience").await;
    browser.press("Create objective").await;
    browser.follow("Add a key result").await;
    browser
        .fill(
            "Key result",
            "10,000 learners use the new onboarding feature",
        )
        .await;
    browser
        .fill("Metric", "Learners using the new onboarding")
        .await;
    browser.choose("Unit", "Count").await;
    browser.fill("Start", "0").await;
    browser.fill("Target", "10000").await;
    browser
        .choose("Progress comes from", "Rolled up from the objectives")
        .await;
    browser.press("Add key result").await;
    browser
        .follow("Cascade to a team: 10,000 learners use the new onboarding feature")
        .await;
    let text = browser.text().await;
    assert!(text.contains("Cascaded from the key result"), "{text}");
    browser
        .fill("Objective", "Improve onboarding for new learners")
        .await;
    browser.choose("Unit", "Onboarding").await;
    browser
        .fill("Owner’s email", "priya@northwind.example")
        .await;
    browser.press("Create objective").await;
    assert!(browser.text().await.contains("Objective created"));
    browser.press("Sign out").await;

    // The team: three key results of its own, and a check-in.
    browser
        .sign_in("priya@northwind.example", crate::common::TEST_PASSWORD)
        .await;
    browser.visit("/okrs").await;
    browser.follow("Improve onboarding for new learners").await;
    for (title, start, target) in [
        (
            "80% of new users complete onboarding within 7 days",
            "45",
            "80",
        ),
        ("First-month retention up 25%", "40", "50"),
        ("Learners reach their first lesson on day one", "30", "60"),
    ] {
        browser.follow("Add a key result").await;
        browser.fill("Key result", title).await;
        browser.fill("Metric", title).await;
        browser.fill("Start", start).await;
        browser.fill("Target", target).await;
        browser.press("Add key result").await;
    }
    assert!(
        !browser
            .text()
            .await
            .contains("so far: most objectives need 3 to 5"),
        "three key results need no warning"
    );
    browser
        .follow("80% of new users complete onboarding within 7 days")
        .await;
    browser.fill("Value", "66").await;
    browser.choose("Confidence", "8 (high)").await;
    browser
        .fill("Note", "The shorter sign-up form is live")
        .await;
    browser.press("Record check-in").await;
    assert!(browser.text().await.contains("Check-in recorded"));

    // 66 of 45 → 80 is 60%; with two key results at 0 the team stands at 20%, and so do
    // the division's rolled-up key result and objective.
    browser.visit("/okrs").await;
    let text = browser
        .text()
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("Expand access to dual enrollment opportunities Learner Experience · 2026 Q2 · Maya Okafor 20%"),
        "{text}"
    );
    assert!(
        text.contains(
            "10,000 learners use the new onboarding feature 0 → 10000 · Maya Okafor 20% Rolled up"
        ),
        "{text}"
    );
    assert!(
        text.contains("80% of new users complete onboarding within 7 days 45% → 80% · now 66% · Priya Raman 60% On track (8/10)"),
        "{text}"
    );
    browser.close().await;
    let check_ins: i64 = sqlx::query_scalar("SELECT count(*) FROM check_ins WHERE author_id = $1")
        .bind(pm)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(check_ins, 1);
}
