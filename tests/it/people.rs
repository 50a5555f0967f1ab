use axum::http::StatusCode;
use uuid::Uuid;

use crate::common::TestApp;

#[tokio::test]
async fn a_person_is_added_and_shown_with_their_details() {
    let app = TestApp::new().await;
    let page = app
        .post(
            "/people",
            &[
                ("name", "  Tomás Herrera "),
                ("email", " Tomas.Herrera@Northwind.example "),
                ("title", "Tech lead"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let id: Uuid = page
        .location()
        .trim_start_matches("/people/")
        .parse()
        .unwrap();
    let (name, email, title, active): (String, String, String, bool) =
        sqlx::query_as("SELECT name, email, title, active FROM people WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), email.as_str(), title.as_str(), active),
        (
            "Tomás Herrera",
            "Tomas.Herrera@Northwind.example",
            "Tech lead",
            true
        )
    );
    let text = app.get(&format!("/people/{id}")).await.text();
    assert!(
        text.contains("Tomás Herrera")
            && text.contains("Tech lead")
            && text.contains("Tomas.Herrera@Northwind.example")
    );
}

#[tokio::test]
async fn an_email_already_taken_in_another_case_is_refused_and_the_typing_kept() {
    let app = TestApp::new().await;
    app.create_person("Priya Raman", "priya@northwind.example")
        .await;
    let page = app
        .post(
            "/people",
            &[
                ("name", "Priya R."),
                ("email", "PRIYA@Northwind.Example"),
                ("title", "PM"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(text.contains("There is a problem"));
    assert!(
        text.contains("Priya Raman already has this email address"),
        "{text}"
    );
    assert!(
        page.body.contains(r#"value="Priya R.""#)
            && page.body.contains(r#"value="PRIYA@Northwind.Example""#)
            && page.body.contains(r#"value="PM""#)
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE account_role IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_person_needs_a_name_and_a_well_formed_email() {
    let app = TestApp::new().await;
    let page = app
        .post(
            "/people",
            &[
                ("name", ""),
                ("email", "priya@northwind"),
                ("title", &"x".repeat(121)),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(text.contains("Enter a name"));
    assert!(text.contains("Enter an email address in the form name@example.com"));
    assert!(text.contains("Title must be 120 characters or fewer"));
}

#[tokio::test]
async fn changing_an_email_to_one_taken_in_another_case_is_refused() {
    let app = TestApp::new().await;
    app.create_person("Priya Raman", "priya@northwind.example")
        .await;
    let daniel = app
        .create_person("Daniel Cho", "daniel@northwind.example")
        .await;
    let page = app
        .post(
            &format!("/people/{daniel}"),
            &[
                ("name", "Daniel Cho"),
                ("email", "Priya@northwind.example"),
                ("title", ""),
                ("active", "on"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text()
            .contains("Priya Raman already has this email address")
    );
}

#[tokio::test]
async fn deactivating_a_person_is_kept_and_shown() {
    let app = TestApp::new().await;
    let id = app
        .create_person("Kwame Mensah", "kwame@northwind.example")
        .await;
    let page = app
        .post(
            &format!("/people/{id}"),
            &[
                ("name", "Kwame Mensah"),
                ("email", "kwame@northwind.example"),
                ("title", ""),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let active: bool = sqlx::query_scalar("SELECT active FROM people WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!active);
    assert!(
        app.get("/people")
            .await
            .text()
            .contains("Kwame Mensah Inactive")
    );
}

#[tokio::test]
async fn the_people_list_searches_filters_by_unit_including_sub_units_and_pages() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let platform = app.create_unit("Platform", "division", Some(company)).await;
    let search = app.create_unit("Search", "team", Some(platform)).await;
    let growth = app.create_unit("Growth", "division", Some(company)).await;
    let nadia = app
        .create_person("Nadia Haddad", "nadia@northwind.example")
        .await;
    let olivia = app
        .create_person("Olivia Park", "olivia@northwind.example")
        .await;
    yardstick::org::upsert_membership(
        &app.db,
        search,
        nadia,
        yardstick::org::model::MemberRole::ProductManager,
    )
    .await
    .unwrap();
    yardstick::org::upsert_membership(
        &app.db,
        growth,
        olivia,
        yardstick::org::model::MemberRole::ProductManager,
    )
    .await
    .unwrap();

    let by_unit = app.get(&format!("/people?unit={platform}")).await.text();
    assert!(
        by_unit.contains("Nadia Haddad") && !by_unit.contains("Olivia Park"),
        "{by_unit}"
    );
    let by_text = app.get("/people?q=PARK").await.text();
    assert!(by_text.contains("Olivia Park") && !by_text.contains("Nadia Haddad"));
    // LIKE wildcards typed by a person are searched literally.
    assert!(
        app.get("/people?q=%25")
            .await
            .text()
            .contains("Nobody matches these filters")
    );

    // 60 more people: the first page shows 50 and links to the rest, with no repeats.
    let mut tx = app.db.begin().await.unwrap();
    for i in 0..60 {
        sqlx::query("INSERT INTO people (id, name, email) VALUES ($1, $2, $3)")
            .bind(Uuid::new_v4())
            .bind(format!("Person {i:02}"))
            .bind(format!("p{i}@northwind.example"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let first = app.get("/people").await;
    let rows_first = first.body.matches("<tr>").count() - 1;
    assert_eq!(rows_first, 50);
    let next = first.link("Next page of people").expect("a next page link");
    let second = app.get(&next).await;
    let rows_second = second.body.matches("<tr>").count() - 1;
    assert_eq!(
        rows_first + rows_second,
        63,
        "62 people and the administrator"
    );
    assert!(!second.body.contains("Next page of people"));
    assert!(
        first.text().contains("Nadia Haddad")
            && second.text().contains("Person 59")
            && !second.text().contains("Nadia Haddad")
    );
    assert_eq!(first.statements(), second.statements());
}

#[tokio::test]
async fn a_person_is_added_to_a_unit_from_their_page() {
    let app = TestApp::new().await;
    let company = app.create_unit("Northwind", "company", None).await;
    let team = app.create_unit("Search", "team", Some(company)).await;
    let lucas = app
        .create_person("Lucas Moreau", "lucas@northwind.example")
        .await;
    let page = app
        .post(
            &format!("/people/{lucas}/memberships"),
            &[("unit", &team.to_string()), ("role", "tech_lead")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let text = app.get(&format!("/people/{lucas}")).await.text();
    assert!(text.contains("Search Northwind Tech lead"), "{text}");
    let refused = app
        .post(
            &format!("/people/{lucas}/memberships"),
            &[("unit", ""), ("role", "tech_lead")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("Choose a unit"));
}
