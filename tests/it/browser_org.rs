use fantoccini::Locator;

use crate::common::TestApp;
use crate::common::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_creates_a_team_under_a_division_through_the_form_and_sees_it_in_the_tree() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind Learning", "company", None).await;
    app.create_unit("Learner Experience", "division", Some(company))
        .await;
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    browser
        .sign_in(crate::common::ADMIN_EMAIL, crate::common::TEST_PASSWORD)
        .await;

    browser.visit("/").await;
    browser.follow("Organisation").await;
    assert_eq!(browser.path().await, "/org");
    browser.follow("Add a unit").await;

    // A form sent without a name says so, and keeps what was chosen.
    browser.choose("Kind", "Team").await;
    browser.press("Create unit").await;
    let text = browser.text().await;
    assert!(
        text.contains("There is a problem") && text.contains("Enter a name"),
        "{text}"
    );

    browser.fill("Name", "Onboarding").await;
    browser.choose("Part of", "Learner Experience").await;
    browser.press("Create unit").await;
    let text = browser.text().await;
    assert!(text.contains("Onboarding created"), "{text}");
    assert!(
        text.contains("Northwind Learning") && text.contains("Learner Experience"),
        "breadcrumbs: {text}"
    );

    browser.follow("Organisation").await;
    let nested = browser
        .client
        .find(Locator::XPath(
            "//ul[contains(@class,'tree')]//li[.//a[normalize-space(.)='Learner Experience']]//ul//a[normalize-space(.)='Onboarding']",
        ))
        .await;
    assert!(
        nested.is_ok(),
        "Onboarding appears beneath Learner Experience in the tree"
    );
    browser.close().await;
    let stored: String = sqlx::query_scalar("SELECT kind FROM org_units WHERE name = 'Onboarding'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, "team");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_organisation_page_passes_the_accessibility_checks_with_and_without_errors() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    let team: uuid::Uuid = sqlx::query_scalar("SELECT id FROM org_units WHERE name = 'Search'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let person: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM people WHERE name = 'Nadia Haddad'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let (epic, outcome): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT e.id, o.id FROM epics e JOIN outcomes o ON o.epic_id = e.id WHERE e.title = 'New onboarding for learners' LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let initiative: uuid::Uuid = sqlx::query_scalar(
        "SELECT id FROM initiatives WHERE title = 'Learners succeed in their first month'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (objective, key_result) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    sqlx::query(
        "INSERT INTO objectives (id, org_unit_id, period_id, owner_id, title)
         SELECT $1, $2, (SELECT id FROM periods ORDER BY starts_on DESC LIMIT 1 OFFSET 2), $3, 'Searches succeed on mobile'",
    )
    .bind(objective)
    .bind(team)
    .bind(person)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO key_results (id, objective_id, owner_id, title, metric, unit, direction, start_value, target, current_value, confidence)
         VALUES ($1, $2, $3, 'Mobile search success 80%', 'Search success on mobile', 'percent', 'increase', 62, 80, 70, 5)",
    )
    .bind(key_result)
    .bind(objective)
    .bind(person)
    .execute(&app.db)
    .await
    .unwrap();
    let (past, current): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT (SELECT id FROM iterations WHERE org_unit_id = $1 AND review IS NOT NULL ORDER BY starts_on LIMIT 1),
                (SELECT id FROM iterations WHERE org_unit_id = $1 AND review IS NULL ORDER BY starts_on LIMIT 1)",
    )
    .bind(team)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (open_loop, closed_loop): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT (SELECT o.id FROM outcomes o JOIN epics e ON e.id = o.epic_id WHERE e.title = 'Fix lost progress after sign-up'),
                (SELECT o.id FROM outcomes o JOIN epics e ON e.id = o.epic_id WHERE e.title = 'LMS grade sync')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    browser
        .sign_in(crate::common::ADMIN_EMAIL, crate::common::TEST_PASSWORD)
        .await;

    for path in [
        "/loops?scope=org".to_string(),
        "/dashboard".into(),
        "/notifications".into(),
        "/learnings".into(),
        "/learnings?verdict=achieved".into(),
        format!("/outcomes/{open_loop}"),
        format!("/outcomes/{closed_loop}"),
        format!("/epics/new?follow_up={closed_loop}"),
        "/okrs".into(),
        "/objectives/new".into(),
        format!("/objectives/new?key_result={key_result}"),
        format!("/objectives/{objective}"),
        format!("/objectives/{objective}/edit"),
        format!("/key-results/new?objective={objective}"),
        format!("/key-results/{key_result}"),
        format!("/key-results/{key_result}/edit"),
        format!("/org/units/{team}/iterations/new"),
        format!("/iterations/{past}"),
        format!("/iterations/{current}"),
        format!("/iterations/{current}/edit"),
        "/initiatives".to_string(),
        "/initiatives/new".into(),
        format!("/initiatives/{initiative}"),
        format!("/initiatives/{initiative}/edit"),
        format!("/outcomes/new?initiative={initiative}"),
        "/".to_string(),
        "/org".into(),
        "/org/settings".into(),
        format!("/org/units/{team}"),
        format!("/org/units/{team}/edit"),
        format!("/org/units/{team}/backlog"),
        "/people".into(),
        "/people?q=nadia".into(),
        format!("/people/{person}"),
        format!("/people/{person}/edit"),
        "/people/new".into(),
        "/periods".into(),
        "/periods/new".into(),
        "/epics".into(),
        "/epics?missing=owner".into(),
        "/needs-owner".into(),
        "/epics/new".into(),
        format!("/epics/{epic}"),
        format!("/epics/{epic}/edit"),
        format!("/outcomes/new?epic={epic}"),
        format!("/outcomes/{outcome}"),
        format!("/outcomes/{outcome}/edit"),
        "/admin/audit".into(),
        "/account".into(),
        "/no/such/page".into(),
    ] {
        browser.visit(&path).await;
    }

    // Refused forms: the error summary and inline messages must be accessible too.
    browser.visit(&format!("/outcomes/{open_loop}")).await;
    browser.press("Close the loop").await;
    assert!(browser.text().await.contains("Write what you learned"));
    browser.visit(&format!("/outcomes/{closed_loop}")).await;
    browser.press("Reopen the loop").await;
    assert!(
        browser
            .text()
            .await
            .contains("Say why the loop is reopened")
    );
    browser.visit(&format!("/key-results/{key_result}")).await;
    browser.press("Record check-in").await;
    assert!(browser.text().await.contains("Enter the value"));
    browser
        .visit(&format!("/key-results/new?objective={objective}"))
        .await;
    browser.press("Add key result").await;
    assert!(browser.text().await.contains("Enter a title"));
    browser.visit(&format!("/org/units/{team}/backlog")).await;
    browser
        .fill("Capacity of this unit in team-weeks", "-1")
        .await;
    browser.press("Save capacity").await;
    assert!(
        browser
            .text()
            .await
            .contains("The capacity cannot be negative")
    );
    browser.visit(&format!("/iterations/{past}")).await;
    browser.fill("Note", "").await;
    browser.press("Save review").await;
    assert!(
        browser
            .text()
            .await
            .contains("Say in a sentence or two why")
    );
    browser.visit("/people/new").await;
    browser.fill("Email", "not-an-email").await;
    browser.press("Add person").await;
    let text = browser.text().await;
    assert!(
        text.contains("Enter a name")
            && text.contains("Enter an email address in the form name@example.com"),
        "{text}"
    );
    // The summary's links lead to the fields.
    let link = browser
        .client
        .find(Locator::XPath(
            "//div[contains(@class,'error-summary')]//a[normalize-space(.)='Enter a name']",
        ))
        .await
        .unwrap();
    assert_eq!(link.attr("href").await.unwrap().as_deref(), Some("#name"));
    assert!(browser.client.find(Locator::Id("name")).await.is_ok());

    browser.visit("/initiatives/new").await;
    browser.fill("Owner’s email", "").await;
    browser.press("Create initiative").await;
    let text = browser.text().await;
    assert!(
        text.contains("Enter a title") && text.contains("Choose the unit"),
        "{text}"
    );

    browser.visit(&format!("/epics/{epic}")).await;
    browser
        .client
        .find(Locator::Css("details.reassign summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .fill("New owner’s email", "nobody@northwind.example")
        .await;
    browser.press("Reassign").await;
    assert!(browser.text().await.contains("Nobody has this email"));

    browser.visit("/periods/new").await;
    browser.fill("Name", "").await;
    browser.press("Add period").await;
    assert!(browser.text().await.contains("Enter a name"));

    browser.visit(&format!("/org/units/{team}")).await;
    browser.fill("Email", "nobody@northwind.example").await;
    browser.press("Add person").await;
    assert!(browser.text().await.contains("Nobody has this email yet"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_the_login_page_reaches_the_page_they_asked_for_and_signs_out() {
    let app = TestApp::new().await;
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    // Asking for a protected page leads to sign-in first.
    browser.visit("/people").await;
    assert_eq!(browser.path().await, "/login");

    browser.fill("Email", crate::common::ADMIN_EMAIL).await;
    browser.fill("Password", "not the password").await;
    browser.press("Sign in").await;
    assert!(
        browser
            .text()
            .await
            .contains("The email or password is not right")
    );

    browser.fill("Password", crate::common::TEST_PASSWORD).await;
    browser.press("Sign in").await;
    assert_eq!(browser.path().await, "/people");
    assert!(browser.text().await.contains("Test Admin"));

    browser.press("Sign out").await;
    assert_eq!(browser.path().await, "/login");
    assert!(browser.text().await.contains("You have signed out"));
    browser.visit("/people").await;
    assert_eq!(browser.path().await, "/login", "signed out for real");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_manager_defines_an_epic_with_its_outcome_and_starts_it() {
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
    sqlx::query("INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES ($1, '2026 Q2', 'quarter', '2026-04-01', '2026-06-30')")
        .bind(uuid::Uuid::new_v4())
        .execute(&app.db)
        .await
        .unwrap();
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    browser
        .sign_in("priya@northwind.example", crate::common::TEST_PASSWORD)
        .await;
    browser.follow("Epics").await;
    browser.follow("New epic").await;
    browser.fill("Title", "New onboarding for learners").await;
    browser.choose("Team", "Onboarding").await;
    browser
        .fill(
            "Why now",
            "Half of new learners drop out in their first week.",
        )
        .await;
    browser.press("Create epic").await;
    let text = browser.text().await;
    assert!(
        text.contains("Epic created") && text.contains("Owner\nPriya Raman"),
        "{text}"
    );

    // Starting without an outcome is refused, with the reason and where to fix it.
    browser.press("Mark ready").await;
    let text = browser.text().await;
    assert!(
        text.contains("This epic is not ready yet")
            && text.contains("It needs at least one measurable anticipated outcome"),
        "{text}"
    );

    browser.follow("Add an anticipated outcome").await;
    browser.fill("What problem are we solving, what behaviour are we changing, or what opportunity are we addressing?", "New learners finish onboarding instead of dropping out").await;
    browser
        .fill(
            "What metric defines success?",
            "Learners completing onboarding within 7 days",
        )
        .await;
    browser
        .fill(
            "Where do the numbers come from, and how are they measured?",
            "Product analytics, onboarding funnel",
        )
        .await;
    browser.fill("Baseline: where it is today", "45").await;
    browser.fill("Target", "80").await;
    browser.client.execute("document.getElementById('measure_by').value = '2026-09-30'; document.getElementById('measure_by').dispatchEvent(new Event('input', {bubbles: true})); return true;", vec![]).await.unwrap();
    // The sentence follows the typing before anything is sent.
    let preview = browser
        .client
        .find(Locator::Id("outcome-sentence"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        preview,
        "Learners completing onboarding within 7 days from 45% to 80% by 30 Sep 2026"
    );
    browser.press("Save outcome").await;
    let text = browser.text().await;
    assert!(
        text.contains(
            "Learners completing onboarding within 7 days from 45% to 80% by 30 Sep 2026"
        ),
        "{text}"
    );

    browser.press("Mark ready").await;
    browser.press("Start work").await;
    let text = browser.text().await;
    assert!(
        text.contains("Epic is now in progress") && text.contains("Status: In progress"),
        "{text}"
    );
    browser.close().await;
    let status: String = sqlx::query_scalar("SELECT status FROM epics")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "in_progress");
}
