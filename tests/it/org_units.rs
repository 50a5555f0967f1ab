use axum::http::StatusCode;
use uuid::Uuid;

use crate::common::TestApp;

async fn descendants(app: &TestApp, unit: Uuid) -> Vec<(String, i32)> {
    sqlx::query_as(
        "SELECT u.name, t.depth FROM org_unit_tree t JOIN org_units u ON u.id = t.descendant_id
          WHERE t.ancestor_id = $1 ORDER BY t.depth, u.name",
    )
    .bind(unit)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_team_created_under_a_division_appears_beneath_it_in_the_tree() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let division = app.create_unit("Platform", "division", Some(company)).await;
    let team = app.create_unit("Search", "team", Some(division)).await;

    let page = app.get(&format!("/org/units/{team}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("Organisation Northwind Platform Search Search Team"),
        "breadcrumbs: {text}"
    );

    let tree = app.get("/org").await;
    let body = &tree.body;
    let (northwind, platform, search) = (
        body.find(">Northwind<").unwrap(),
        body.find(">Platform<").unwrap(),
        body.find(">Search<").unwrap(),
    );
    assert!(northwind < platform && platform < search, "tree order");
    // Search is inside the nested list that follows Platform.
    let between = &body[platform..search];
    assert!(
        between.contains("<ul>"),
        "Search is nested beneath Platform"
    );

    assert_eq!(
        descendants(&app, company).await,
        vec![
            ("Northwind".into(), 0),
            ("Platform".into(), 1),
            ("Search".into(), 2)
        ]
    );
}

#[tokio::test]
async fn moving_a_unit_moves_everything_beneath_it() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let platform = app.create_unit("Platform", "division", Some(company)).await;
    let growth = app.create_unit("Growth", "division", Some(company)).await;
    let search = app.create_unit("Search", "team", Some(platform)).await;
    let ranking = app.create_unit("Ranking", "team", Some(search)).await;

    let page = app
        .post(
            &format!("/org/units/{search}"),
            &[
                ("name", "Search"),
                ("kind", "team"),
                ("parent_id", &growth.to_string()),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());

    assert_eq!(
        descendants(&app, platform).await,
        vec![("Platform".into(), 0)]
    );
    assert_eq!(
        descendants(&app, growth).await,
        vec![
            ("Growth".into(), 0),
            ("Search".into(), 1),
            ("Ranking".into(), 2)
        ]
    );
    let ancestors: Vec<(String, i32)> = sqlx::query_as(
        "SELECT u.name, t.depth FROM org_unit_tree t JOIN org_units u ON u.id = t.ancestor_id
          WHERE t.descendant_id = $1 ORDER BY t.depth",
    )
    .bind(ranking)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        ancestors,
        vec![
            ("Ranking".into(), 0),
            ("Search".into(), 1),
            ("Growth".into(), 2),
            ("Northwind".into(), 3)
        ]
    );
    let page = app.get(&format!("/org/units/{ranking}")).await;
    assert!(
        page.text()
            .contains("Organisation Northwind Growth Search Ranking"),
        "{}",
        page.text()
    );
}

#[tokio::test]
async fn moving_a_unit_beneath_its_own_descendant_is_refused_with_a_message() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let platform = app.create_unit("Platform", "division", Some(company)).await;
    let search = app.create_unit("Search", "team", Some(platform)).await;

    for target in [search, platform] {
        let page = app
            .post(
                &format!("/org/units/{platform}"),
                &[
                    ("name", "Platform renamed"),
                    ("kind", "division"),
                    ("parent_id", &target.to_string()),
                    ("version", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = page.text();
        assert!(text.contains("There is a problem"));
        assert!(
            text.contains("A unit cannot move beneath itself or one of its own units"),
            "{text}"
        );
        // What was typed is kept.
        assert!(page.body.contains(r#"value="Platform renamed""#));
    }
    let (name, parent): (String, Option<Uuid>) =
        sqlx::query_as("SELECT name, parent_id FROM org_units WHERE id = $1")
            .bind(platform)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((name.as_str(), parent), ("Platform", Some(company)));
}

#[tokio::test]
async fn an_invalid_unit_form_keeps_what_was_typed_and_names_each_problem() {
    let app = TestApp::new().await;
    let page = app
        .post(
            "/org/units",
            &[
                ("name", "   "),
                ("kind", "squad"),
                ("parent_id", "not-an-id"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(text.contains("Enter a name"));
    assert!(text.contains("Choose what kind of unit this is"));
    assert!(text.contains("Choose a unit from the list"));
    // The summary links to each field.
    for field in ["#name", "#kind", "#parent_id"] {
        assert!(
            page.body.contains(&format!(r#"href="{field}""#)),
            "summary links to {field}"
        );
    }
    assert!(page.body.contains(r#"aria-invalid="true""#));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM org_units")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn two_siblings_cannot_share_a_name() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    app.create_unit("Platform", "division", Some(company)).await;
    let page = app
        .post(
            "/org/units",
            &[
                ("name", "platform"),
                ("kind", "team"),
                ("parent_id", &company.to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text()
            .contains("There is already a unit called “platform” there")
    );
}

#[tokio::test]
async fn a_stale_edit_answers_409_showing_the_other_change_and_keeping_the_typing() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let unit = app.create_unit("Platform", "division", Some(company)).await;
    let first = app
        .post(
            &format!("/org/units/{unit}"),
            &[
                ("name", "Core Platform"),
                ("kind", "division"),
                ("parent_id", &company.to_string()),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);

    let stale = app
        .post(
            &format!("/org/units/{unit}"),
            &[
                ("name", "Infrastructure"),
                ("kind", "division"),
                ("parent_id", &company.to_string()),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let text = stale.text();
    assert!(text.contains("Someone else changed this unit while you were editing"));
    assert!(text.contains("Name Core Platform Infrastructure"), "{text}");
    assert!(
        stale.body.contains(r#"value="Infrastructure""#),
        "typing kept"
    );
    assert!(
        stale.body.contains(r#"name="version" value="2""#),
        "saving again is deliberate"
    );
    let name: String = sqlx::query_scalar("SELECT name FROM org_units WHERE id = $1")
        .bind(unit)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(name, "Core Platform");
}

#[tokio::test]
async fn units_cannot_be_added_beneath_an_archived_unit() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let old = app.create_unit("Legacy", "division", Some(company)).await;
    let page = app
        .post(
            &format!("/org/units/{old}"),
            &[
                ("name", "Legacy"),
                ("kind", "division"),
                ("parent_id", &company.to_string()),
                ("archived", "on"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = app
        .post(
            "/org/units",
            &[
                ("name", "New team"),
                ("kind", "team"),
                ("parent_id", &old.to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("That unit is archived"));
    assert!(
        app.get("/org")
            .await
            .text()
            .contains("Legacy Division Archived")
    );
}

#[tokio::test]
async fn members_are_added_by_email_with_a_role_and_can_be_removed() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let team = app.create_unit("Search", "team", Some(company)).await;
    let priya = app
        .create_person("Priya Raman", "priya@northwind.example")
        .await;

    let page = app
        .post(
            &format!("/org/units/{team}/members"),
            &[
                ("email", "PRIYA@northwind.example"),
                ("role", "product_manager"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let unit_page = app.get(&format!("/org/units/{team}")).await;
    assert!(
        unit_page.text().contains("Priya Raman Product manager"),
        "{}",
        unit_page.text()
    );
    assert!(
        app.get("/org")
            .await
            .text()
            .contains("Priya Raman Product manager")
    );

    let unknown = app
        .post(
            &format!("/org/units/{team}/members"),
            &[("email", "nobody@northwind.example"), ("role", "engineer")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().contains("Nobody has this email yet"));
    assert!(unknown.body.contains(r#"value="nobody@northwind.example""#));

    let removed = app
        .post(&format!("/org/units/{team}/members/{priya}/remove"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM memberships")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_org_tree_issues_the_same_statements_for_10_and_for_200_units() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let mut tx = app.db.begin().await.unwrap();
    for i in 0..9 {
        yardstick::org::insert_unit(
            &mut tx,
            Uuid::new_v4(),
            Some(company),
            &format!("Team {i:03}"),
            yardstick::org::model::UnitKind::Team,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let small = app.get("/org").await;
    assert!(small.text().contains("10 units"));

    let mut tx = app.db.begin().await.unwrap();
    for i in 9..199 {
        yardstick::org::insert_unit(
            &mut tx,
            Uuid::new_v4(),
            Some(company),
            &format!("Team {i:03}"),
            yardstick::org::model::UnitKind::Team,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let large = app.get("/org").await;
    assert!(large.text().contains("200 units"));
    assert_eq!(small.statements(), large.statements());
    assert!(small.statements() <= 4, "{} statements", small.statements());
}

#[tokio::test]
async fn changing_a_members_role_bumps_the_version_of_that_membership_only() {
    let app = TestApp::new().await;
    let unit = app.create_unit("Northwind", "company", None).await;
    let person = app
        .create_person("Helen Ward", "helen@northwind.example")
        .await;
    for role in ["engineer", "engineer", "leader"] {
        app.post(
            &format!("/org/units/{unit}/members"),
            &[("email", "helen@northwind.example"), ("role", role)],
        )
        .await;
    }
    let (role, version): (String, i32) =
        sqlx::query_as("SELECT role, version FROM memberships WHERE person_id = $1")
            .bind(person)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((role.as_str(), version), ("leader", 2));
}

#[tokio::test]
async fn every_change_to_the_organisation_is_audited_with_before_and_after() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    app.post(
        &format!("/org/units/{company}"),
        &[
            ("name", "Northwind Learning"),
            ("kind", "company"),
            ("parent_id", ""),
            ("version", "1"),
        ],
    )
    .await;
    let person = app
        .create_person("Grace Liu", "grace@northwind.example")
        .await;
    app.post(
        &format!("/org/units/{company}/members"),
        &[("email", "grace@northwind.example"), ("role", "leader")],
    )
    .await;
    app.post(
        &format!("/org/units/{company}/members/{person}/remove"),
        &[],
    )
    .await;
    app.post(
        "/periods",
        &[
            ("name", "2026 Q3"),
            ("cadence", "quarter"),
            ("starts_on", "2026-07-01"),
            ("ends_on", "2026-09-30"),
        ],
    )
    .await;

    type Row = (
        String,
        Option<Uuid>,
        Option<serde_json::Value>,
        Option<serde_json::Value>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT action, actor_id, before, after FROM audit_log WHERE action <> 'sign_in' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "unit_created",
            "unit_updated",
            "person_created",
            "membership_saved",
            "membership_removed",
            "period_created"
        ]
    );
    assert!(
        rows.iter().all(|r| r.1 == Some(app.admin)),
        "the admin did all of it"
    );
    let (_, _, before, after) = &rows[1];
    assert_eq!(before.as_ref().unwrap()["name"], "Northwind");
    assert_eq!(after.as_ref().unwrap()["name"], "Northwind Learning");
    assert_eq!(rows[3].3.as_ref().unwrap()["role"], "leader");
    assert_eq!(rows[4].2.as_ref().unwrap()["role"], "leader");
    assert_eq!(rows[5].3.as_ref().unwrap()["starts_on"], "2026-07-01");
}

/// The unit filter's options on `page`, as the person reads them, the chosen one marked `*`.
fn unit_filter(page: &crate::common::Page) -> Vec<String> {
    select_options(page, "unit")
}

/// The options of the select named `name` on `page`, the chosen one marked `*`.
fn select_options(page: &crate::common::Page, name: &str) -> Vec<String> {
    let start = page
        .body
        .find(&format!(r#"id="{name}" name="{name}""#))
        .expect("a select");
    let select = &page.body[start..];
    let select = &select[..select.find("</select>").unwrap()];
    select
        .split("<option")
        .skip(1)
        .map(|option| {
            let text = &option[option.find('>').unwrap() + 1..option.find("</option>").unwrap()];
            let mark = if option.contains(" selected") {
                "*"
            } else {
                ""
            };
            format!("{mark}{}", crate::common::unescape(text))
        })
        .collect()
}

#[tokio::test]
async fn a_large_organisations_unit_filter_opens_the_tree_only_along_the_chosen_unit_and_the_persons_own()
 {
    use yardstick::org::model::{MemberRole, UnitKind};
    let app = TestApp::new().await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    let company = add_unit(&mut conn, None, "Northwind", UnitKind::Company).await;
    // teams[d][t] is "Team d-t" of "Division d".
    let mut teams = Vec::new();
    let mut add_division = async |d: usize| {
        let division = Uuid::new_v4();
        let name = format!("Division {d:02}");
        yardstick::org::insert_unit(
            &mut conn,
            division,
            Some(company),
            &name,
            UnitKind::Division,
        )
        .await
        .unwrap();
        let mut of_division = Vec::new();
        for t in 0..11 {
            let team = Uuid::new_v4();
            let name = format!("Team {d:02}-{t:02}");
            yardstick::org::insert_unit(&mut conn, team, Some(division), &name, UnitKind::Team)
                .await
                .unwrap();
            of_division.push(team);
        }
        of_division
    };
    teams.push(add_division(0).await);
    let team_names = |d: usize| (0..11).map(move |t| format!("— — Team {d:02}-{t:02}"));

    // Thirteen units: the filter lists every one.
    let small = app.get("/epics").await;
    let mut every = vec![
        "All units".to_string(),
        "Northwind".into(),
        "— Division 00".into(),
    ];
    every.extend(team_names(0));
    assert_eq!(unit_filter(&small), every);
    assert!(!small.text().contains("units beneath it lists them"));

    for d in 1..10 {
        teams.push(add_division(d).await);
    }
    let lead = app
        .account("Mina Osei", "mina@northwind.example", "member")
        .await;
    yardstick::org::upsert_membership(&app.db, teams[3][4], lead, MemberRole::TechLead)
        .await
        .unwrap();
    let cookie = app.session_for(lead).await;

    // 121 units: the divisions, folded, except the one holding the person's team.
    let opened = |open: &[usize]| {
        let mut options = vec!["Northwind".to_string()];
        for d in 0..10 {
            if open.contains(&d) {
                options.push(format!("— Division {d:02}"));
                options.extend(team_names(d));
            } else {
                options.push(format!("— Division {d:02} (11 units beneath)"));
            }
        }
        options
    };
    let page = app.get_as(&cookie, "/epics").await;
    let mut expected = vec!["All units".to_string()];
    expected.extend(opened(&[3]));
    assert_eq!(unit_filter(&page), expected);
    assert!(
        page.text()
            .contains("A unit showing how many units are beneath it lists them once you choose it and apply the filter."),
        "{}",
        page.text()
    );

    // Choosing a team in another division opens that division too, the team chosen.
    let other = teams[7][2];
    for path in [
        format!("/epics?unit={other}"),
        format!("/loops?scope=unit&unit={other}"),
        format!("/learnings?unit={other}"),
        format!("/okrs?unit={other}"),
        format!("/people?unit={other}"),
    ] {
        let page = app.get_as(&cookie, &path).await;
        let options = unit_filter(&page);
        let mut want: Vec<String> = opened(&[3, 7]);
        let chosen = want.iter().position(|o| o == "— — Team 07-02").unwrap();
        want[chosen].insert(0, '*');
        assert_eq!(options[1..], want[..], "{path}");
    }

    // Someone in no unit, on the company's dashboard: the company and its divisions.
    let dashboard = app.get("/dashboard").await;
    let mut expected = vec!["The whole company".to_string()];
    expected.extend(opened(&[]));
    expected[1].insert(0, '*');
    assert_eq!(unit_filter(&dashboard), expected);
}

#[tokio::test]
async fn a_filters_units_and_periods_are_kept_between_views_until_another_server_changes_them() {
    use yardstick::org::model::{MemberRole, UnitKind};
    let app = TestApp::new().await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    let company = add_unit(&mut conn, None, "Northwind", UnitKind::Company).await;
    app.quarter("2026 Q3", "2026-07-01", "2026-09-30").await;

    let first = app.get("/epics").await;
    assert_eq!(unit_filter(&first), ["All units", "Northwind"]);
    assert_eq!(select_options(&first, "period"), ["Any period", "2026 Q3"]);
    let again = app.get("/epics").await;
    assert_eq!(again.body, first.body);
    assert_eq!(
        again.statements() + 2,
        first.statements(),
        "seen again, the unit filter and the periods are not read"
    );

    // Written straight to the database, as another server would: each shows at once.
    let team = add_unit(&mut conn, Some(company), "Checkout", UnitKind::Team).await;
    let page = app.get("/epics").await;
    assert_eq!(unit_filter(&page), ["All units", "Northwind", "— Checkout"]);
    assert_eq!(page.statements(), first.statements());
    sqlx::query("UPDATE org_units SET name = 'Payments' WHERE id = $1")
        .bind(team)
        .execute(&app.db)
        .await
        .unwrap();
    let page = app.get(&format!("/loops?scope=unit&unit={team}")).await;
    assert_eq!(
        unit_filter(&page),
        ["Choose a unit", "Northwind", "*— Payments"]
    );
    app.quarter("2026 Q4", "2026-10-01", "2026-12-31").await;
    let page = app.get("/epics").await;
    assert_eq!(
        select_options(&page, "period"),
        ["Any period", "2026 Q4", "2026 Q3"]
    );

    // Each person's own: a filter opens the tree along the units they belong to, so a new
    // membership shows in theirs.
    for d in 0..120 {
        let name = format!("Division {d:03}");
        add_unit(&mut conn, Some(company), &name, UnitKind::Division).await;
    }
    let division = add_unit(&mut conn, Some(company), "Division 999", UnitKind::Division).await;
    let squad = add_unit(&mut conn, Some(division), "Squad", UnitKind::Team).await;
    let lead = app
        .account("Mina Osei", "mina@northwind.example", "member")
        .await;
    let cookie = app.session_for(lead).await;
    let folded = unit_filter(&app.get_as(&cookie, "/epics").await);
    assert!(
        folded.contains(&"— Division 999 (1 unit beneath)".to_string()),
        "{folded:?}"
    );
    yardstick::org::upsert_membership(&app.db, squad, lead, MemberRole::TechLead)
        .await
        .unwrap();
    let opened = unit_filter(&app.get_as(&cookie, "/epics").await);
    assert!(opened.contains(&"— Division 999".to_string()), "{opened:?}");
    assert!(opened.contains(&"— — Squad".to_string()), "{opened:?}");
    // Another's filter is their own: the administrator belongs nowhere.
    let theirs = unit_filter(&app.get("/epics").await);
    assert!(
        theirs.contains(&"— Division 999 (1 unit beneath)".to_string()),
        "{theirs:?}"
    );
}

/// A unit added straight to the database (as another server would), with its id.
async fn add_unit(
    conn: &mut sqlx::PgConnection,
    parent: Option<Uuid>,
    name: &str,
    kind: yardstick::org::model::UnitKind,
) -> Uuid {
    let id = Uuid::new_v4();
    yardstick::org::insert_unit(conn, id, parent, name, kind)
        .await
        .unwrap();
    id
}
