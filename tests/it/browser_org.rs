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
