use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use uuid::Uuid;

use crate::common::{ADMIN_EMAIL, Page, TEST_PASSWORD, TestApp};

fn session_cookie(page: &Page) -> String {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("yardstick_session="))
        .expect("a session cookie")
        .to_string()
}

async fn login(app: &TestApp, email: &str, password: &str, next: &str) -> Page {
    app.post_as(
        "",
        "/login",
        &[("email", email), ("password", password), ("next", next)],
    )
    .await
}

#[tokio::test]
async fn anonymous_people_are_sent_to_sign_in_and_come_back_to_the_page_they_asked_for() {
    let app = TestApp::new().await;
    let page = app.get_as("", "/people?q=ada").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Fpeople%3Fq%3Dada");
    assert!(
        app.get_as("", "/no/such/page")
            .await
            .location()
            .starts_with("/login?next=")
    );
    assert_eq!(app.get_as("", "/healthz").await.status, StatusCode::OK);

    let signed_in = login(&app, ADMIN_EMAIL, TEST_PASSWORD, "/people?q=ada").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location(), "/people?q=ada");
    let cookie = session_cookie(&signed_in);
    let parts: Vec<&str> = cookie.split("; ").collect();
    assert!(
        parts.contains(&"HttpOnly") && parts.contains(&"SameSite=Lax") && parts.contains(&"Path=/"),
        "{cookie}"
    );
    assert!(
        !parts.contains(&"Secure"),
        "plain http on localhost cannot use Secure cookies"
    );
    let token = parts[0].trim_start_matches("yardstick_session=");
    assert_eq!(token.len(), 43, "256 bits in URL-safe base64");
    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE token_hash = $1")
        .bind(yardstick::auth::token::hash(token))
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_next_address_on_another_site_is_ignored() {
    let app = TestApp::new().await;
    for hostile in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let page = login(&app, ADMIN_EMAIL, TEST_PASSWORD, hostile).await;
        assert_eq!(page.location(), "/", "{hostile}");
    }
}

#[tokio::test]
async fn signing_in_replaces_the_session_id_the_browser_had() {
    let app = TestApp::new().await;
    let planted = app.session_for(app.admin).await;
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &planted)
        .body(Body::from(format!(
            "email={ADMIN_EMAIL}&password=correct+horse+battery+staple"
        )))
        .unwrap();
    let page = app.send(request).await;
    let fresh = session_cookie(&page);
    assert_ne!(fresh.split(';').next().unwrap(), planted);
    // The old id no longer signs anyone in.
    assert!(
        app.get_as(&planted, "/org")
            .await
            .location()
            .starts_with("/login")
    );
    assert_eq!(
        app.get_as(fresh.split(';').next().unwrap(), "/org")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = TestApp::new().await;
    let unknown = login(&app, "nobody@northwind.example", TEST_PASSWORD, "/").await;
    let wrong = login(&app, ADMIN_EMAIL, "not the password at all", "/").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let message = "The email or password is not right";
    assert!(unknown.text().contains(message) && wrong.text().contains(message));
    assert!(
        wrong.body.contains(&format!(r#"value="{ADMIN_EMAIL}""#)),
        "the email is kept"
    );
    assert!(
        !wrong.body.contains("not the password at all"),
        "the password is never echoed"
    );
    let failures: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'sign_in_failed'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(failures, 2);
}

#[tokio::test]
async fn repeated_failures_answer_429_with_retry_after_and_the_owner_gets_back_in_a_minute_later() {
    let app = TestApp::new().await;
    for _ in 0..5 {
        assert_eq!(
            login(&app, ADMIN_EMAIL, "wrong password!!", "/")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password waits now.
    let throttled = login(&app, ADMIN_EMAIL, TEST_PASSWORD, "/").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = throttled.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(throttled.text().contains("Too many failed sign-ins"));

    app.clock.set(app.clock.now() + Duration::seconds(61));
    assert_eq!(
        login(&app, ADMIN_EMAIL, TEST_PASSWORD, "/").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn many_failures_from_one_address_are_throttled_across_accounts() {
    let app = TestApp::new().await;
    for i in 0..20 {
        login(
            &app,
            &format!("guess{i}@northwind.example"),
            "wrong password!!",
            "/",
        )
        .await;
    }
    let page = login(&app, "another@northwind.example", "wrong password!!", "/").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_cross_site_post_is_refused() {
    let app = TestApp::new().await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let request = Request::post("/periods")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "yardstick.example")
            .header(name, value)
            .body(Body::from(
                "name=Evil&cadence=custom&starts_on=2030-01-01&ends_on=2030-01-02",
            ))
            .unwrap();
        let page = app.request(request).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{name}");
        assert!(page.text().contains("This request came from another site"));
    }
    // The same form from the site itself goes through.
    let request = Request::post("/periods")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "yardstick.example")
        .header("origin", "http://yardstick.example")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(
            "name=Fine&cadence=custom&starts_on=2030-01-01&ends_on=2030-01-02",
        ))
        .unwrap();
    assert_eq!(app.request(request).await.status, StatusCode::SEE_OTHER);
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM periods")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(names, ["Fine"]);
}

#[tokio::test]
async fn sessions_end_after_eight_idle_hours_or_seven_days() {
    let app = TestApp::new().await;
    let cookie = app.session_for(app.admin).await;
    app.clock.set(app.clock.now() + Duration::hours(7));
    assert_eq!(
        app.get_as(&cookie, "/org").await.status,
        StatusCode::OK,
        "7 idle hours are fine"
    );
    app.clock.set(app.clock.now() + Duration::hours(7));
    assert_eq!(
        app.get_as(&cookie, "/org").await.status,
        StatusCode::OK,
        "used 7 hours ago"
    );
    app.clock.set(app.clock.now() + Duration::hours(9));
    assert!(
        app.get_as(&cookie, "/org")
            .await
            .location()
            .starts_with("/login"),
        "idle for 9 hours"
    );

    let busy = app.session_for(app.admin).await;
    for _ in 0..24 {
        app.clock.set(app.clock.now() + Duration::hours(7));
        let page = app.get_as(&busy, "/org").await;
        if page.status != StatusCode::OK {
            assert!(page.location().starts_with("/login"));
            return;
        }
    }
    panic!("a session used every 7 hours must still end after 7 days");
}

#[tokio::test]
async fn setup_creates_the_first_administrator_once_and_then_disappears() {
    let app = TestApp::new().await;
    // TestApp made an admin: remove every account to be a fresh install.
    sqlx::query("DELETE FROM people")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.get_as("", "/login").await.location(), "/setup");
    let refused = app
        .post_as(
            "",
            "/setup",
            &[
                ("name", "Helen Ward"),
                ("email", "helen@northwind.example"),
                ("password", "short"),
                ("confirmation", "short"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().contains("Use at least 12 characters")
            && refused.body.contains(r#"value="Helen Ward""#)
    );

    let fields = [
        ("name", "Helen Ward"),
        ("email", "helen@northwind.example"),
        ("password", TEST_PASSWORD),
        ("confirmation", TEST_PASSWORD),
    ];
    let page = app.post_as("", "/setup", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let cookie = session_cookie(&page);
    let home = app.get_as(cookie.split(';').next().unwrap(), "/").await;
    assert!(
        home.text().contains("Helen Ward") && home.text().contains("Audit"),
        "signed in as an admin"
    );
    assert_eq!(app.get_as("", "/setup").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post_as("", "/setup", &fields).await.status,
        StatusCode::NOT_FOUND
    );
    let role: String = sqlx::query_scalar("SELECT account_role FROM people")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(role, "admin");
}

#[tokio::test]
async fn an_invitation_link_works_once_and_signs_the_person_in() {
    let app = TestApp::new().await;
    let person = app
        .create_person("Priya Raman", "priya@northwind.example")
        .await;
    let page = app
        .post(&format!("/people/{person}/account"), &[("role", "member")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let link = page
        .body
        .split(r#"value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the link")
        .to_string();
    let path = link.trim_start_matches(|c| c != '/').to_string();
    assert!(path.starts_with("/invitations/"), "{link}");
    let token = path.trim_start_matches("/invitations/");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM account_tokens WHERE token_hash = $1")
            .bind(yardstick::auth::token::hash(token))
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, 1, "only the hash is kept");
    assert!(
        app.get(&format!("/people/{person}"))
            .await
            .text()
            .contains("has been invited")
    );

    assert!(
        app.get_as("", &path)
            .await
            .text()
            .contains("Hello Priya Raman")
    );
    let mismatch = app
        .post_as(
            "",
            &path,
            &[
                ("password", TEST_PASSWORD),
                ("confirmation", "something else"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mismatch
            .text()
            .contains("The two passwords are not the same")
    );
    let set = app
        .post_as(
            "",
            &path,
            &[("password", TEST_PASSWORD), ("confirmation", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let cookie = session_cookie(&set);
    assert!(
        app.get_as(cookie.split(';').next().unwrap(), "/")
            .await
            .text()
            .contains("Priya Raman")
    );

    // Used once.
    assert!(
        app.get_as("", &path)
            .await
            .text()
            .contains("This link does not work any more")
    );
    assert_eq!(
        login(&app, "priya@northwind.example", TEST_PASSWORD, "/")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY id")
            .bind(person)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "person_created",
            "role_changed",
            "invitation_created",
            "password_set"
        ]
    );
}

#[tokio::test]
async fn an_invitation_expires_after_seven_days() {
    let app = TestApp::new().await;
    let person = app
        .create_person("Daniel Cho", "daniel@northwind.example")
        .await;
    let page = app
        .post(&format!("/people/{person}/account"), &[("role", "viewer")])
        .await;
    let link = page
        .body
        .split(r#"value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let path = link.trim_start_matches(|c| c != '/').to_string();
    app.clock
        .set(app.clock.now() + Duration::days(7) + Duration::minutes(1));
    let page = app.get_as("", &path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text().contains("work once, for 7 days"));
}

#[tokio::test]
async fn changing_a_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApp::new().await;
    let other_device = app.session_for(app.admin).await;
    let wrong = app
        .post(
            "/account/password",
            &[
                ("current", "not it at all"),
                ("password", "a brand new password"),
                ("confirmation", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains("Your current password is not right"));

    let page = app
        .post(
            "/account/password",
            &[
                ("current", TEST_PASSWORD),
                ("password", "a brand new password"),
                ("confirmation", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        app.get_as(&other_device, "/org")
            .await
            .location()
            .starts_with("/login"),
        "the other device is signed out"
    );
    assert_eq!(
        app.get("/org").await.status,
        StatusCode::OK,
        "this one stays"
    );
    assert_eq!(
        login(&app, ADMIN_EMAIL, "a brand new password", "/")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_ends_the_others() {
    let app = TestApp::new().await;
    let phone = app.session_for(app.admin).await;
    let page = app.get("/account").await.text();
    assert!(
        page.contains("This device") && page.matches("127.0.0.1").count() >= 2,
        "{page}"
    );
    let ended = app.post("/account/sessions/end-others", &[]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert!(
        app.get_as(&phone, "/")
            .await
            .location()
            .starts_with("/login")
    );
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn deactivating_a_person_or_removing_their_account_signs_them_out() {
    let app = TestApp::new().await;
    let member = app
        .account("Mia Member", "mia@northwind.example", "member")
        .await;
    let cookie = app.session_for(member).await;
    assert_eq!(app.get_as(&cookie, "/").await.status, StatusCode::OK);
    app.post(
        &format!("/people/{member}"),
        &[
            ("name", "Mia Member"),
            ("email", "mia@northwind.example"),
            ("version", "1"),
        ],
    )
    .await;
    assert!(
        app.get_as(&cookie, "/")
            .await
            .location()
            .starts_with("/login")
    );
    assert_eq!(
        login(&app, "mia@northwind.example", TEST_PASSWORD, "/")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let other = app
        .account("Oli Other", "oli@northwind.example", "member")
        .await;
    let cookie = app.session_for(other).await;
    app.post(&format!("/people/{other}/account"), &[("role", "none")])
        .await;
    assert!(
        app.get_as(&cookie, "/")
            .await
            .location()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn the_last_administrator_cannot_be_demoted() {
    let app = TestApp::new().await;
    let page = app
        .post(
            &format!("/people/{}/account", app.admin),
            &[("role", "member")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let role: String = sqlx::query_scalar("SELECT account_role FROM people WHERE id = $1")
        .bind(app.admin)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(role, "admin");
}

#[tokio::test]
async fn the_audit_log_records_sign_ins_and_role_changes_and_filters_them() {
    let app = TestApp::new().await;
    login(&app, ADMIN_EMAIL, TEST_PASSWORD, "/").await;
    login(&app, ADMIN_EMAIL, "wrong password!!", "/").await;
    let person: Uuid = app
        .account("Rui Role", "rui@northwind.example", "member")
        .await;
    app.post(&format!("/people/{person}/account"), &[("role", "viewer")])
        .await;

    let all = app.get("/admin/audit").await.text();
    assert!(
        all.contains("sign in failed")
            && all.contains("role changed")
            && all.contains("Test Admin")
    );
    let roles = app.get("/admin/audit?action=role_changed").await;
    let rows = crate::common::unescape(roles.body.split("<tbody>").nth(1).expect("a table"));
    assert!(
        rows.contains(r#"{"role":"member"} → {"role":"viewer"}"#),
        "{rows}"
    );
    assert!(!rows.contains("sign in failed") && !rows.contains(">sign in<"));
    let none = app.get("/admin/audit?from=2030-01-01").await.text();
    assert!(none.contains("Nothing recorded matches these filters"));
}

#[tokio::test]
async fn secrets_never_reach_the_audit_log() {
    let app = TestApp::new().await;
    login(&app, ADMIN_EMAIL, "my secret guess 123", "/").await;
    let signed = login(&app, ADMIN_EMAIL, TEST_PASSWORD, "/").await;
    let token = session_cookie(&signed)
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("yardstick_session=")
        .to_string();
    let everything: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(a)::text FROM audit_log a")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let everything = everything.join("\n");
    assert!(
        !everything.contains("my secret guess")
            && !everything.contains(TEST_PASSWORD)
            && !everything.contains(&token)
    );
}

#[tokio::test]
async fn https_deployments_get_secure_host_cookies_and_hsts() {
    let app = TestApp::new().await;
    let state = yardstick::AppState::new(app.db.pool().clone(), app.clock.clone())
        .with_public_url("https://okr.example.com/");
    let router = yardstick::app(state);
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "email={ADMIN_EMAIL}&password=correct+horse+battery+staple"
        )))
        .unwrap();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("__Host-yardstick_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(
        response.headers()[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}
