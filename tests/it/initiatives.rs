//! Initiatives: their pages, their own outcomes (committed when they start), their epics
//! with the state of each outcome's loop, owners, history, and what the outcome form adds
//! (checkpoints, "leads to").

use axum::http::StatusCode;
use uuid::Uuid;

use crate::common::TestApp;
use crate::epics::{Team, create_epic, outcome_fields, team};

async fn create_initiative(app: &TestApp, t: &Team, title: &str, periods: &[Uuid]) -> Uuid {
    let team = t.team.to_string();
    let periods: Vec<String> = periods.iter().map(Uuid::to_string).collect();
    let mut fields = vec![
        ("title", title),
        ("description", "Everything that keeps new learners learning"),
        ("unit_id", team.as_str()),
        ("owner_email", "priya@northwind.example"),
    ];
    fields.extend(periods.iter().map(|p| ("period_id", p.as_str())));
    let page = app.post_as(&t.pm_cookie, "/initiatives", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    page.location()
        .trim_start_matches("/initiatives/")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_initiative_is_planned_over_several_periods_and_found_by_every_filter() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let q2 = app.quarter("2026 Q2", "2026-04-01", "2026-06-30").await;
    let q3 = app.quarter("2026 Q3", "2026-07-01", "2026-09-30").await;
    let q4 = app.quarter("2026 Q4", "2026-10-01", "2026-12-31").await;
    let id = create_initiative(&app, &t, "Learners succeed in their first month", &[q2, q3]).await;
    create_initiative(&app, &t, "Dual enrollment at scale", &[q4]).await;

    let (unit, owner, status): (Uuid, Uuid, String) =
        sqlx::query_as("SELECT org_unit_id, owner_id, status FROM initiatives WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((unit, owner, status.as_str()), (t.team, t.pm, "proposed"));
    let page = app.get(&format!("/initiatives/{id}")).await.text();
    assert!(page.contains("Planned 2026 Q2, 2026 Q3"), "{page}");
    assert!(page.contains("Owner Priya Raman"), "{page}");

    let titles = |text: String| {
        (
            text.contains("Learners succeed in their first month"),
            text.contains("Dual enrollment at scale"),
        )
    };
    for (query, expected) in [
        (String::new(), (true, true)),
        (format!("period={q3}"), (true, false)),
        (format!("period={q4}"), (false, true)),
        ("q=dual".to_string(), (false, true)),
        (format!("unit={}", t.team), (true, true)),
        (format!("unit={}", Uuid::new_v4()), (false, false)),
        ("status=active".to_string(), (false, false)),
        (format!("owner={}", t.pm), (true, true)),
    ] {
        let listed = titles(app.get(&format!("/initiatives?{query}")).await.text());
        assert_eq!(listed, expected, "{query}");
    }

    let audit: serde_json::Value = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'initiative_created' AND entity_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audit["title"], "Learners succeed in their first month");
    assert_eq!(audit["periods"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_refused_initiative_form_keeps_every_value_and_says_why() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let q3 = app
        .quarter("2026 Q3", "2026-07-01", "2026-09-30")
        .await
        .to_string();
    let team = t.team.to_string();
    let page = app
        .post_as(
            &t.pm_cookie,
            "/initiatives",
            &[
                ("title", "  "),
                ("description", "Keep learners learning"),
                ("unit_id", &team),
                ("owner_email", "nobody@northwind.example"),
                ("period_id", &q3),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(text.contains("Enter a title"), "{text}");
    assert!(page.body.contains("Keep learners learning"));
    assert!(page.body.contains(r#"value="nobody@northwind.example""#));
    assert!(
        page.body
            .contains(&format!(r#"name="period_id" value="{q3}" checked"#)),
        "the period stays ticked"
    );

    let unknown_owner = app
        .post_as(
            &t.pm_cookie,
            "/initiatives",
            &[
                ("title", "Keep learners learning"),
                ("unit_id", &team),
                ("owner_email", "nobody@northwind.example"),
            ],
        )
        .await;
    assert_eq!(unknown_owner.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown_owner.text().contains("Nobody has this email"));
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM initiatives")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn an_initiatives_page_lists_its_epics_with_the_state_of_each_outcome_loop() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let initiative = create_initiative(&app, &t, "Learners succeed", &[]).await;
    let initiative_id = initiative.to_string();
    let team = t.team.to_string();
    let page = app
        .post_as(
            &t.pm_cookie,
            "/epics",
            &[
                ("title", "New onboarding for learners"),
                ("team_id", &team),
                ("work_type", "feature"),
                ("initiative_id", &initiative_id),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    let onboarding: Uuid = page
        .location()
        .trim_start_matches("/epics/")
        .parse()
        .unwrap();
    let guided = create_epic(&app, &t, "Guided first lesson", "feature").await;
    sqlx::query("UPDATE epics SET initiative_id = $1 WHERE id = $2")
        .bind(initiative)
        .bind(guided)
        .execute(&app.db)
        .await
        .unwrap();
    // Today is 1 June 2026: one loop overdue, one due within 14 days, one later.
    let epic = onboarding.to_string();
    for (measure_by, target) in [
        ("2026-05-20", "60"),
        ("2026-06-10", "70"),
        ("2026-12-31", "80"),
    ] {
        let mut fields = outcome_fields(&epic, "increase", "45", target);
        fields.retain(|(k, _)| *k != "measure_by");
        fields.push(("measure_by", measure_by));
        let saved = app.post_as(&t.pm_cookie, "/outcomes", &fields).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    }

    let page = app.get(&format!("/initiatives/{initiative}")).await;
    let text = page.text();
    assert!(text.contains("Epics 2"), "{text}");
    assert!(
        text.contains("from 45% to 60% by 20 May 2026 Overdue"),
        "{text}"
    );
    assert!(
        text.contains("from 45% to 70% by 10 Jun 2026 Due soon"),
        "{text}"
    );
    assert!(
        text.contains("from 45% to 80% by 31 Dec 2026 Not started"),
        "{text}"
    );
    assert!(
        text.contains("Guided first lesson Feature Draft Onboarding Priya Raman No outcome yet"),
        "{text}"
    );
    // Two statements for the epics and their outcomes, however many there are.
    let statements = page.statements();
    sqlx::query("UPDATE epics SET initiative_id = $1")
        .bind(initiative)
        .execute(&app.db)
        .await
        .unwrap();
    for i in 0..5 {
        create_epic(&app, &t, &format!("More work {i}"), "defect").await;
    }
    sqlx::query("UPDATE epics SET initiative_id = $1")
        .bind(initiative)
        .execute(&app.db)
        .await
        .unwrap();
    let more = app.get(&format!("/initiatives/{initiative}")).await;
    assert!(more.text().contains("Epics 7"));
    assert_eq!(more.statements(), statements);

    let epic_page = app.get(&format!("/epics/{onboarding}")).await.text();
    assert!(
        epic_page.contains("Initiative Learners succeed"),
        "{epic_page}"
    );
    assert!(epic_page.contains("Loop: Overdue"));
}

#[tokio::test]
async fn an_initiatives_own_outcomes_are_committed_when_it_starts_and_revised_only_with_a_reason() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let initiative = create_initiative(&app, &t, "Learners succeed", &[]).await;
    let id = initiative.to_string();
    let mut fields = outcome_fields("", "increase", "8", "10");
    fields.retain(|(k, _)| *k != "epic");
    fields.push(("initiative", &id));
    fields.retain(|(k, _)| *k != "kind");
    fields.push(("kind", "business_result"));
    let saved = app.post_as(&t.pm_cookie, "/outcomes", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(saved.location(), format!("/initiatives/{initiative}"));
    let (outcome, owner, committed): (Uuid, Uuid, bool) = sqlx::query_as(
        "SELECT id, owner_id, committed_at IS NOT NULL FROM outcomes WHERE initiative_id = $1",
    )
    .bind(initiative)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (owner, committed),
        (t.pm, false),
        "owned like the initiative"
    );

    let started = app
        .post_as(
            &t.pm_cookie,
            &format!("/initiatives/{initiative}/status"),
            &[("status", "active"), ("version", "1")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let page = app.get(&format!("/initiatives/{initiative}")).await.text();
    assert!(page.contains("Status: Active"), "{page}");
    assert!(page.contains("Committed"));
    assert!(
        page.contains("Status changed"),
        "the history shows it: {page}"
    );

    let mut edit = fields.clone();
    edit.retain(|(k, _)| *k != "target");
    edit.extend([("target", "9"), ("version", "1")]);
    let refused = app
        .post_as(&t.pm_cookie, &format!("/outcomes/{outcome}"), &edit)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("This outcome was committed when the initiative started: say why it changes")
    );
    edit.push(("reason", "Pricing changed in May"));
    let saved = app
        .post_as(&t.pm_cookie, &format!("/outcomes/{outcome}"), &edit)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let reason: String =
        sqlx::query_scalar("SELECT reason FROM outcome_revisions WHERE outcome_id = $1")
            .bind(outcome)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(reason, "Pricing changed in May");
    let outcome_page = app.get(&format!("/outcomes/{outcome}")).await.text();
    assert!(
        outcome_page.contains("Initiative Learners succeed"),
        "{outcome_page}"
    );
    assert!(outcome_page.contains("Revised"));
}

#[tokio::test]
async fn an_initiative_without_an_active_owner_cannot_start_needs_an_owner_and_is_handed_over() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let initiative = create_initiative(&app, &t, "Learners succeed", &[]).await;
    sqlx::query("UPDATE people SET active = false WHERE id = $1")
        .bind(t.pm)
        .execute(&app.db)
        .await
        .unwrap();
    let refused = app
        .post(
            &format!("/initiatives/{initiative}/status"),
            &[("status", "active"), ("version", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let page = app.follow(&refused).await.text();
    assert!(
        page.contains("Not started: an initiative needs an active owner first"),
        "{page}"
    );
    assert!(page.contains("Status: Proposed"));

    let needs = app.get("/needs-owner").await.text();
    assert!(
        needs.contains("Learners succeed Initiative Priya Raman Inactive"),
        "{needs}"
    );

    // A refused reassignment keeps what was typed and says why, on a form of its own.
    let typo = app
        .post(
            &format!("/initiatives/{initiative}/owner"),
            &[("owner_email", "lena@northwnd.example")],
        )
        .await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        typo.text()
            .contains("Reassign the initiative “Learners succeed”")
    );
    assert!(typo.text().contains("Nobody has this email"));
    assert!(typo.body.contains(r#"value="lena@northwnd.example""#));
    let everything = app
        .post(
            &format!("/people/{}/reassign", t.pm),
            &[("owner_email", "priya@northwind.example")],
        )
        .await;
    assert_eq!(everything.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        everything
            .text()
            .contains("Reassign everything Priya Raman owns")
    );
    assert!(
        everything
            .text()
            .contains("Priya Raman is inactive: choose an active owner")
    );

    let lead = app
        .account("Lena Fischer", "lena@northwind.example", "member")
        .await;
    let moved = app
        .post(
            &format!("/initiatives/{initiative}/owner"),
            &[("owner_email", "lena@northwind.example")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let owner: Uuid = sqlx::query_scalar("SELECT owner_id FROM initiatives WHERE id = $1")
        .bind(initiative)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(owner, lead);
    assert!(
        !app.get("/needs-owner")
            .await
            .text()
            .contains("Learners succeed")
    );
    let started = app
        .post(
            &format!("/initiatives/{initiative}/status"),
            &[("status", "active"), ("version", "2")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let status: String = sqlx::query_scalar("SELECT status FROM initiatives WHERE id = $1")
        .bind(initiative)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "active");
}

#[tokio::test]
async fn a_stale_initiative_edit_answers_409_showing_both_versions_and_keeping_the_typing() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let initiative = create_initiative(&app, &t, "Learners succeed", &[]).await;
    let team = t.team.to_string();
    let edit = |title: &'static str, version: &'static str| {
        vec![
            ("title", title),
            ("unit_id", team.as_str()),
            ("owner_email", "priya@northwind.example"),
            ("version", version),
        ]
    };
    let first = app
        .post_as(
            &t.pm_cookie,
            &format!("/initiatives/{initiative}"),
            &edit("Learners thrive", "1"),
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let stale = app
        .post_as(
            &t.pm_cookie,
            &format!("/initiatives/{initiative}"),
            &edit("Learners stay", "1"),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let text = stale.text();
    assert!(
        text.contains("Someone else changed this initiative"),
        "{text}"
    );
    assert!(
        text.contains("Title Learners thrive Learners stay"),
        "{text}"
    );
    assert!(stale.body.contains(r#"value="Learners stay""#));
    assert!(stale.body.contains(r#"name="version" value="2""#));
    let title: String = sqlx::query_scalar("SELECT title FROM initiatives WHERE id = $1")
        .bind(initiative)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(title, "Learners thrive");
    let history = app.get(&format!("/initiatives/{initiative}")).await.text();
    assert!(
        history.contains("Title: Learners succeed → Learners thrive"),
        "{history}"
    );
}

#[tokio::test]
async fn an_outcome_has_checkpoints_before_its_date_and_leads_to_an_outcome_of_its_initiative() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let initiative = create_initiative(&app, &t, "Learners succeed", &[]).await;
    let mut business = outcome_fields("", "increase", "40", "50");
    let initiative_id = initiative.to_string();
    business.retain(|(k, _)| !["epic", "metric", "kind"].contains(k));
    business.extend([
        ("initiative", initiative_id.as_str()),
        ("metric", "First-month retention"),
        ("kind", "business_result"),
    ]);
    app.post_as(&t.pm_cookie, "/outcomes", &business).await;
    let retention: Uuid = sqlx::query_scalar("SELECT id FROM outcomes")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let retention_id = retention.to_string();
    let other = create_initiative(&app, &t, "Elsewhere", &[]).await;
    let mut foreign = business.clone();
    foreign.retain(|(k, _)| *k != "initiative");
    let other_id = other.to_string();
    foreign.push(("initiative", other_id.as_str()));
    app.post_as(&t.pm_cookie, "/outcomes", &foreign).await;
    let elsewhere: Uuid = sqlx::query_scalar("SELECT id FROM outcomes WHERE initiative_id = $1")
        .bind(other)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let elsewhere_id = elsewhere.to_string();

    let epic = create_epic(&app, &t, "New onboarding", "feature").await;
    sqlx::query("UPDATE epics SET initiative_id = $1 WHERE id = $2")
        .bind(initiative)
        .bind(epic)
        .execute(&app.db)
        .await
        .unwrap();
    let epic_id = epic.to_string();
    let form = app.get(&format!("/outcomes/new?epic={epic}")).await;
    assert!(
        form.body
            .contains(&format!(r#"<option value="{retention}""#)),
        "the initiative's outcome is offered"
    );
    assert!(
        !form.body.contains(&elsewhere_id),
        "another initiative's is not"
    );

    let mut fields = outcome_fields(&epic_id, "increase", "45", "80");
    fields.extend([
        ("checkpoint_1", "2026-07-31"),
        ("checkpoint_2", "2026-10-31"),
        ("leads_to", elsewhere_id.as_str()),
    ]);
    let refused = app.post_as(&t.pm_cookie, "/outcomes", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = refused.text();
    assert!(
        text.contains("A checkpoint comes before the date to measure by"),
        "{text}"
    );
    assert!(text.contains("Choose one of the outcomes listed"), "{text}");
    assert!(
        refused.body.contains(r#"value="2026-10-31""#),
        "the typing is kept"
    );

    fields.retain(|(k, _)| !["checkpoint_2", "leads_to"].contains(k));
    fields.extend([
        ("checkpoint_2", "2026-08-31"),
        ("leads_to", retention_id.as_str()),
    ]);
    let saved = app.post_as(&t.pm_cookie, "/outcomes", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let (behaviour, leads_to): (Uuid, Option<Uuid>) =
        sqlx::query_as("SELECT id, leads_to_id FROM outcomes WHERE epic_id = $1")
            .bind(epic)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(leads_to, Some(retention));
    let checkpoints: Vec<chrono::NaiveDate> = sqlx::query_scalar(
        "SELECT due_on FROM outcome_checkpoints WHERE outcome_id = $1 ORDER BY due_on",
    )
    .bind(behaviour)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        checkpoints
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        ["2026-07-31", "2026-08-31"]
    );
    let page = app.get(&format!("/outcomes/{behaviour}")).await.text();
    assert!(
        page.contains("Interim checkpoints 31 Jul 2026, 31 Aug 2026"),
        "{page}"
    );
    assert!(
        page.contains("Leads to First-month retention from 40% to 50% by 30 Sep 2026"),
        "{page}"
    );
    let target = app.get(&format!("/outcomes/{retention}")).await.text();
    assert!(
        target.contains("Brought about by Onboarding completion within 7 days from 45% to 80%"),
        "{target}"
    );

    // An outcome cannot lead back to one that leads to it.
    let behaviour_id = behaviour.to_string();
    let mut usage = outcome_fields(&epic_id, "increase", "10", "20");
    usage.push(("leads_to", behaviour_id.as_str()));
    let saved = app.post_as(&t.pm_cookie, "/outcomes", &usage).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let usage: Uuid = sqlx::query_scalar("SELECT id FROM outcomes WHERE leads_to_id = $1")
        .bind(behaviour)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let usage_id = usage.to_string();
    let mut back = outcome_fields(&epic_id, "increase", "45", "80");
    back.extend([("leads_to", usage_id.as_str()), ("version", "1")]);
    let refused = app
        .post_as(&t.pm_cookie, &format!("/outcomes/{behaviour}"), &back)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("That outcome already leads to this one"),
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn the_epic_page_shows_its_change_history_from_the_audit_log() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Search refactor", "tech_debt").await;
    let team = t.team.to_string();
    app.post_as(
        &t.pm_cookie,
        &format!("/epics/{epic}"),
        &[
            ("title", "Refactor the search service"),
            ("team_id", &team),
            ("work_type", "tech_debt"),
            ("why_now", "Search is slow at peak"),
            ("version", "1"),
        ],
    )
    .await;
    let id = epic.to_string();
    app.post_as(
        &t.pm_cookie,
        "/outcomes",
        &outcome_fields(&id, "increase", "70", "90"),
    )
    .await;
    app.post_as(
        &t.pm_cookie,
        &format!("/epics/{epic}/status"),
        &[("status", "ready"), ("version", "2")],
    )
    .await;
    let page = app.get(&format!("/epics/{epic}")).await.text();
    let history = &page[page.find("Change history").expect("a history section")..];
    let status = history
        .find("Status changed")
        .expect("status change listed");
    let added = history.find("Outcome added").expect("outcome listed");
    let edited = history.find("Edited").expect("edit listed");
    let created = history.find("Created").expect("creation listed");
    assert!(
        status < added && added < edited && edited < created,
        "newest first: {history}"
    );
    assert!(history.contains("Status: draft → ready"), "{history}");
    assert!(history.contains("Title: Search refactor → Refactor the search service"));
    assert!(
        history.contains("Why now: (none) → Search is slow at peak"),
        "{history}"
    );
    assert!(
        !history.contains("Checkpoints"),
        "nothing said about empty fields: {history}"
    );
    assert!(
        history.contains(
            "Outcome: Onboarding completion within 7 days from 70% to 90% by 30 Sep 2026"
        )
    );
    assert!(history.contains("Priya Raman"));
}

#[tokio::test]
async fn an_initiative_or_an_epic_deleted_in_the_database_is_gone_with_its_outcomes() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let (initiative, epic) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "WITH i AS (INSERT INTO initiatives (id, org_unit_id, title) VALUES ($1, $3, 'Learners stay')),
              e AS (INSERT INTO epics (id, team_id, title, work_type) VALUES ($2, $3, 'Guided onboarding', 'feature'))
         INSERT INTO outcomes (id, initiative_id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES (gen_random_uuid(), $1, NULL, 'behaviour', 'Learners return', 'Weekly return', 'percent', 'increase', 10, 20, '2026-09-30'),
                (gen_random_uuid(), NULL, $2, 'behaviour', 'Learners finish', 'Completion', 'percent', 'increase', 70, 90, '2026-09-30')",
    )
    .bind(initiative)
    .bind(epic)
    .bind(company)
    .execute(&app.db)
    .await
    .unwrap();
    // The dashboards' triggers run before each delete; they once returned nothing, which
    // skipped the row ("DELETE 0").
    for (table, id) in [("initiatives", initiative), ("epics", epic)] {
        let deleted = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id)
            .execute(&app.db)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(deleted, 1, "{table}");
    }
    let outcomes: i64 = sqlx::query_scalar("SELECT count(*) FROM outcomes")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(outcomes, 0);
}
