//! A leader reviews the dashboard in a real browser, by labels, with axe-core on every
//! page: the whole company first, then one division, then the overdue loops behind the
//! figure.

use crate::common::TestApp;
use crate::common::browser::Browser;
use crate::dashboard::known;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_narrows_the_dashboard_to_a_division_and_follows_its_overdue_loops() {
    let app = TestApp::new().await;
    known(&app).await;
    app.account("Dana Okafor", "dana@northwind.example", "member")
        .await;
    let base = app.serve().await;
    let Some(browser) = Browser::start(&base).await else {
        return;
    };
    browser
        .sign_in("dana@northwind.example", crate::common::TEST_PASSWORD)
        .await;
    browser.follow("Dashboard").await;
    let text = browser.text().await;
    // The whole company in the current quarter: Platform's overdue loop is there too.
    assert!(text.contains("Dashboard · Northwind · 2026 Q2"), "{text}");
    assert!(text.contains("Overdue loops 2"), "{text}");
    assert!(text.contains("E1 elsewhere"), "{text}");

    browser
        .choose("Unit, with everything beneath", "Learner Experience")
        .await;
    browser.press("Show").await;
    let text = browser.text().await;
    assert!(
        text.contains("Dashboard · Learner Experience · 2026 Q2"),
        "{text}"
    );
    assert!(text.contains("Overdue loops 1"), "{text}");
    assert!(!text.contains("E1 elsewhere"), "{text}");
    // The heatmap and the bullet charts are on the page, each with its text alternative.
    assert!(
        text.contains("Onboarding\t1\t85%") || text.contains("Onboarding 1 85%"),
        "{text}"
    );
    assert!(text.contains("2.4%"), "{text}");

    browser.follow("The overdue loops in the loops queue").await;
    assert_eq!(browser.path().await, "/loops");
    let text = browser.text().await;
    assert!(text.contains("A2 sign-up rewrite metric"), "{text}");
    assert!(text.contains("1 day overdue"), "{text}");
    assert!(!text.contains("E1 elsewhere metric"), "{text}");
    assert!(
        !text.contains("B1 grading bug"),
        "due at the end of June, not overdue: {text}"
    );
    browser.close().await;
}
