use axum::http::StatusCode;
use uuid::Uuid;

use crate::common::TestApp;

pub(crate) struct Team {
    pub team: Uuid,
    pub pm: Uuid,
    pub pm_cookie: String,
}

/// A team with a product manager (a member who can sign in) and a tech lead.
pub(crate) async fn team(app: &TestApp) -> Team {
    let company = app.create_unit("Northwind", "company", None).await;
    let team = app.create_unit("Onboarding", "team", Some(company)).await;
    let pm = app
        .account("Priya Raman", "priya@northwind.example", "member")
        .await;
    let lead = app
        .account("Tomás Herrera", "tomas@northwind.example", "member")
        .await;
    use yardstick::org::model::MemberRole;
    yardstick::org::upsert_membership(&app.db, team, pm, MemberRole::ProductManager)
        .await
        .unwrap();
    yardstick::org::upsert_membership(&app.db, team, lead, MemberRole::TechLead)
        .await
        .unwrap();
    let pm_cookie = app.session_for(pm).await;
    Team {
        team,
        pm,
        pm_cookie,
    }
}

pub(crate) async fn create_epic(app: &TestApp, t: &Team, title: &str, work_type: &str) -> Uuid {
    let page = app
        .post_as(
            &t.pm_cookie,
            "/epics",
            &[
                ("title", title),
                ("team_id", &t.team.to_string()),
                ("work_type", work_type),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    page.location()
        .trim_start_matches("/epics/")
        .parse()
        .unwrap()
}

pub(crate) fn outcome_fields<'a>(
    epic: &'a str,
    direction: &'a str,
    baseline: &'a str,
    target: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("epic", epic),
        (
            "statement",
            "New learners finish onboarding instead of dropping out",
        ),
        ("kind", "behaviour"),
        ("metric", "Onboarding completion within 7 days"),
        ("unit", "percent"),
        ("data_source", "Product analytics, onboarding funnel"),
        ("direction", direction),
        ("baseline", baseline),
        ("target", target),
        ("measure_by", "2026-09-30"),
    ]
}

#[tokio::test]
async fn a_new_feature_epic_is_owned_by_the_teams_product_manager_and_other_work_by_its_tech_lead()
{
    let app = TestApp::new().await;
    let t = team(&app).await;
    let feature = create_epic(&app, &t, "New onboarding for learners", "feature").await;
    let debt = create_epic(&app, &t, "Refactor the search service", "tech_debt").await;
    let owner_of = |epic: Uuid| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT p.name FROM epics e JOIN people p ON p.id = e.owner_id WHERE e.id = $1",
            )
            .bind(epic)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    assert_eq!(owner_of(feature).await, "Priya Raman");
    assert_eq!(owner_of(debt).await, "Tomás Herrera");
    let page = app
        .get_as(&t.pm_cookie, &format!("/epics/{feature}"))
        .await
        .text();
    assert!(
        page.contains("New onboarding for learners")
            && page.contains("Owner Priya Raman")
            && page.contains("Status: Draft")
    );
    assert!(
        page.contains("No anticipated outcome yet. What result do you expect this epic to change")
    );
}

#[tokio::test]
async fn an_epic_cannot_start_without_an_outcome_and_says_exactly_what_is_missing() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Refactor the search service", "tech_debt").await;
    let refused = app
        .post_as(
            &t.pm_cookie,
            &format!("/epics/{epic}/status"),
            &[("status", "ready"), ("version", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = refused.text();
    assert!(
        text.contains("This epic is not ready yet")
            && text.contains("It needs at least one measurable anticipated outcome"),
        "{text}"
    );
    assert!(
        refused.body.contains(&format!("/outcomes/new?epic={epic}")),
        "links to where to add it"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM epics WHERE id = $1")
        .bind(epic)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "draft");

    let saved = app
        .post_as(
            &t.pm_cookie,
            "/outcomes",
            &outcome_fields(&epic.to_string(), "increase", "70", "90"),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let ready = app
        .post_as(
            &t.pm_cookie,
            &format!("/epics/{epic}/status"),
            &[("status", "ready"), ("version", "1")],
        )
        .await;
    assert_eq!(ready.status, StatusCode::SEE_OTHER);
    let started = app
        .post_as(
            &t.pm_cookie,
            &format!("/epics/{epic}/status"),
            &[("status", "in_progress"), ("version", "2")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let (status, ready_at, started_at, committed): (String, bool, bool, bool) = sqlx::query_as(
        "SELECT e.status, e.ready_at IS NOT NULL, e.started_at IS NOT NULL,
                bool_and(o.committed_at IS NOT NULL)
           FROM epics e JOIN outcomes o ON o.epic_id = e.id WHERE e.id = $1 GROUP BY e.id",
    )
    .bind(epic)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), ready_at, started_at, committed),
        ("in_progress", true, true, true)
    );
    let changes: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'epic_status_changed' AND entity_id = $1 ORDER BY id",
    )
    .bind(epic)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| c["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ready", "in_progress"]
    );
}

#[tokio::test]
async fn an_epic_whose_owner_is_inactive_is_not_ready_either() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Learner onboarding", "feature").await;
    app.post_as(
        &t.pm_cookie,
        "/outcomes",
        &outcome_fields(&epic.to_string(), "increase", "40", "80"),
    )
    .await;
    sqlx::query("UPDATE people SET active = false WHERE id = $1")
        .bind(t.pm)
        .execute(&app.db)
        .await
        .unwrap();
    let refused = app
        .post(
            &format!("/epics/{epic}/status"),
            &[("status", "ready"), ("version", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("It needs one accountable owner who is an active person")
    );
}

#[tokio::test]
async fn the_guided_form_checks_direction_band_and_decimals_and_keeps_what_was_typed() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Search refactor", "tech_debt").await;
    let id = epic.to_string();

    let wrong_way = app
        .post_as(
            &t.pm_cookie,
            "/outcomes",
            &outcome_fields(&id, "increase", "70", "60"),
        )
        .await;
    assert_eq!(wrong_way.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_way
            .text()
            .contains("For an increase the target must be above the baseline (70)")
    );
    assert!(
        wrong_way.body.contains(r#"value="60""#)
            && wrong_way.body.contains("New learners finish onboarding")
    );

    let down_wrong = app
        .post_as(
            &t.pm_cookie,
            "/outcomes",
            &outcome_fields(&id, "decrease", "2.5", "3"),
        )
        .await;
    assert!(
        down_wrong
            .text()
            .contains("For a decrease the target must be below the baseline (2.5)")
    );

    let not_numbers = app
        .post_as(
            &t.pm_cookie,
            "/outcomes",
            &outcome_fields(&id, "increase", "seventy", "1e9"),
        )
        .await;
    let text = not_numbers.text();
    assert!(
        text.contains("The baseline must be a number")
            && text.contains("The target must be a number"),
        "{text}"
    );

    let mut band = outcome_fields(&id, "stay_within", "1", "");
    band.extend([("band_lower", "2"), ("band_upper", "1.2")]);
    let reversed = app.post_as(&t.pm_cookie, "/outcomes", &band).await;
    assert!(
        reversed
            .text()
            .contains("The upper bound must not be below the lower bound")
    );

    let empty = app
        .post_as(&t.pm_cookie, "/outcomes", &[("epic", id.as_str())])
        .await;
    let text = empty.text();
    for message in [
        "Enter what should change",
        "Enter the metric that defines success",
        "Enter where the numbers come from",
        "Enter the baseline",
        "Enter the date to measure by",
    ] {
        assert!(text.contains(message), "{message}: {text}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outcomes")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);

    let mut good_band = outcome_fields(&id, "stay_within", "1.1", "");
    good_band.extend([
        ("band_lower", "0"),
        ("band_upper", "1.2"),
        ("metric", "Search p95 latency"),
    ]);
    good_band.retain(|(k, v)| *k != "metric" || *v == "Search p95 latency");
    good_band.retain(|(k, _)| *k != "unit");
    good_band.extend([("unit", "duration"), ("unit_label", "s")]);
    let saved = app.post_as(&t.pm_cookie, "/outcomes", &good_band).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let page = app.get(&format!("/epics/{epic}")).await.text();
    assert!(
        page.contains("Search p95 latency stays within 0 s to 1.2 s by 30 Sep 2026"),
        "{page}"
    );
}

#[tokio::test]
async fn the_server_renders_the_outcome_sentence() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Search refactor", "tech_debt").await;
    let id = epic.to_string();
    let mut fields = outcome_fields(&id, "increase", "70", "90");
    fields.retain(|(k, _)| *k != "metric");
    fields.push(("metric", "Search success rate"));
    fields.retain(|(k, _)| *k != "measure_by");
    fields.push(("measure_by", "2026-06-30"));
    let saved = app.post_as(&t.pm_cookie, "/outcomes", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let outcome: Uuid = sqlx::query_scalar("SELECT id FROM outcomes")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let page = app.get(&format!("/outcomes/{outcome}")).await.text();
    assert!(
        page.contains("Search success rate from 70% to 90% by 30 Jun 2026"),
        "{page}"
    );
}

#[tokio::test]
async fn members_of_other_teams_cannot_change_the_epic_and_the_refusal_is_audited() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Learner onboarding", "feature").await;
    let outsider = app
        .account("Olga Outsider", "olga@northwind.example", "member")
        .await;
    let cookie = app.session_for(outsider).await;
    let page = app
        .post_as(
            &cookie,
            &format!("/epics/{epic}/status"),
            &[("status", "cancelled"), ("version", "1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let shown = app.get_as(&cookie, &format!("/epics/{epic}")).await.text();
    assert!(
        shown.contains("Learner onboarding")
            && !shown.contains("Edit epic")
            && !shown.contains("Cancel epic")
    );
    let refusals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'permission_refused' AND entity_id = $1",
    )
    .bind(epic)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(refusals, 1);
    // A member may not create epics for a unit they are not in either.
    let page = app
        .post_as(
            &cookie,
            "/epics",
            &[
                ("title", "Sneaky"),
                ("team_id", &t.team.to_string()),
                ("work_type", "feature"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text()
            .contains("You can add epics only for the units you belong to")
    );
}

#[tokio::test]
async fn a_stale_epic_edit_answers_409_with_the_typing_kept() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Learner onboarding", "feature").await;
    let team = t.team.to_string();
    let first = app
        .post_as(
            &t.pm_cookie,
            &format!("/epics/{epic}"),
            &[
                ("title", "Learner onboarding v2"),
                ("team_id", &team),
                ("work_type", "feature"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let stale = app
        .post_as(
            &t.pm_cookie,
            &format!("/epics/{epic}"),
            &[
                ("title", "Onboarding for everyone"),
                ("team_id", &team),
                ("work_type", "feature"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale
            .text()
            .contains("Title Learner onboarding v2 Onboarding for everyone")
    );
    assert!(stale.body.contains(r#"value="Onboarding for everyone""#));
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY id")
            .bind(epic)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(actions, ["epic_created", "epic_updated"]);
}

async fn insert_epic(
    app: &TestApp,
    team: Uuid,
    owner: Option<Uuid>,
    title: &str,
    work_type: &str,
    status: &str,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, owner_id, work_type, title, status) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(team)
        .bind(owner)
        .bind(work_type)
        .bind(title)
        .bind(status)
        .execute(&app.db)
        .await
        .unwrap();
    id
}

fn rows(page: &crate::common::Page) -> Vec<String> {
    page.body
        .split("<tbody>")
        .nth(1)
        .unwrap_or("")
        .split("<tr>")
        .skip(1)
        .filter_map(|row| {
            row.split("\">")
                .nth(1)
                .and_then(|r| r.split("</a>").next())
                .map(crate::common::unescape)
        })
        .collect()
}

#[tokio::test]
async fn the_epics_list_filters_by_unit_beneath_type_status_owner_missing_and_text() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let division = app.create_unit("Platform", "division", None).await;
    let search = app.create_unit("Search", "team", Some(division)).await;
    let onboarding = insert_epic(
        &app,
        t.team,
        Some(t.pm),
        "Learner onboarding",
        "feature",
        "draft",
    )
    .await;
    insert_epic(
        &app,
        search,
        Some(t.pm),
        "Refactor the search service",
        "tech_debt",
        "in_progress",
    )
    .await;
    let ranking = insert_epic(&app, search, None, "Fix ranking bug", "defect", "draft").await;
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES ($1, $2, 'behaviour', 'Learners finish the welcome tour', 'Completion', 'percent', 'increase', 40, 80, '2026-09-30')",
    )
    .bind(Uuid::new_v4())
    .bind(onboarding)
    .execute(&app.db)
    .await
    .unwrap();

    let all = app.get("/epics").await;
    assert_eq!(rows(&all).len(), 3);
    assert_eq!(
        rows(&app.get(&format!("/epics?unit={division}")).await),
        ["Fix ranking bug", "Refactor the search service"]
    );
    assert_eq!(
        rows(&app.get("/epics?type=tech_debt").await),
        ["Refactor the search service"]
    );
    assert_eq!(
        rows(&app.get("/epics?status=in_progress").await),
        ["Refactor the search service"]
    );
    assert_eq!(
        rows(&app.get("/epics?missing=owner").await),
        ["Fix ranking bug"]
    );
    assert_eq!(
        rows(&app.get("/epics?missing=outcome").await),
        ["Fix ranking bug", "Refactor the search service"]
    );
    assert_eq!(
        rows(
            &app.get(&format!("/epics?owner={}&status=draft", t.pm))
                .await
        ),
        ["Learner onboarding"]
    );
    // Text search covers titles and outcome statements.
    assert_eq!(
        rows(&app.get("/epics?q=RANKING").await),
        ["Fix ranking bug"]
    );
    assert_eq!(
        rows(&app.get("/epics?q=welcome+tour").await),
        ["Learner onboarding"]
    );
    assert!(
        app.get("/epics?q=nothing+like+this")
            .await
            .text()
            .contains("No epic matches these filters")
    );
    // Unknown filter values filter nothing rather than fail.
    assert_eq!(
        rows(&app.get("/epics?type=bogus&unit=not-an-id").await).len(),
        3
    );
    // None serves a key result yet.
    assert_eq!(rows(&app.get("/epics?missing=alignment").await).len(), 3);
    // The next page starts after the last epic of this one.
    assert_eq!(
        rows(&app.get(&format!("/epics?after={ranking}")).await),
        ["Refactor the search service", "Learner onboarding"]
    );

    // Planned in a period, or in any period of a range.
    let q1 = app.quarter("2026 Q1", "2026-01-01", "2026-03-31").await;
    let q2 = app.quarter("2026 Q2", "2026-04-01", "2026-06-30").await;
    sqlx::query(
        "UPDATE epics SET period_id = CASE title WHEN 'Learner onboarding' THEN $1 ELSE $2 END
          WHERE title <> 'Fix ranking bug'",
    )
    .bind(q1)
    .bind(q2)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(
        rows(&app.get(&format!("/epics?period={q2}")).await),
        ["Refactor the search service"]
    );
    assert_eq!(
        rows(&app.get(&format!("/epics?period={q1}&until={q2}")).await),
        ["Refactor the search service", "Learner onboarding"]
    );

    // Live is every status but cancelled; shipped is delivered, measuring or closed.
    sqlx::query(
        "UPDATE epics SET status = CASE title WHEN 'Fix ranking bug' THEN 'cancelled' ELSE 'delivered' END
          WHERE title <> 'Learner onboarding'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(
        rows(&app.get("/epics?status=live").await),
        ["Refactor the search service", "Learner onboarding"]
    );
    assert_eq!(
        rows(&app.get("/epics?status=shipped").await),
        ["Refactor the search service"]
    );
}

#[tokio::test]
async fn a_small_units_epics_come_newest_first_across_its_teams_page_after_page() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let division = app.create_unit("Platform", "division", None).await;
    let search = app.create_unit("Search", "team", Some(division)).await;
    let billing = app.create_unit("Billing", "team", Some(division)).await;
    // Ten more teams elsewhere: the division is then a small part of the organisation, whose
    // page is picked team by team (a large one is read as the whole organisation is).
    for i in 0..10 {
        app.create_unit(&format!("Elsewhere {i}"), "team", None)
            .await;
    }
    let mut platform = Vec::new();
    for i in 0..60 {
        let (unit, status, work_type) = match i % 3 {
            0 => (search, "in_progress", "feature"),
            1 => (billing, "draft", "defect"),
            _ => (billing, "cancelled", "feature"),
        };
        let title = format!("Platform epic {i:02}");
        insert_epic(&app, unit, Some(t.pm), &title, work_type, status).await;
        platform.push((title, status, work_type));
        insert_epic(
            &app,
            t.team,
            Some(t.pm),
            &format!("Other epic {i:02}"),
            "feature",
            "in_progress",
        )
        .await;
    }
    platform.reverse();
    let titles = |keep: &dyn Fn(&str, &str) -> bool| -> Vec<String> {
        platform
            .iter()
            .filter(|(_, status, work_type)| keep(status, work_type))
            .map(|(title, _, _)| title.clone())
            .collect()
    };

    let first = app.get(&format!("/epics?unit={division}")).await;
    assert_eq!(rows(&first), titles(&|_, _| true)[..50]);
    let next = first.link("Next page of epics").expect("a second page");
    assert_eq!(rows(&app.get(&next).await), titles(&|_, _| true)[50..]);
    assert_eq!(
        rows(
            &app.get(&format!("/epics?unit={division}&status=in_progress"))
                .await
        ),
        titles(&|status, _| status == "in_progress")
    );
    assert_eq!(
        rows(
            &app.get(&format!("/epics?unit={division}&status=live&type=feature"))
                .await
        ),
        titles(&|status, work_type| status != "cancelled" && work_type == "feature")
    );
    assert_eq!(
        rows(
            &app.get(&format!("/epics?unit={billing}&missing=outcome&q=EPIC+5"))
                .await
        ),
        titles(&|status, _| status != "in_progress")
            .into_iter()
            .filter(|title| title.contains("epic 5"))
            .collect::<Vec<_>>()
    );
    // The organisation's own page is read newest first, whatever its teams.
    assert_eq!(rows(&app.get("/epics").await)[0], "Other epic 59");
}

#[tokio::test]
async fn the_organisations_epics_are_searched_in_titles_descriptions_and_outcomes_newest_first_page_after_page()
 {
    let app = TestApp::new().await;
    let t = team(&app).await;
    // 90 epics: a third found by the title, a third by the description, a third by an
    // outcome's statement (every sixth by its title as well), in three statuses.
    let mut found = Vec::new();
    let statuses = [
        "delivered",
        "measuring",
        "closed",
        "draft",
        "in_progress",
        "cancelled",
    ];
    for i in 0..90 {
        let status = statuses[i % 6];
        let title = match i % 3 {
            0 => format!("Epic {i:02} about Quokka"),
            _ if i % 6 == 2 => format!("Epic {i:02} quokka again"),
            _ => format!("Epic {i:02}"),
        };
        let id = insert_epic(&app, t.team, Some(t.pm), &title, "feature", status).await;
        if i % 3 == 1 {
            sqlx::query("UPDATE epics SET description = 'Where the QUOKKAS live' WHERE id = $1")
                .bind(id)
                .execute(&app.db)
                .await
                .unwrap();
        }
        if i % 3 == 2 {
            sqlx::query(
                "INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
                 VALUES ($1, $2, 'behaviour', 'More quokkas are seen', 'Sightings', 'count', 'increase', 1, 2, '2026-09-30')",
            )
            .bind(Uuid::new_v4())
            .bind(id)
            .execute(&app.db)
            .await
            .unwrap();
        }
        insert_epic(
            &app,
            t.team,
            Some(t.pm),
            &format!("Unrelated {i:02}"),
            "defect",
            status,
        )
        .await;
        found.push((title, status));
    }
    found.reverse();
    let titles = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        found
            .iter()
            .filter(|(_, status)| keep(status))
            .map(|(title, _)| title.clone())
            .collect()
    };

    let first = app.get("/epics?q=quokka").await;
    assert_eq!(rows(&first), titles(&|_| true)[..50]);
    let next = first.link("Next page of epics").expect("a second page");
    assert_eq!(rows(&app.get(&next).await), titles(&|_| true)[50..]);
    let shipped = |status: &str| ["delivered", "measuring", "closed"].contains(&status);
    assert_eq!(
        rows(&app.get("/epics?q=quokka&status=shipped").await),
        titles(&shipped)
    );
    assert_eq!(
        rows(&app.get("/epics?q=quokka&status=live").await),
        titles(&|status| status != "cancelled")[..50]
    );
    // Without a search, each status's newest are merged newest first, page after page.
    let every: Vec<String> = (0..90)
        .rev()
        .filter(|i| shipped(statuses[i % 6]))
        .flat_map(|i| [format!("Unrelated {i:02}"), found[89 - i].0.clone()])
        .collect();
    let first = app.get("/epics?status=shipped").await;
    assert_eq!(rows(&first), every[..50]);
    let next = first.link("Next page of epics").expect("a second page");
    assert_eq!(rows(&app.get(&next).await), every[50..]);
    // The API lists the same epics.
    let token = crate::api::token(&app, &app.cookie, "Script", "read").await;
    let api = crate::api::json(
        &crate::api::call(
            &app,
            axum::http::Method::GET,
            "/api/v1/epics?q=quokka&status=shipped&limit=200",
            &token,
            None,
            None,
        )
        .await,
    );
    let api_titles: Vec<&str> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(api_titles, titles(&shipped));
    assert!(
        app.get("/epics?q=wombat&status=shipped")
            .await
            .text()
            .contains("No epic matches these filters")
    );
}

#[tokio::test]
async fn the_epics_list_pages_without_gaps_and_costs_the_same_statements_for_10_and_200() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    for i in 0..10 {
        insert_epic(
            &app,
            t.team,
            Some(t.pm),
            &format!("Epic {i:03}"),
            "feature",
            "draft",
        )
        .await;
    }
    // Seen again: the first view also read the filters' choices, which are kept.
    app.get("/epics").await;
    let small = app.get("/epics").await;
    assert_eq!(rows(&small).len(), 10);
    for i in 10..200 {
        insert_epic(
            &app,
            t.team,
            Some(t.pm),
            &format!("Epic {i:03}"),
            "feature",
            "draft",
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut page = app.get("/epics").await;
    let first_statements = page.statements();
    loop {
        seen.extend(rows(&page));
        match page.link("Next page of epics") {
            Some(next) => page = app.get(&next).await,
            None => break,
        }
    }
    assert_eq!(seen.len(), 200);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 200, "no epic twice");
    assert_eq!(small.statements(), first_statements);
}

#[tokio::test]
async fn a_committed_outcome_changes_only_with_a_reason_kept_as_a_revision() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Search refactor", "tech_debt").await;
    let id = epic.to_string();
    app.post_as(
        &t.pm_cookie,
        "/outcomes",
        &outcome_fields(&id, "increase", "70", "90"),
    )
    .await;
    let outcome: Uuid = sqlx::query_scalar("SELECT id FROM outcomes")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // Before commitment, changes need no reason and leave no revision.
    let mut draft_edit = outcome_fields(&id, "increase", "70", "85");
    draft_edit.push(("version", "1"));
    assert_eq!(
        app.post_as(&t.pm_cookie, &format!("/outcomes/{outcome}"), &draft_edit)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    app.post_as(
        &t.pm_cookie,
        &format!("/epics/{epic}/status"),
        &[("status", "ready"), ("version", "1")],
    )
    .await;

    let mut committed_edit = outcome_fields(&id, "increase", "70", "80");
    committed_edit.push(("version", "2"));
    let refused = app
        .post_as(
            &t.pm_cookie,
            &format!("/outcomes/{outcome}"),
            &committed_edit,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("This outcome was committed when the epic became ready: say why it changes")
    );
    assert!(refused.body.contains(r#"value="80""#), "the typing is kept");

    committed_edit.push(("reason", "Traffic from the new market lowers the ceiling"));
    let saved = app
        .post_as(
            &t.pm_cookie,
            &format!("/outcomes/{outcome}"),
            &committed_edit,
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let page = app.get(&format!("/outcomes/{outcome}")).await.text();
    assert!(
        page.contains("Revised") && page.contains("Traffic from the new market lowers the ceiling"),
        "{page}"
    );
    assert!(
        page.contains("From: Onboarding completion within 7 days from 70% to 85% by 30 Sep 2026")
    );
    assert!(
        page.contains("To: Onboarding completion within 7 days from 70% to 80% by 30 Sep 2026")
    );

    // A wording change to a committed outcome is not a revision.
    let mut wording = outcome_fields(&id, "increase", "70", "80");
    wording.retain(|(k, _)| *k != "statement");
    wording.extend([
        ("statement", "Learners finish onboarding"),
        ("version", "3"),
    ]);
    assert_eq!(
        app.post_as(&t.pm_cookie, &format!("/outcomes/{outcome}"), &wording)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let revisions: i64 = sqlx::query_scalar("SELECT count(*) FROM outcome_revisions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(revisions, 1);

    // A stale version is refused with the current sentence shown and the typing kept.
    let mut stale = outcome_fields(&id, "increase", "70", "80");
    stale.extend([("version", "1")]);
    let conflict = app
        .post_as(&t.pm_cookie, &format!("/outcomes/{outcome}"), &stale)
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert!(
        conflict
            .text()
            .contains("Someone saved this outcome while you were editing")
    );
}

#[tokio::test]
async fn records_with_a_missing_or_inactive_owner_are_listed_and_handed_over_in_one_action() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Learner onboarding", "feature").await;
    app.post_as(
        &t.pm_cookie,
        "/outcomes",
        &outcome_fields(&epic.to_string(), "increase", "40", "80"),
    )
    .await;
    let orphan = insert_epic(&app, t.team, None, "Nobody's epic", "defect", "draft").await;
    assert!(
        app.get("/needs-owner")
            .await
            .text()
            .contains("Nobody's epic")
    );
    assert!(
        !app.get("/needs-owner")
            .await
            .text()
            .contains("Learner onboarding")
    );

    // Priya leaves: her epic and its outcome now need an owner, and her page says so.
    app.post(
        &format!("/people/{}", t.pm),
        &[
            ("name", "Priya Raman"),
            ("email", "priya@northwind.example"),
            ("version", "1"),
        ],
    )
    .await;
    let needs = app.get("/needs-owner").await.text();
    assert!(
        needs.contains("Learner onboarding")
            && needs.contains("Onboarding completion within 7 days (Learner onboarding)"),
        "{needs}"
    );
    assert!(needs.contains("Priya Raman Inactive"));
    let other_unit = app.create_unit("Elsewhere", "team", None).await;
    assert!(
        app.get(&format!("/needs-owner?unit={other_unit}"))
            .await
            .text()
            .contains("Everything has an active owner")
    );
    let person = app.get(&format!("/people/{}", t.pm)).await.text();
    assert!(
        person.contains("Owns 2") && person.contains("is inactive: these need a new owner"),
        "{person}"
    );

    // One action hands everything to the tech lead.
    let done = app
        .post(
            &format!("/people/{}/reassign", t.pm),
            &[("owner_email", "tomas@northwind.example")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let needs = app.get("/needs-owner").await.text();
    assert!(!needs.contains("Learner onboarding") && needs.contains("Nobody's epic"));

    // And one action from the epic's page.
    let page = app
        .post(
            &format!("/epics/{orphan}/owner"),
            &[("owner_email", "tomas@northwind.example")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let refused = app
        .post(
            &format!("/epics/{orphan}/owner"),
            &[("owner_email", "priya@northwind.example")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("Priya Raman is inactive: choose an active owner")
    );
    assert!(refused.body.contains(r#"value="priya@northwind.example""#));
    let owner: String = sqlx::query_scalar(
        "SELECT p.name FROM epics e JOIN people p ON p.id = e.owner_id WHERE e.id = $1",
    )
    .bind(orphan)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        owner, "Tomás Herrera",
        "an inactive person cannot become the owner"
    );
    assert!(
        app.get("/needs-owner")
            .await
            .text()
            .contains("Everything has an active owner")
    );
    let reassigned: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'owner_reassigned'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(reassigned, 2);
}

#[tokio::test]
async fn the_loop_filter_finds_epics_with_an_overdue_or_soon_due_outcome_but_not_cancelled_work() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    // Today is 1 June 2026 in the tests.
    let cases = [
        ("Overdue work", "in_progress", "2026-05-31"),
        ("Due today", "measuring", "2026-06-01"),
        ("Due in two weeks", "ready", "2026-06-15"),
        ("Due later", "ready", "2026-06-16"),
        ("Cancelled but overdue", "cancelled", "2026-05-01"),
    ];
    for (title, status, measure_by) in cases {
        let epic = insert_epic(&app, t.team, Some(t.pm), title, "feature", status).await;
        sqlx::query(
            "INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
             VALUES ($1, $2, 'behaviour', 's', 'm', 'count', 'increase', 1, 2, $3::date)",
        )
        .bind(Uuid::new_v4())
        .bind(epic)
        .bind(measure_by)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let mut overdue = rows(&app.get("/epics?loop=overdue").await);
    overdue.sort();
    assert_eq!(overdue, ["Overdue work"]);
    let mut soon = rows(&app.get("/epics?loop=due_soon").await);
    soon.sort();
    assert_eq!(soon, ["Due in two weeks", "Due today"]);
}

#[tokio::test]
async fn an_epic_page_seen_again_shows_every_change_made_since_by_anyone_and_reads_again_only_then()
{
    let app = TestApp::new().await;
    let t = team(&app).await;
    let epic = create_epic(&app, &t, "Guided onboarding", "feature").await;
    let saved = app
        .post_as(
            &t.pm_cookie,
            "/outcomes",
            &outcome_fields(&epic.to_string(), "increase", "70", "90"),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    // A key result in another team's objective, for the outcome to serve.
    sqlx::query(
        "WITH p AS (INSERT INTO periods (id, name, cadence, starts_on, ends_on)
                    VALUES (gen_random_uuid(), '2026 Q3', 'quarter', '2026-07-01', '2026-09-30') RETURNING id),
              o AS (INSERT INTO objectives (id, org_unit_id, period_id, title)
                    SELECT gen_random_uuid(), e.team_id, p.id, 'Learners get going' FROM p, epics e WHERE e.id = $1
                    RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target)
         SELECT gen_random_uuid(), o.id, 'Most learners finish onboarding', 'Completion', 'percent', 'increase', 70, 90 FROM o",
    )
    .bind(epic)
    .execute(&app.db)
    .await
    .unwrap();
    let path = format!("/epics/{epic}");
    let first = app.get_as(&t.pm_cookie, &path).await;
    assert!(
        first.text().contains("Guided onboarding"),
        "{}",
        first.text()
    );
    let again = app.get_as(&t.pm_cookie, &path).await;
    assert_eq!(again.text(), first.text());
    assert_eq!(
        again.statements(),
        first.statements(),
        "seen again unchanged: whether it changed instead of the read"
    );
    let changes = [
        (
            "UPDATE epics SET title = 'Guided onboarding for all' WHERE id = $1",
            "Guided onboarding for all",
        ),
        (
            "UPDATE outcomes SET metric = 'Completion within a week' WHERE epic_id = $1",
            "Completion within a week",
        ),
        (
            "INSERT INTO outcome_key_results (outcome_id, key_result_id)
             SELECT o.id, k.id FROM outcomes o, key_results k WHERE o.epic_id = $1",
            "Most learners finish onboarding",
        ),
        (
            "UPDATE key_results SET title = 'Nine in ten finish onboarding'
              WHERE id IN (SELECT key_result_id FROM outcome_key_results l
                             JOIN outcomes o ON o.id = l.outcome_id WHERE o.epic_id = $1)",
            "Nine in ten finish onboarding",
        ),
        (
            "UPDATE objectives SET title = 'Learners get going fast'
              WHERE id IN (SELECT k.objective_id FROM outcome_key_results l JOIN key_results k ON k.id = l.key_result_id
                             JOIN outcomes o ON o.id = l.outcome_id WHERE o.epic_id = $1)",
            "Learners get going fast",
        ),
        (
            "UPDATE people SET name = 'Priya R. Raman' WHERE id = (SELECT owner_id FROM epics WHERE id = $1)",
            "Priya R. Raman",
        ),
        (
            "UPDATE org_units SET name = 'Onboarding squad' WHERE id = (SELECT team_id FROM epics WHERE id = $1)",
            "Onboarding squad",
        ),
        (
            "INSERT INTO unit_cost_rates (org_unit_id, rate, currency) SELECT team_id, 12000, 'EUR' FROM epics WHERE id = $1",
            "Not known: it needs an effort estimate",
        ),
        (
            "INSERT INTO audit_log (at, action, entity_type, entity_id) VALUES (now(), 'epic_imported', 'epic', $1)",
            "Imported from Jira",
        ),
        (
            "INSERT INTO audit_log (at, action, entity_type, entity_id)
             SELECT now(), 'outcome_updated', 'outcome', id FROM outcomes WHERE epic_id = $1",
            "Outcome edited",
        ),
        (
            "WITH i AS (INSERT INTO initiatives (id, org_unit_id, title)
                        SELECT gen_random_uuid(), team_id, 'Learners stay' FROM epics WHERE id = $1 RETURNING id)
             UPDATE epics SET initiative_id = (SELECT id FROM i) WHERE id = $1",
            "Learners stay",
        ),
        (
            "UPDATE initiatives SET title = 'Learners stay and return'
              WHERE id = (SELECT initiative_id FROM epics WHERE id = $1)",
            "Learners stay and return",
        ),
    ];
    app.each_change_shows(&t.pm_cookie, &path, epic, &changes, first.statements())
        .await;
    sqlx::query("DELETE FROM epics WHERE id = $1")
        .bind(epic)
        .execute(&app.db)
        .await
        .unwrap();
    let gone = app.get_as(&t.pm_cookie, &path).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}
