use axum::http::{StatusCode, header};

use crate::common::TestApp;

#[tokio::test]
async fn an_unknown_address_answers_a_styled_404_page_without_internals() {
    let app = TestApp::new().await;
    for path in [
        "/no/such/page",
        "/org/units/00000000-0000-0000-0000-000000000000",
        "/people/not-a-uuid",
    ] {
        let page = app.get(path).await;
        assert!(
            page.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            page.status
        );
        if page.status == StatusCode::NOT_FOUND {
            let text = page.text();
            assert!(text.contains("Page not found"), "{path}: {text}");
            assert!(page.body.contains("/static/"), "{path} uses the layout");
            assert!(text.contains("Go to the home page"), "{path} links home");
            if path == "/no/such/page" {
                assert!(
                    text.contains("Organisation") && text.contains("Sign out"),
                    "{path} has the navigation"
                );
            }
        }
    }
}

#[tokio::test]
async fn pages_hold_no_inline_script_or_style() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    for path in [
        "/".to_string(),
        "/org".into(),
        format!("/org/units/{company}"),
        "/org/units/new".into(),
        "/people/new".into(),
        "/periods/new".into(),
    ] {
        let page = app.get(&path).await;
        assert!(
            !page.body.contains("<script>")
                && !page.body.contains(" style=")
                && !page.body.contains("<style"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn static_files_have_versioned_urls_and_long_cache_lifetimes() {
    let app = TestApp::new().await;
    let home = app.get("/").await;
    let href = home
        .body
        .split("href=\"/static/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a stylesheet link");
    let (version, file) = href.split_once('/').unwrap();
    assert_eq!(version, yardstick::http::assets::VERSION);
    assert_eq!(file, "style.css");
    let css = app.get(&format!("/static/{href}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert_eq!(
        css.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains(".error-summary"));
    // An old release's URL is served, but not cached for long.
    let old = app.get("/static/0123456789ab/style.css").await;
    assert_eq!(old.headers[header::CACHE_CONTROL], "public, max-age=60");
    assert_eq!(
        app.get(&format!("/static/{version}/nope.css")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_change_confirms_itself_once_on_the_next_page() {
    let app = TestApp::new().await;
    let created = app
        .post(
            "/people",
            &[("name", "Grace Liu"), ("email", "grace@northwind.example")],
        )
        .await;
    let cookie = created.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let request = axum::http::Request::get(created.location())
        .header(header::COOKIE, format!("{}; {cookie}", app.cookie))
        .body(axum::body::Body::empty())
        .unwrap();
    let shown = app.request(request).await;
    assert!(shown.text().contains("Grace Liu added"));
    let cleared = shown.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with("flash=;") && cleared.contains("Max-Age=0"));
}

#[tokio::test]
async fn the_home_page_says_what_yardstick_is_and_links_onward() {
    let app = TestApp::new().await;
    let text = app.get("/").await.text();
    assert!(text.contains("Every epic starts with a measurable anticipated outcome"));
    assert!(text.contains("0 units") && text.contains("No period contains today"));
    assert!(text.contains("Our organisation"), "{text}");
    sqlx::query("UPDATE organisation SET name = 'Acme Learning'")
        .execute(&app.db)
        .await
        .unwrap();
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    let text = app.get("/").await.text();
    assert!(
        text.contains("12 units")
            && text.contains("38 active people")
            && text.contains("4 periods")
            && text.contains("Acme Learning"),
        "{text}"
    );
    assert!(
        text.contains("Current period: 2026 Q2 (1 Apr 2026 – 30 Jun 2026)"),
        "{text}"
    );
}

#[tokio::test]
async fn the_home_page_counts_follow_every_change_to_units_and_people() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    let counted = || async {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT (SELECT count(*) FROM org_units WHERE archived_at IS NULL),
                    (SELECT count(*) FROM people WHERE active)",
        )
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    // Statements that change several rows at once, or rows whose count does not change.
    let changes = [
        "UPDATE org_units SET archived_at = now() WHERE kind = 'team' AND name < 'M'",
        "UPDATE people SET active = false WHERE name < 'F'",
        "UPDATE people SET name = name || ' (renamed)'",
        "INSERT INTO people (id, name, email, active)
         VALUES (gen_random_uuid(), 'Temp One', 'temp1@example.com', true),
                (gen_random_uuid(), 'Temp Two', 'temp2@example.com', false)",
        "DELETE FROM people WHERE email LIKE 'temp%@example.com'",
        "UPDATE org_units SET archived_at = NULL WHERE name < 'C'",
        "UPDATE people SET active = true WHERE name < 'C'",
    ];
    for change in changes {
        sqlx::query(change).execute(&app.db).await.unwrap();
        let (units, people) = counted().await;
        let text = app.get("/").await.text();
        assert!(
            text.contains(&format!(" {units} units"))
                && text.contains(&format!(" {people} active people")),
            "after {change}: {units} units and {people} people counted, the home page says {text}"
        );
    }
    assert_ne!(counted().await, (12, 38), "the changes changed the counts");
}

#[tokio::test]
async fn the_demo_can_be_loaded_twice_without_duplicates() {
    let app = TestApp::new().await;
    let first = yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    assert_eq!((first.units, first.people, first.periods), (12, 37, 4));
    assert_eq!(
        (first.epics, first.iterations, first.objectives),
        (32, 12, 11)
    );
    let second = yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    assert_eq!((second.units, second.people, second.periods), (0, 0, 0));
    assert_eq!(
        (second.epics, second.iterations, second.objectives),
        (0, 0, 0)
    );
    // The cascade of DOMAIN.md, with the team's progress rolled up into the division's.
    let tree = app.get("/okrs").await.text();
    let division = tree
        .find("Expand access to dual enrollment opportunities")
        .expect("the division objective");
    let team = tree
        .find("Improve onboarding for new learners")
        .expect("the team objective");
    assert!(division < team, "{tree}");
    assert!(
        tree.contains("80% of new users complete onboarding within 7 days 45% → 80% · now 66%"),
        "{tree}"
    );
    assert!(tree.contains("Learners find the course they are looking for"));
    // Planning: ranked backlogs with capacity and cost, iterations with reviewed goals.
    let search: uuid::Uuid = sqlx::query_scalar("SELECT id FROM org_units WHERE name = 'Search'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let backlog = app
        .get(&format!("/org/units/{search}/backlog"))
        .await
        .text();
    assert!(
        backlog.contains("of 12 team-weeks committed in 2026 Q2"),
        "{backlog}"
    );
    assert!(
        backlog.contains("A team-week costs 21,000 EUR (the rate of Platform)"),
        "{backlog}"
    );
    assert!(backlog.contains("ranked epics"), "a ranked list: {backlog}");
    let unit = app.get(&format!("/org/units/{search}")).await.text();
    assert!(
        unit.contains("2 of 3 reviewed goals met, 1 partly over 4 iterations"),
        "{unit}"
    );
    assert!(
        unit.contains("Improve search response time by 5%"),
        "{unit}"
    );
    // The seed examples, and the gaps a real backlog has.
    let epics = app.get("/epics?q=onboarding").await.text();
    assert!(epics.contains("New onboarding for learners"), "{epics}");
    let missing_owner = app.get("/epics?missing=owner").await.text();
    assert!(
        missing_owner.contains("Event schema registry")
            && missing_owner.contains("Multi-region failover")
    );
    let led: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outcomes WHERE leads_to_id IS NOT NULL")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(led >= 3, "behaviours lead to business results");
    let tree = app.get("/org").await.text();
    assert!(
        tree.contains("Northwind Learning")
            && tree.contains("Dual Enrollment")
            && tree.contains("Priya Raman Product manager")
    );
    let roles: Vec<(String, i64)> =
        sqlx::query_as("SELECT role, count(*) FROM memberships GROUP BY role ORDER BY role")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        roles,
        vec![
            ("engineer".into(), 16),
            ("leader".into(), 5),
            ("product_manager".into(), 8),
            ("tech_lead".into(), 8)
        ]
    );
}

#[tokio::test]
async fn a_panic_answers_the_plain_500_page_without_internals() {
    let app = TestApp::new().await;
    let routes = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            panic!("secret detail: password=hunter2");
            #[allow(unreachable_code)]
            ""
        }),
    );
    let state = yardstick::AppState::new(app.db.pool().clone(), app.clock.clone());
    let router = yardstick::http::with_middleware(routes, state);
    let response = tower::ServiceExt::oneshot(
        router,
        axum::http::Request::get("/boom")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("Something went wrong") && body.contains("Nothing you entered was saved")
    );
    assert!(!body.contains("secret") && !body.contains("hunter2") && !body.contains("panicked"));
}

#[tokio::test]
async fn pages_are_compressed_for_browsers_that_ask_and_huge_bodies_are_refused() {
    let app = TestApp::new().await;
    let request = axum::http::Request::get("/org")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(axum::body::Body::empty())
        .unwrap();
    let page = app.request(request).await;
    assert_eq!(page.headers[header::CONTENT_ENCODING], "gzip");

    let huge = "x".repeat(2 * 1024 * 1024);
    let page = app
        .post("/people", &[("name", &huge), ("email", "a@b.example")])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.text().contains("This request is too large"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE account_role IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_form_body_that_cannot_be_read_gets_a_plain_page_and_saves_nothing() {
    let app = TestApp::new().await;
    // A field sent twice cannot be one value.
    let page = app
        .post(
            "/people",
            &[
                ("name", "Ada"),
                ("name", "Grace"),
                ("email", "ada@northwind.example"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.text().contains("This form could not be read")
            && page
                .text()
                .contains("Nothing was saved: the field “name” appears more than once")
    );
    let request = axum::http::Request::post("/periods")
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    assert_eq!(app.request(request).await.status, StatusCode::BAD_REQUEST);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE account_role IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_demo_dashboard_shows_every_figure_with_the_list_behind_it() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    let page = app.get("/dashboard").await;
    let text = page.text();
    for figure in [
        // Coverage, alignment, loops due and closure, realisation beside partly,
        // not achieved and inconclusive.
        "Total 31 77% (24) · without outcome : Total 6% (2) · not aligned : Total 6 67% (4 closed) 4 67% (2 achieved) 0 1 1",
        "Overdue loops 2",
        "2026 Q2 4 2 0 1 1 67%",
        // Flow: median / 85th percentile, and revisions.
        "Total 28 / 28 24 / 28 0 of 28",
        // Value and ROI: money values and their return; value points have no ROI.
        "Total EUR 2 280,000 (2 valued) 355,000 (2 epics) 108,000 EUR (2 costed) 3.29",
        "Total value points 8 1,775 (8 valued) — (0 epics) 756,000 EUR (8 costed) — (value not in money)",
        // OKR health and the check-in that lapsed.
        "Total 11 52% 24 38% (9) 38% (9) 8% (2) 17% (4) 1 check-ins overdue",
        "New partner live in under 10 days Partners integrate in days, not months Partner Integrations Olivia Park 15 days since (every 7)",
        // Anticipated vs actual.
        "Grades synced within 24 hours · LMS grade sync 65% 95% 96% Achieved 18 May 2026",
    ] {
        assert!(text.contains(figure), "{figure} in {text}");
    }
    let overdue = page
        .link("The overdue loops in the loops queue")
        .expect("the overdue loops link");
    let queue = app.get(&overdue).await.text();
    assert!(
        queue.contains("2 overdue · 0 due soon · 0 measuring"),
        "{queue}"
    );
    assert!(queue.contains("Sign-ups losing progress") && queue.contains("Median grading time"));
}
