//! Cascading OKRs: objectives and key results through the pages, the cascade rules,
//! progress for every direction rolled up three levels, check-ins and their cadence, and
//! closed periods.

use axum::http::StatusCode;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::common::{Page, TestApp};

struct Org {
    company: Uuid,
    division: Uuid,
    team: Uuid,
    other_division: Uuid,
    year: Uuid,
    q2: Uuid,
    q3: Uuid,
}

/// Company → Learner Experience → Onboarding, plus Platform; 2026, its Q2 (holding the
/// test clock's 1 Jun 2026) and Q3.
async fn org(app: &TestApp) -> Org {
    let company = app.create_unit("Northwind", "company", None).await;
    let division = app
        .create_unit("Learner Experience", "division", Some(company))
        .await;
    let team = app.create_unit("Onboarding", "team", Some(division)).await;
    let other_division = app.create_unit("Platform", "division", Some(company)).await;
    let mut ids = Vec::new();
    for (name, cadence, start, end) in [
        ("2026", "year", "2026-01-01", "2026-12-31"),
        ("2026 Q2", "quarter", "2026-04-01", "2026-06-30"),
        ("2026 Q3", "quarter", "2026-07-01", "2026-09-30"),
    ] {
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES ($1, $2, $3, $4::date, $5::date)")
            .bind(id)
            .bind(name)
            .bind(cadence)
            .bind(start)
            .bind(end)
            .execute(&app.db)
            .await
            .unwrap();
        ids.push(id);
    }
    Org {
        company,
        division,
        team,
        other_division,
        year: ids[0],
        q2: ids[1],
        q3: ids[2],
    }
}

async fn objective(
    app: &TestApp,
    title: &str,
    unit: Uuid,
    period: Uuid,
    parent: Option<Uuid>,
) -> Page {
    let (unit, period) = (unit.to_string(), period.to_string());
    let parent = parent.map(|p| p.to_string()).unwrap_or_default();
    app.post(
        "/objectives",
        &[
            ("title", title),
            ("unit_id", &unit),
            ("period_id", &period),
            ("owner_email", crate::common::ADMIN_EMAIL),
            ("parent_key_result_id", &parent),
        ],
    )
    .await
}

fn as_pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

fn id_in(page: &Page, prefix: &str) -> Uuid {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    page.location().trim_start_matches(prefix).parse().unwrap()
}

/// Adds a key result through the form; returns its id.
async fn key_result(
    app: &TestApp,
    objective: Uuid,
    title: &str,
    goal: [&str; 3],
    source: &str,
    weight: &str,
) -> Uuid {
    let objective_id = objective.to_string();
    let [direction, start, target] = goal;
    let (target, lower, upper) = match target.split_once('-') {
        Some((lower, upper)) if direction == "stay_within" => ("", lower, upper),
        _ => (target, "", ""),
    };
    let added = app
        .post(
            "/key-results",
            &[
                ("objective_id", &objective_id),
                ("title", title),
                ("metric", title),
                ("unit", "percent"),
                ("direction", direction),
                ("start_value", start),
                ("target", target),
                ("band_lower", lower),
                ("band_upper", upper),
                ("owner_email", crate::common::ADMIN_EMAIL),
                ("weight", weight),
                ("progress_source", source),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    sqlx::query_scalar("SELECT id FROM key_results WHERE title = $1")
        .bind(title)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn check_in(
    app: &TestApp,
    key_result: Uuid,
    value: &str,
    confidence: &str,
    day: &str,
) -> Page {
    app.post(
        &format!("/key-results/{key_result}/check-ins"),
        &[
            ("value", value),
            ("confidence", confidence),
            ("checked_on", day),
            ("note", "weekly check-in"),
        ],
    )
    .await
}

#[tokio::test]
async fn progress_follows_each_direction_clamped_and_the_objective_takes_the_weighted_mean() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let created = objective(
        &app,
        "Improve onboarding for new learners",
        o.team,
        o.q2,
        None,
    )
    .await;
    let objective = id_in(&created, "/objectives/");
    let up = key_result(
        &app,
        objective,
        "Completion within 7 days",
        ["increase", "40", "80"],
        "check_ins",
        "1",
    )
    .await;
    let down = key_result(
        &app,
        objective,
        "Support tickets per 100 learners",
        ["decrease", "20", "10"],
        "check_ins",
        "2",
    )
    .await;
    let band = key_result(
        &app,
        objective,
        "Availability",
        ["stay_within", "99.5", "99.5-100"],
        "check_ins",
        "1",
    )
    .await;
    // 60 of 40 → 80: 50%. 4 of 20 → 10: beyond the target, clamped to 100%. 99 is outside
    // the band: 0%.
    for (kr, value) in [(up, "60"), (down, "4"), (band, "99")] {
        let page = check_in(&app, kr, value, "6", "2026-05-31").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    }
    let shown = app.get(&format!("/objectives/{objective}")).await.text();
    assert!(
        shown.contains("Completion within 7 days 40% → 80% · now 60%"),
        "{shown}"
    );
    assert!(
        shown.contains("Support tickets per 100 learners 20% → 10% · now 4%"),
        "{shown}"
    );
    assert!(shown.contains("Availability within 99.5–100%"), "{shown}");
    // (0.5 × 1 + 1 × 2 + 0 × 1) ÷ 4 = 62.5%, shown as 62% (halves round to even).
    let stored: Vec<(Option<Decimal>, Option<i16>)> =
        sqlx::query_as("SELECT current_value, confidence FROM key_results ORDER BY position")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(stored[0], (Some(60.into()), Some(6)));
    let progress = &shown[shown.find("Progress").unwrap()..];
    assert!(progress.starts_with("Progress 62%"), "{progress}");
    assert!(shown.contains("At risk (6/10)"), "{shown}");
}

#[tokio::test]
async fn a_rolled_up_key_result_takes_the_progress_of_objectives_cascaded_three_levels_down() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let company = id_in(
        &objective(&app, "Expand access to learning", o.company, o.year, None).await,
        "/objectives/",
    );
    let company_kr = key_result(
        &app,
        company,
        "Active learners",
        ["increase", "100", "200"],
        "roll_up",
        "1",
    )
    .await;
    let division = id_in(
        &objective(
            &app,
            "Expand access to dual enrollment",
            o.division,
            o.q2,
            Some(company_kr),
        )
        .await,
        "/objectives/",
    );
    let division_kr = key_result(
        &app,
        division,
        "Dual-enrolled learners",
        ["increase", "0", "100"],
        "roll_up",
        "1",
    )
    .await;
    let team = id_in(
        &objective(
            &app,
            "Improve onboarding for new learners",
            o.team,
            o.q2,
            Some(division_kr),
        )
        .await,
        "/objectives/",
    );
    let team_kr = key_result(
        &app,
        team,
        "Onboarding completion",
        ["increase", "40", "80"],
        "check_ins",
        "1",
    )
    .await;
    assert_eq!(
        check_in(&app, team_kr, "76", "8", "2026-06-01")
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    // 76 of 40 → 80 = 90%, rolled up unchanged through both levels.
    let tree = app.get(&format!("/okrs?period={}", o.year)).await;
    let text = tree.text();
    let company_at = text
        .find("Expand access to learning")
        .expect("the company objective");
    let team_at = text
        .find("Improve onboarding for new learners")
        .expect("the team objective");
    assert!(company_at < team_at, "{text}");
    assert!(
        text.contains("Expand access to learning Northwind · 2026 · Test Admin 90%"),
        "{text}"
    );
    assert!(
        text.contains("Dual-enrolled learners 0% → 100% · Test Admin 90% 90% Rolled up"),
        "{text}"
    );
    assert!(
        text.contains(
            "Onboarding completion 40% → 80% · now 76% · Test Admin 90% 90% On track (8/10)"
        ),
        "{text}"
    );
    // The same in two statements for the objectives and two for the cascade, however deep
    // (counted with the roll-ups refreshed beforehand, and every level asked for: the
    // tree above is kept until something in it changes).
    let every_level = format!("/okrs?period={}&levels=all", o.year);
    yardstick::dashboard::rollup::refresh(&app.db)
        .await
        .unwrap();
    let statements = app.get(&every_level).await.statements();
    let deeper = id_in(
        &objective(&app, "Guided first lessons", o.team, o.q2, Some(team_kr)).await,
        "/objectives/",
    );
    key_result(
        &app,
        deeper,
        "First lesson on day one",
        ["increase", "30", "60"],
        "check_ins",
        "1",
    )
    .await;
    yardstick::dashboard::rollup::refresh(&app.db)
        .await
        .unwrap();
    let deeper_tree = app.get(&every_level).await;
    assert!(deeper_tree.text().contains("Guided first lessons"));
    assert_eq!(deeper_tree.statements(), statements);
}

#[tokio::test]
async fn the_cascade_keeps_to_the_parents_unit_and_period_and_cannot_loop() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let division = id_in(
        &objective(
            &app,
            "Expand access to dual enrollment",
            o.division,
            o.q2,
            None,
        )
        .await,
        "/objectives/",
    );
    let kr = key_result(
        &app,
        division,
        "Dual-enrolled learners",
        ["increase", "0", "100"],
        "roll_up",
        "1",
    )
    .await;

    let elsewhere = objective(&app, "Faster search", o.other_division, o.q2, Some(kr)).await;
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(elsewhere.text().contains(
        "A cascaded objective belongs to the parent key result's unit or a unit beneath it"
    ));
    let later = objective(&app, "Improve onboarding", o.team, o.q3, Some(kr)).await;
    assert_eq!(later.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        later
            .text()
            .contains("A cascaded objective's period must be the parent's period or one inside it")
    );
    assert!(
        later.body.contains("value=\"Improve onboarding\""),
        "the typing is kept"
    );

    let team = id_in(
        &objective(&app, "Improve onboarding", o.team, o.q2, Some(kr)).await,
        "/objectives/",
    );
    let team_kr = key_result(
        &app,
        team,
        "Onboarding completion",
        ["increase", "40", "80"],
        "check_ins",
        "1",
    )
    .await;
    // The division objective cannot be cascaded from its own team's key result.
    let version: i32 = sqlx::query_scalar("SELECT version FROM objectives WHERE id = $1")
        .bind(division)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let looped = app
        .post(
            &format!("/objectives/{division}"),
            &[
                ("title", "Expand access to dual enrollment"),
                ("unit_id", &o.team.to_string()),
                ("period_id", &o.q2.to_string()),
                ("owner_email", crate::common::ADMIN_EMAIL),
                ("parent_key_result_id", &team_kr.to_string()),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(looped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        looped.text().contains("the cascade cannot loop"),
        "{}",
        looped.text()
    );
    let parent: Option<Uuid> =
        sqlx::query_scalar("SELECT parent_key_result_id FROM objectives WHERE id = $1")
            .bind(division)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(parent, None);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'objective_created'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn an_objective_cascaded_from_another_key_result_moves_to_that_branch_of_the_tree() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let mut krs = Vec::new();
    for (title, kr) in [
        ("Expand access", "Dual-enrolled learners"),
        ("Grow revenue", "Paying schools"),
    ] {
        let id = id_in(
            &objective(&app, title, o.division, o.q2, None).await,
            "/objectives/",
        );
        krs.push(key_result(&app, id, kr, ["increase", "0", "100"], "roll_up", "1").await);
    }
    let team = id_in(
        &objective(&app, "Improve onboarding", o.team, o.q2, Some(krs[0])).await,
        "/objectives/",
    );
    // The tree's CSV row of the team's objective: its level and the key result above it.
    let row = || async {
        let csv = app.get(&format!("/okrs/csv?period={}", o.q2)).await;
        let line = csv
            .body
            .lines()
            .find(|l| l.contains("Improve onboarding"))
            .unwrap_or_else(|| panic!("{}", csv.body))
            .to_string();
        let cells: Vec<String> = line.split(',').map(str::to_string).collect();
        (cells[0].clone(), cells[3].clone())
    };
    assert_eq!(row().await, ("2".to_string(), krs[0].to_string()));

    let cascade_from = |parent: String| {
        let app = &app;
        let o = &o;
        async move {
            let version: i32 = sqlx::query_scalar("SELECT version FROM objectives WHERE id = $1")
                .bind(team)
                .fetch_one(&app.db)
                .await
                .unwrap();
            let page = app
                .post(
                    &format!("/objectives/{team}"),
                    &[
                        ("title", "Improve onboarding"),
                        ("unit_id", &o.team.to_string()),
                        ("period_id", &o.q2.to_string()),
                        ("owner_email", crate::common::ADMIN_EMAIL),
                        ("parent_key_result_id", &parent),
                        ("version", &version.to_string()),
                    ],
                )
                .await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
        }
    };
    cascade_from(krs[1].to_string()).await;
    assert_eq!(row().await, ("2".to_string(), krs[1].to_string()));
    // Cascaded from nothing, it starts a branch of its own.
    cascade_from(String::new()).await;
    assert_eq!(row().await, ("1".to_string(), String::new()));
}

#[tokio::test]
async fn a_key_result_is_due_for_a_check_in_after_its_cadence_and_bad_check_ins_are_refused_and_kept()
 {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let (objective_id, kr) = onboarding_key_result(&app, &o).await;
    sqlx::query("UPDATE key_results SET created_at = '2026-05-20 09:00Z' WHERE id = $1")
        .bind(kr)
        .execute(&app.db)
        .await
        .unwrap();
    assert!(
        app.get(&format!("/objectives/{objective_id}"))
            .await
            .text()
            .contains("Check-in due")
    );
    let home = app.get("/").await.text();
    assert!(
        home.contains(
            "My key results Onboarding completion Improve onboarding · 2026 Q2 Check-in due"
        ),
        "{home}"
    );

    let future = check_in(&app, kr, "55", "7", "2026-06-02").await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(future.text().contains("A check-in cannot be in the future"));
    assert!(future.body.contains("value=\"55\""), "the value is kept");
    let bad = check_in(&app, kr, "lots", "11", "2026-06-01").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = bad.text();
    assert!(
        text.contains("The value must be a number")
            && text.contains("Choose a confidence from 0 to 10"),
        "{text}"
    );

    // A back-dated check-in does not replace a later one as the current value.
    assert_eq!(
        check_in(&app, kr, "55", "7", "2026-05-30").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        check_in(&app, kr, "50", "5", "2026-05-25").await.status,
        StatusCode::SEE_OTHER
    );
    let current: (Option<Decimal>, Option<i16>) =
        sqlx::query_as("SELECT current_value, confidence FROM key_results WHERE id = $1")
            .bind(kr)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(current, (Some(55.into()), Some(7)));
    let page = app.get(&format!("/key-results/{kr}")).await;
    // The chart: the two check-ins against the path, labelled, beside the table.
    let points = page
        .body
        .split("class=\"chart-line\" points=\"")
        .nth(1)
        .expect("a chart line");
    let points = &points[..points.find('"').unwrap()];
    assert_eq!(points.split(' ').count(), 2, "{points}");
    assert!(
        page.body
            .contains("check-ins over 2026 Q2 against the straight path from start to target")
    );
    let page = page.text();
    assert!(!page.contains("Check-in due"), "{page}");
    assert!(
        page.contains("30 May 2026 55 On track (7/10) weekly check-in"),
        "{page}"
    );
    // Its change history is its own: both check-ins, newest first, nothing refused.
    let history = &page[page.find("Change history").expect("a history section")..];
    assert_eq!(
        history.matches("key result checked in").count(),
        2,
        "{history}"
    );
}

#[tokio::test]
async fn a_closed_period_is_read_only() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let (objective_id, kr) = onboarding_key_result(&app, &o).await;
    sqlx::query("UPDATE periods SET closed_at = now() WHERE id = $1")
        .bind(o.q2)
        .execute(&app.db)
        .await
        .unwrap();
    let refused = check_in(&app, kr, "60", "7", "2026-06-01").await;
    let shown = app.follow(&refused).await.text();
    assert!(shown.contains("period is closed"), "{shown}");
    let check_ins: i64 = sqlx::query_scalar("SELECT count(*) FROM check_ins")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(check_ins, 0);
    let new = objective(&app, "Another", o.team, o.q2, None).await;
    assert_eq!(new.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        new.text()
            .contains("That period is closed: its OKRs are read-only")
    );
    assert!(
        !app.get(&format!("/objectives/{objective_id}"))
            .await
            .text()
            .contains("Add a key result")
    );
}

#[tokio::test]
async fn an_epics_outcome_is_linked_to_the_key_result_it_serves_from_the_epic_page() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let objective_id = id_in(
        &objective(
            &app,
            "Improve onboarding for new learners",
            o.team,
            o.q2,
            None,
        )
        .await,
        "/objectives/",
    );
    let kr = key_result(
        &app,
        objective_id,
        "80% of new users complete onboarding within 7 days",
        ["increase", "45", "80"],
        "check_ins",
        "1",
    )
    .await;
    let (epic, outcome) = epic_with_outcome(&app, o.team).await;

    let found = app
        .get(&format!("/epics/{epic}?kr_q=onboarding"))
        .await
        .text();
    assert!(found.contains("80% of new users complete onboarding within 7 days Improve onboarding for new learners · Onboarding · 2026 Q2"), "{found}");
    let linked = app
        .post(
            &format!("/outcomes/{outcome}/key-results"),
            &[("key_result_id", &kr.to_string())],
        )
        .await;
    assert_eq!(linked.location(), format!("/epics/{epic}#alignment"));
    let shown = app.follow(&linked).await.text();
    assert!(
        shown.contains("Now serves “80% of new users complete onboarding within 7 days”"),
        "{shown}"
    );
    assert!(shown.contains("Key results it serves 80% of new users complete onboarding within 7 days Improve onboarding for new learners"), "{shown}");
    let kr_page = app.get(&format!("/key-results/{kr}")).await.text();
    assert!(kr_page.contains("Anticipated outcomes serving it New learners finish onboarding New onboarding for learners · draft Loop: Not started"), "{kr_page}");
    let again = app
        .post(
            &format!("/outcomes/{outcome}/key-results"),
            &[("key_result_id", &kr.to_string())],
        )
        .await;
    assert!(app.follow(&again).await.text().contains("Already linked"));

    let unlinked = app
        .post(&format!("/outcomes/{outcome}/key-results/{kr}/remove"), &[])
        .await;
    assert_eq!(unlinked.status, StatusCode::SEE_OTHER);
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM outcome_key_results")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(links, 0);
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY at, action")
            .bind(outcome)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, ["outcome_linked", "outcome_unlinked"]);
}

#[tokio::test]
async fn closing_a_period_freezes_final_scores_asks_for_reflections_and_unfinished_work_carries_over()
 {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let (objective_id, done) = onboarding_key_result(&app, &o).await;
    let halfway = key_result(
        &app,
        objective_id,
        "Time to first lesson",
        ["decrease", "25", "10"],
        "check_ins",
        "1",
    )
    .await;
    assert_eq!(
        check_in(&app, done, "85", "9", "2026-05-30").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        check_in(&app, halfway, "17.5", "5", "2026-05-30")
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let closed = app.post(&format!("/periods/{}/close", o.q2), &[]).await;
    assert!(
        app.follow(&closed)
            .await
            .text()
            .contains("2026 Q2 is closed: 2 key results have their final score")
    );
    let scores: Vec<(String, Option<Decimal>)> =
        sqlx::query_as("SELECT title, final_score FROM key_results ORDER BY position")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        scores[0],
        ("Onboarding completion".into(), Some(Decimal::ONE))
    );
    assert_eq!(
        scores[1],
        ("Time to first lesson".into(), Some("0.5".parse().unwrap()))
    );
    let status: String = sqlx::query_scalar("SELECT status FROM objectives WHERE id = $1")
        .bind(objective_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "closed");

    // The owner is asked for a reflection, and may write it although the period is closed.
    let home = app.get("/").await.text();
    assert!(
        home.contains("Time to first lesson Improve onboarding · 2026 Q2 At risk Reflection asked"),
        "{home}"
    );
    let too_long = "x".repeat(2_001);
    let refused = app
        .post(
            &format!("/key-results/{halfway}/reflection"),
            &[("reflection", too_long.as_str())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("Write the reflection in a few sentences")
    );
    assert!(refused.body.contains(&too_long), "the typing is kept");
    let reflected = app
        .post(
            &format!("/key-results/{halfway}/reflection"),
            &[(
                "reflection",
                "The video intro helped; the sample lesson did not load fast enough.",
            )],
        )
        .await;
    assert!(
        app.follow(&reflected)
            .await
            .text()
            .contains("Final score: 50%")
    );
    assert!(
        !app.get("/")
            .await
            .text()
            .contains("Time to first lesson Improve onboarding · 2026 Q2 At risk Reflection asked")
    );

    // Carried into Q3: only the unfinished key result, starting where it stood.
    let carried = app
        .post(
            &format!("/objectives/{objective_id}/carry-over"),
            &[("period_id", &o.q3.to_string())],
        )
        .await;
    let copy = id_in(&carried, "/objectives/");
    let copied: Vec<(String, Decimal, Option<Uuid>)> = sqlx::query_as(
        "SELECT title, start_value, carried_from_id FROM key_results WHERE objective_id = $1",
    )
    .bind(copy)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        copied,
        [(
            "Time to first lesson".to_string(),
            "17.5".parse().unwrap(),
            Some(halfway)
        )]
    );
    let (period, from, status): (Uuid, Option<Uuid>, String) =
        sqlx::query_as("SELECT period_id, carried_from_id, status FROM objectives WHERE id = $1")
            .bind(copy)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (period, from, status.as_str()),
        (o.q3, Some(objective_id), "draft")
    );

    // Reopened, the period takes check-ins again.
    app.post(&format!("/periods/{}/reopen", o.q2), &[]).await;
    assert_eq!(
        check_in(&app, done, "86", "9", "2026-06-01").await.status,
        StatusCode::SEE_OTHER
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('period_closed', 'period_reopened', 'objective_carried_over', 'key_result_reflected') ORDER BY at, action",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(actions.len(), 4, "{actions:?}");
}

#[tokio::test]
async fn an_outcome_is_proposed_bottom_up_as_a_team_key_result_that_follows_it() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let objective_id = id_in(
        &objective(
            &app,
            "Improve onboarding for new learners",
            o.team,
            o.q2,
            None,
        )
        .await,
        "/objectives/",
    );
    let (_, outcome) = epic_with_outcome(&app, o.team).await;
    let form = app
        .get(&format!("/key-results/propose?outcome={outcome}"))
        .await;
    assert!(
        form.text()
            .contains("Improve onboarding for new learners (Onboarding, 2026 Q2)"),
        "{}",
        form.text()
    );
    for prefilled in [
        "value=\"Onboarding completion\"",
        "value=\"45\"",
        "value=\"80\"",
    ] {
        assert!(form.body.contains(prefilled), "{prefilled}");
    }
    let fields = |objective: &str| {
        vec![
            ("source_outcome_id".to_string(), outcome.to_string()),
            ("objective_id".into(), objective.to_string()),
            ("title".into(), "New learners finish onboarding".into()),
            ("metric".into(), "Onboarding completion".into()),
            ("unit".into(), "percent".into()),
            ("direction".into(), "increase".into()),
            ("start_value".into(), "45".into()),
            ("target".into(), "80".into()),
            ("owner_email".into(), crate::common::ADMIN_EMAIL.into()),
            ("weight".into(), "1".into()),
            ("progress_source".into(), "outcome".into()),
        ]
    };
    let unchosen = fields("");
    let refused = app.post("/key-results/propose", &as_pairs(&unchosen)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("Choose the objective this key result serves")
    );
    let chosen = fields(&objective_id.to_string());
    let added = app.post("/key-results/propose", &as_pairs(&chosen)).await;
    let kr = id_in(&added, "/key-results/");
    let (source, follows): (String, Option<Uuid>) =
        sqlx::query_as("SELECT progress_source, source_outcome_id FROM key_results WHERE id = $1")
            .bind(kr)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((source.as_str(), follows), ("outcome", Some(outcome)));
    // It follows the outcome's latest measurement: 62.5 of 45 → 80 is 50%.
    sqlx::query("INSERT INTO measurements (id, outcome_id, value, measured_on) VALUES (gen_random_uuid(), $1, 62.5, '2026-05-30')")
        .bind(outcome)
        .execute(&app.db)
        .await
        .unwrap();
    let page = app.get(&format!("/key-results/{kr}")).await.text();
    assert!(page.contains("Now 62.5%"), "{page}");
    assert!(page.contains("Progress 50%"), "{page}");
    assert!(
        page.contains("Anticipated outcomes serving it New learners finish onboarding"),
        "{page}"
    );
}

/// The epic "New onboarding for learners" of `team` with one outcome (45% → 80%).
async fn epic_with_outcome(app: &TestApp, team: Uuid) -> (Uuid, Uuid) {
    let epic = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, work_type, title) VALUES ($1, $2, 'feature', 'New onboarding for learners')")
        .bind(epic)
        .bind(team)
        .execute(&app.db)
        .await
        .unwrap();
    let outcome = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES ($1, $2, 'behaviour', 'New learners finish onboarding', 'Onboarding completion', 'percent', 'increase', 45, 80, '2026-09-30')",
    )
    .bind(outcome)
    .bind(epic)
    .execute(&app.db)
    .await
    .unwrap();
    (epic, outcome)
}

#[tokio::test]
async fn objectives_and_key_results_of_a_departed_owner_need_an_owner_and_are_handed_over_at_once()
{
    let app = TestApp::new().await;
    let o = org(&app).await;
    let (_, kr) = onboarding_key_result(&app, &o).await;
    let leaver = app
        .create_person("Sam Porter", "sam@northwind.example")
        .await;
    let heir = app
        .create_person("Tomás Herrera", "tomas@northwind.example")
        .await;
    sqlx::query("UPDATE objectives SET owner_id = $1")
        .bind(leaver)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE key_results SET owner_id = $1")
        .bind(leaver)
        .execute(&app.db)
        .await
        .unwrap();
    let person = app.get(&format!("/people/{leaver}")).await;
    assert!(
        person.body.contains(&format!("href=\"/key-results/{kr}\"")),
        "{}",
        person.text()
    );
    sqlx::query("UPDATE people SET active = false WHERE id = $1")
        .bind(leaver)
        .execute(&app.db)
        .await
        .unwrap();
    let needs = app.get("/needs-owner").await.text();
    assert!(
        needs.contains("Onboarding Improve onboarding Objective Sam Porter Inactive"),
        "{needs}"
    );
    assert!(
        needs.contains("Onboarding Onboarding completion Key result Sam Porter Inactive"),
        "{needs}"
    );

    let handed = app
        .post(
            &format!("/people/{leaver}/reassign"),
            &[("owner_email", "tomas@northwind.example")],
        )
        .await;
    assert!(
        app.follow(&handed)
            .await
            .text()
            .contains("2 records now owned by Tomás Herrera")
    );
    let owners: Vec<Option<Uuid>> = sqlx::query_scalar(
        "SELECT owner_id FROM objectives UNION ALL SELECT owner_id FROM key_results",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(owners, [Some(heir), Some(heir)]);
}

#[tokio::test]
async fn a_stale_objective_edit_answers_409_with_both_versions_and_the_typing_kept() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let id = id_in(
        &objective(&app, "Improve onboarding", o.team, o.q2, None).await,
        "/objectives/",
    );
    assert_eq!(
        edit_objective(&app, id, &o, "Improve onboarding for new learners")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let stale = edit_objective(&app, id, &o, "Onboarding that keeps learners").await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let text = stale.text();
    assert!(
        text.contains("Someone else changed this objective while you were editing"),
        "{text}"
    );
    assert!(
        text.contains("Title Improve onboarding for new learners Onboarding that keeps learners"),
        "{text}"
    );
    assert!(
        stale
            .body
            .contains("value=\"Onboarding that keeps learners\"")
    );
    let stored: String = sqlx::query_scalar("SELECT title FROM objectives WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, "Improve onboarding for new learners");
    // Cascading offers only the parent's unit and the units beneath it.
    let kr = key_result(
        &app,
        id,
        "Onboarding completion",
        ["increase", "40", "80"],
        "roll_up",
        "1",
    )
    .await;
    let form = app
        .get(&format!("/objectives/new?key_result={kr}"))
        .await
        .text();
    assert!(
        form.contains("Onboarding") && !form.contains("Platform"),
        "{form}"
    );
}

/// Saves the objective's title as someone who read version 1.
async fn edit_objective(app: &TestApp, id: Uuid, o: &Org, title: &str) -> Page {
    let (unit, period) = (o.team.to_string(), o.q2.to_string());
    app.post(
        &format!("/objectives/{id}"),
        &[
            ("title", title),
            ("unit_id", &unit),
            ("period_id", &period),
            ("owner_email", crate::common::ADMIN_EMAIL),
            ("version", "1"),
        ],
    )
    .await
}

#[tokio::test]
async fn an_objectives_owner_from_another_unit_may_edit_it_but_not_move_it_to_a_unit_they_are_not_in()
 {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let id = id_in(
        &objective(&app, "Improve onboarding", o.team, o.q2, None).await,
        "/objectives/",
    );
    let owner = app
        .account("Omar Owner", "omar@northwind.example", "member")
        .await;
    sqlx::query("UPDATE objectives SET owner_id = $1")
        .bind(owner)
        .execute(&app.db)
        .await
        .unwrap();
    let cookie = app.session_for(owner).await;
    let save = |unit: Uuid, version: &'static str| {
        let (unit, period) = (unit.to_string(), o.q2.to_string());
        let (app, cookie) = (&app, &cookie);
        async move {
            app.post_as(
                cookie,
                &format!("/objectives/{id}"),
                &[
                    ("title", "Improve onboarding for new learners"),
                    ("unit_id", &unit),
                    ("period_id", &period),
                    ("owner_email", "omar@northwind.example"),
                    ("version", version),
                ],
            )
            .await
        }
    };
    assert_eq!(save(o.team, "1").await.status, StatusCode::SEE_OTHER);
    let moved = save(o.other_division, "2").await;
    assert_eq!(moved.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        moved
            .text()
            .contains("You can set objectives only for the units you belong to")
    );
    let (title, unit): (String, Uuid) =
        sqlx::query_as("SELECT title, org_unit_id FROM objectives WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (title.as_str(), unit),
        ("Improve onboarding for new learners", o.team)
    );
}

/// The Onboarding team's Q2 objective "Improve onboarding" with its key result
/// "Onboarding completion" (40% → 80%, checked in): their ids.
async fn onboarding_key_result(app: &TestApp, o: &Org) -> (Uuid, Uuid) {
    let objective_id = id_in(
        &objective(app, "Improve onboarding", o.team, o.q2, None).await,
        "/objectives/",
    );
    let kr = key_result(
        app,
        objective_id,
        "Onboarding completion",
        ["increase", "40", "80"],
        "check_ins",
        "1",
    )
    .await;
    (objective_id, kr)
}

#[tokio::test]
async fn a_large_tree_folds_the_objectives_cascaded_from_its_first_level_until_asked_for_every_level()
 {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let division = id_in(
        &objective(&app, "Expand access to learning", o.division, o.q2, None).await,
        "/objectives/",
    );
    let division_kr = key_result(
        &app,
        division,
        "Dual-enrolled learners",
        ["increase", "0", "100"],
        "check_ins",
        "1",
    )
    .await;
    let team = id_in(
        &objective(&app, "Team objective 0", o.team, o.q2, Some(division_kr)).await,
        "/objectives/",
    );
    let team_kr = key_result(
        &app,
        team,
        "Onboarding completion",
        ["increase", "40", "80"],
        "check_ins",
        "1",
    )
    .await;
    // 61 more like it: 63 objectives in all, more than a tree shows unfolded.
    sqlx::query(
        "INSERT INTO objectives
         SELECT (jsonb_populate_record(NULL::objectives, to_jsonb(o)
                 || jsonb_build_object('id', gen_random_uuid(), 'title', 'Team objective ' || n))).*
           FROM objectives o, generate_series(1, 61) n WHERE o.id = $1",
    )
    .bind(team)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO key_results
         SELECT (jsonb_populate_record(NULL::key_results, to_jsonb(k)
                 || jsonb_build_object('id', gen_random_uuid(), 'objective_id', o.id))).*
           FROM key_results k, objectives o
          WHERE k.objective_id = $1 AND o.title LIKE 'Team objective %' AND o.id <> $1",
    )
    .bind(team)
    .execute(&app.db)
    .await
    .unwrap();
    // Halfway, on the first team objective's own key result.
    check_in(&app, team_kr, "60", "7", "2026-05-31").await;
    let count = |page: &crate::common::Page, class: &str| {
        page.body
            .matches(&format!("<li class=\"{class}\">"))
            .count()
    };

    let folded = app.get(&format!("/okrs?period={}", o.q2)).await;
    let text = folded.text();
    assert!(
        text.contains("This tree holds 63 objectives: those cascaded from the first level’s key results are folded"),
        "{text}"
    );
    // Every objective, and only the first level's key result.
    assert_eq!(count(&folded, "tree-objective"), 63);
    assert_eq!(count(&folded, "tree-key-result"), 1);
    assert!(text.contains("Dual-enrolled learners"));
    assert!(!text.contains("Onboarding completion"));
    assert!(
        text.contains("Team objective 7 Onboarding · 2026 Q2 · Test Admin 0% 0% 1 key result"),
        "{text}"
    );
    // A folded objective's progress and key results are counted by the roll-up, which
    // the check-in (and the inserted key results) marked.
    assert!(
        text.contains("Team objective 0 Onboarding · 2026 Q2 · Test Admin 50% 50% 1 key result"),
        "{text}"
    );
    // Folded, the page read the first level's key result only.
    let cascade = yardstick::okrs::cascade::load_folding(
        &app.db,
        yardstick::okrs::cascade::Roots::Scope {
            starts_on: chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
            ends_on: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            unit: None,
        },
        60,
    )
    .await
    .unwrap();
    assert!(cascade.folded);
    assert_eq!(cascade.key_results.len(), 1);
    assert_eq!(cascade.key_result_count(&team), 1);
    assert_eq!(cascade.objective_percent(&team), "50%");
    // The download still holds every key result.
    let csv = app
        .get(&folded.link("Download this tree (CSV)").unwrap())
        .await;
    assert_eq!(csv.body.matches(",Key result,").count(), 63);

    let unfolded = app
        .get(
            &folded
                .link("Show every level")
                .expect("the link to every level"),
        )
        .await;
    assert_eq!(count(&unfolded, "tree-objective"), 63);
    assert_eq!(count(&unfolded, "tree-key-result"), 63);
    assert!(unfolded.text().contains("Onboarding completion"));
    assert!(
        unfolded
            .text()
            .contains("Team objective 0 Onboarding · 2026 Q2 · Test Admin 50% 50%"),
        "{}",
        unfolded.text()
    );
    // Choosing another unit or period keeps every level unfolded.
    assert!(
        unfolded
            .body
            .contains(r#"<input type="hidden" name="levels" value="all">"#)
    );
    assert!(
        !folded.body.contains(r#"name="levels""#),
        "the folded tree's form does not unfold"
    );
    let again = unfolded
        .link("Fold the levels beneath the first")
        .expect("the link back");
    assert_eq!(count(&app.get(&again).await, "tree-key-result"), 1);
}

#[tokio::test]
async fn a_tree_seen_again_is_kept_until_something_beneath_it_changes() {
    let app = TestApp::new().await;
    let o = org(&app).await;
    let division = id_in(
        &objective(&app, "Reach more learners", o.division, o.q2, None).await,
        "/objectives/",
    );
    let reached = key_result(
        &app,
        division,
        "Learners reached",
        ["increase", "0", "100"],
        "roll_up",
        "1",
    )
    .await;
    let team = id_in(
        &objective(&app, "Onboard them well", o.team, o.q2, Some(reached)).await,
        "/objectives/",
    );
    let completion = key_result(
        &app,
        team,
        "Completion",
        ["increase", "0", "100"],
        "check_ins",
        "1",
    )
    .await;
    let tree = format!("/okrs?unit={}&period={}&levels=all", o.division, o.q2);
    let first = app.get(&tree).await;
    assert!(
        first
            .text()
            .contains("Onboard them well Onboarding · 2026 Q2 · Test Admin 0%"),
        "{}",
        first.text()
    );
    let again = app.get(&tree).await;
    assert_eq!(again.text(), first.text());
    // The session, the refresh's check and the versions (the periods and the unit filter
    // are kept too).
    assert_eq!(again.statements(), 3);

    // An objective in another division: that division's tree shows it, this one is kept.
    objective(&app, "Faster builds", o.other_division, o.q2, None).await;
    let other = format!("/okrs?unit={}&period={}", o.other_division, o.q2);
    assert!(app.get(&other).await.text().contains("Faster builds"));
    let kept = app.get(&tree).await;
    assert_eq!(kept.statements(), 3);
    assert_eq!(kept.text(), first.text());

    // A check-in on the cascaded objective shows at once, rolled up into the division's.
    let checked = check_in(&app, completion, "50", "7", "2026-05-30").await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.text());
    let text = app.get(&tree).await.text();
    assert!(
        text.contains("Reach more learners Learner Experience · 2026 Q2 · Test Admin 50%"),
        "{text}"
    );
    assert!(
        text.contains("Onboard them well Onboarding · 2026 Q2 · Test Admin 50%"),
        "{text}"
    );
    // So does a new name for their owner.
    sqlx::query("UPDATE people SET name = 'Ada Admin' WHERE name = 'Test Admin'")
        .execute(&app.db)
        .await
        .unwrap();
    let text = app.get(&tree).await.text();
    assert!(
        text.contains("Onboard them well Onboarding · 2026 Q2 · Ada Admin 50%"),
        "{text}"
    );
}

#[tokio::test]
async fn a_key_result_page_seen_again_shows_every_change_beneath_it_since_and_reads_again_only_then()
 {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let team = app.create_unit("Search", "team", Some(company)).await;
    let (objective, key_result, epic) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "WITH p AS (INSERT INTO periods (id, name, cadence, starts_on, ends_on)
                    VALUES (gen_random_uuid(), '2026 Q2', 'quarter', '2026-04-01', '2026-06-30') RETURNING id),
              o AS (INSERT INTO objectives (id, org_unit_id, period_id, title) SELECT $1, $3, p.id, 'Search finds it' FROM p)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target)
         VALUES ($2, $1, 'Nine in ten searches succeed', 'Search success', 'percent', 'increase', 0, 100)",
    )
    .bind(objective)
    .bind(key_result)
    .bind(team)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "WITH e AS (INSERT INTO epics (id, team_id, title, work_type) VALUES ($1, $2, 'Synonyms', 'feature'))
         INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES (gen_random_uuid(), $1, 'behaviour', 'Searches with synonyms succeed', 'Success', 'percent',
                 'increase', 70, 90, '2026-06-30')",
    )
    .bind(epic)
    .bind(team)
    .execute(&app.db)
    .await
    .unwrap();
    let path = format!("/key-results/{key_result}");
    let first = app.get(&path).await;
    assert!(first.text().contains("Nine in ten searches succeed"));
    let again = app.get(&path).await;
    assert_eq!(again.text(), first.text());
    assert_eq!(
        again.statements(),
        first.statements(),
        "seen again unchanged: whether it changed instead of the read"
    );
    let changes = [
        (
            "INSERT INTO check_ins (id, key_result_id, value, confidence, note, checked_on)
             VALUES (gen_random_uuid(), $1, 30, 7, 'Synonyms shipped to half', '2026-05-01')",
            "Synonyms shipped to half",
        ),
        (
            "UPDATE key_results SET current_value = 40 WHERE id = $1",
            "40%",
        ),
        (
            "INSERT INTO objectives (id, org_unit_id, period_id, parent_key_result_id, title)
             SELECT gen_random_uuid(), o.org_unit_id, o.period_id, $1, 'Queries understood'
               FROM key_results k JOIN objectives o ON o.id = k.objective_id WHERE k.id = $1",
            "Queries understood",
        ),
        (
            "INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target, current_value)
             SELECT gen_random_uuid(), id, 'Synonym coverage', 'Coverage', 'percent', 'increase', 0, 10, 5
               FROM objectives WHERE parent_key_result_id = $1",
            "Queries understood Search · 2026 Q2 50%",
        ),
        // Beneath a key result cascaded from this one: its objective's progress moves.
        (
            "UPDATE key_results SET current_value = 10
              WHERE objective_id IN (SELECT id FROM objectives WHERE parent_key_result_id = $1)",
            "Queries understood Search · 2026 Q2 100%",
        ),
        (
            "INSERT INTO outcome_key_results (outcome_id, key_result_id)
             SELECT o.id, $1 FROM outcomes o WHERE o.statement = 'Searches with synonyms succeed'",
            "Searches with synonyms succeed",
        ),
        (
            "UPDATE outcomes SET statement = 'Searches with synonyms succeed at last'
              WHERE id IN (SELECT outcome_id FROM outcome_key_results WHERE key_result_id = $1)",
            "Searches with synonyms succeed at last",
        ),
        (
            "UPDATE epics SET title = 'Synonyms everywhere'
              WHERE id IN (SELECT o.epic_id FROM outcome_key_results l JOIN outcomes o ON o.id = l.outcome_id
                            WHERE l.key_result_id = $1)",
            "Synonyms everywhere",
        ),
        (
            "INSERT INTO audit_log (at, action, entity_type, entity_id)
             VALUES (now(), 'weight_changed_elsewhere', 'key_result', $1)",
            "weight changed elsewhere",
        ),
    ];
    app.each_change_shows(&app.cookie, &path, key_result, &changes, first.statements())
        .await;
    sqlx::query("DELETE FROM key_results WHERE id = $1")
        .bind(key_result)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_key_result_whose_cascade_is_large_is_read_afresh_at_each_view_not_kept() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let (objective, key_result) = (Uuid::new_v4(), Uuid::new_v4());
    // Its objective holds 101 key results: more than a server keeps (a company's cascade
    // may be the whole quarter's).
    sqlx::query(
        "WITH p AS (INSERT INTO periods (id, name, cadence, starts_on, ends_on)
                    VALUES (gen_random_uuid(), '2026 Q2', 'quarter', '2026-04-01', '2026-06-30') RETURNING id),
              o AS (INSERT INTO objectives (id, org_unit_id, period_id, title) SELECT $1, $3, p.id, 'Everyone learns' FROM p)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target)
         SELECT CASE WHEN n = 0 THEN $2 ELSE gen_random_uuid() END, $1, 'Key result ' || n, 'Metric', 'percent',
                'increase', 0, 100
           FROM generate_series(0, 100) AS n",
    )
    .bind(objective)
    .bind(key_result)
    .bind(company)
    .execute(&app.db)
    .await
    .unwrap();
    let path = format!("/key-results/{key_result}");
    let first = app.get(&path).await;
    assert!(first.text().contains("Key result 0"), "{}", first.text());
    sqlx::query(
        "INSERT INTO check_ins (id, key_result_id, value, confidence, note, checked_on)
         VALUES (gen_random_uuid(), $1, 30, 7, 'A third of the way', '2026-05-01')",
    )
    .bind(key_result)
    .execute(&app.db)
    .await
    .unwrap();
    let after = app.get(&path).await;
    assert!(after.text().contains("A third of the way"));
    // Kept, the view after a change would compare versions, then read: one more.
    assert_eq!(after.statements(), first.statements());
}
