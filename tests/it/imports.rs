//! Importing epics from a Jira "Export Excel CSV (all fields)": upload, map, preview each
//! row's problems, run the job, read the report, and import again without duplicates.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use uuid::Uuid;
use yardstick::imports::job::run_due;

use crate::common::{Page, TestApp};

const BOUNDARY: &str = "yardstick-test-boundary-7MA4YWxkTrZu0gW";

/// The header of a Jira export: repeated "Labels" columns, custom fields, and columns
/// Yardstick has no use for.
const HEADER: &str = "Summary,Issue key,Issue id,Issue Type,Status,Project key,Priority,Assignee,Reporter,Created,Updated,Resolved,Labels,Labels,Description,Custom field (Anticipated outcome),Sprint";

/// Row `n` of the export: every fifth a different status; quotes, commas, line breaks
/// and non-ASCII text; some columns empty.
fn jira_row(n: usize, title_suffix: &str, status: Option<&str>) -> String {
    let statuses = [
        "To Do",
        "In Progress",
        "Done",
        "Won't Do",
        "Selected for Development",
    ];
    let status = status.unwrap_or(statuses[n % 5]);
    let assignee = match n % 3 {
        0 => "Ana Lima",
        1 => "",
        _ => "Someone Elsewhere",
    };
    let resolved = if status == "Done" {
        "14/Mar/26 9:05 AM"
    } else {
        ""
    };
    format!(
        "\"Checkout, step {n}: \"\"fast\"\" path – café ✓{title_suffix}\",PAY-{n},{},Epic,{status},PAY,Medium,{assignee},Bo Chen,21/Nov/25 5:30 PM,02/Jan/26 10:00 AM,{resolved},checkout,,\"First line of {n}\nsecond line, with a comma\",\"Checkout completion from 61% to 70%\",\n",
        10_000 + n
    )
}

fn export(rows: usize, change: impl Fn(usize) -> Option<String>) -> String {
    let mut file = format!("{HEADER}\n");
    for n in 1..=rows {
        file.push_str(&change(n).unwrap_or_else(|| jira_row(n, "", None)));
    }
    file
}

/// A multipart upload of `file` with the form's other fields.
fn upload_request(file: &[u8], fields: &[(&str, &str)]) -> Request<Body> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Jira.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Request::post("/import/jira")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap()
}

async fn upload(app: &TestApp, file: &str, team: Uuid) -> Uuid {
    let team = team.to_string();
    let page = app
        .request(upload_request(
            file.as_bytes(),
            &[
                ("team_id", &team),
                ("work_type", "feature"),
                ("link_base", "https://acme.atlassian.net/browse/"),
            ],
        ))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    page.location()
        .trim_start_matches("/import/jira/")
        .parse()
        .unwrap()
}

/// The mapping form's fields as the page holds them (selected options and hidden inputs).
fn mapping_fields(page: &Page) -> Vec<(String, String)> {
    let html = &page.body;
    let mut fields = Vec::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<select") {
        let select = &rest[start..rest[start..].find("</select>").unwrap() + start];
        let name = attribute(select, "name=\"");
        let chosen = select
            .split("<option")
            .find(|o| o.contains(" selected"))
            .map(|o| attribute(o, "value=\""))
            .unwrap_or_default();
        fields.push((name, chosen));
        rest = &rest[start + select.len()..];
    }
    for hidden in html.split("<input type=\"hidden\"").skip(1) {
        fields.push((
            attribute(hidden, "name=\""),
            crate::common::unescape(&attribute(hidden, "value=\"")),
        ));
    }
    fields
}

fn attribute(tag: &str, prefix: &str) -> String {
    tag.split_once(prefix)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.to_string())
        .unwrap_or_default()
}

async fn start(app: &TestApp, job: Uuid) -> Page {
    let page = app.get(&format!("/import/jira/{job}")).await;
    let mut fields = mapping_fields(&page);
    fields.push(("action".into(), "import".into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    app.post(&format!("/import/jira/{job}"), &fields).await
}

async fn epic_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM epics WHERE tracker_key LIKE 'PAY-%'")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_thousand_row_jira_export_is_previewed_imported_and_imported_again_without_duplicates() {
    let app = TestApp::new().await;
    let team = app.create_unit("Payments", "team", None).await;
    let ana = app.create_person("Ana Lima", "ana@example.com").await;
    // Row 500 was cut short: fewer columns than the header.
    let file = export(1000, |n| {
        (n == 500).then(|| "Half a row,PAY-500,10500\n".to_string())
    });
    let job = upload(&app, &file, team).await;

    let preview = app.get(&format!("/import/jira/{job}")).await;
    let text = preview.text();
    assert!(
        text.contains(
            "1000 rows: 999 new epics, 0 already imported (updated), 1 with problems (skipped)"
        ),
        "{text}"
    );
    assert!(
        text.contains("The row has 3 columns where the header has 17"),
        "{text}"
    );
    // Row 500 starts on line 1 + 499 rows of two lines each + 1.
    let problem = preview.from("Rows with problems").text();
    assert!(problem.contains("500 1000 PAY-500"), "{problem}");
    assert!(
        text.contains("In Progress → In progress")
            && text.contains("Selected for Development → Ready")
    );
    assert!(text.contains("Someone Elsewhere is not an active person here: no owner set"));
    assert!(
        preview
            .body
            .contains("<option value=\"1\" selected>Issue key</option>")
    );
    assert!(preview.body.contains("Labels (column 13)"));

    let started = start(&app, job).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    let waiting = app.follow(&started).await;
    assert!(waiting.text().contains("Waiting for a server to start it"));
    assert!(
        waiting
            .body
            .contains("<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>")
    );
    assert!(
        waiting
            .body
            .contains("<progress id=\"import-progress\" max=\"1000\" value=\"0\"")
    );
    let progress = app.get(&format!("/import/jira/{job}/progress")).await;
    assert_eq!(
        progress.body,
        r#"{"rows_done":0,"status":"queued","total_rows":1000}"#
    );

    assert!(run_due(&app.db, app.clock.now()).await.unwrap());
    assert!(
        !run_due(&app.db, app.clock.now()).await.unwrap(),
        "nothing is left to run"
    );
    let report = app.get(&format!("/import/jira/{job}")).await;
    let text = report.text();
    assert!(
        text.contains("1000 of 1000 rows: 999 created, 0 updated, 0 unchanged, 1 failed"),
        "{text}"
    );
    assert!(
        !report.body.contains("http-equiv=\"refresh\""),
        "a finished import stops refreshing"
    );
    assert!(
        report
            .from("Rows that failed")
            .text()
            .contains("500 1000 PAY-500 failed The row has 3 columns")
    );
    assert_eq!(epic_count(&app).await, 999);
    let kept: i32 = sqlx::query_scalar("SELECT length(content) FROM import_jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, 0, "the upload is not kept once imported");

    let epic: (String, String, String, String, Option<Uuid>, String, Uuid, String) = sqlx::query_as(
        "SELECT title, description, status, validation_plan, owner_id, tracker_url, team_id, work_type
           FROM epics WHERE tracker_key = 'PAY-12'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(epic.0, "Checkout, step 12: \"fast\" path – café ✓");
    assert_eq!(epic.1, "First line of 12\nsecond line, with a comma");
    assert_eq!(
        epic.2, "measuring",
        "Done is delivered, which moves on to measuring"
    );
    assert_eq!(epic.3, "Checkout completion from 61% to 70%");
    assert_eq!(epic.4, Some(ana));
    assert_eq!(epic.5, "https://acme.atlassian.net/browse/PAY-12");
    assert_eq!((epic.6, epic.7.as_str()), (team, "feature"));
    let dates: (String, String) = sqlx::query_as(
        "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), to_char(delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
           FROM epics WHERE tracker_key = 'PAY-12'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        dates,
        (
            "2025-11-21 17:30".to_string(),
            "2026-03-14 09:05".to_string()
        )
    );
    let statuses: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM epics WHERE tracker_key LIKE 'PAY-%' GROUP BY status ORDER BY status",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        statuses,
        [
            ("cancelled".to_string(), 200),
            ("draft".to_string(), 199),
            ("in_progress".to_string(), 200),
            ("measuring".to_string(), 200),
            ("ready".to_string(), 200),
        ]
    );
    let imported: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'epic_imported'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(imported, 999);

    // Again, with row 500 mended, one title and one status changed in Jira.
    let file = export(1000, |n| match n {
        2 => Some(jira_row(2, " (renamed)", None)),
        3 => Some(jira_row(3, "", Some("In Progress"))),
        _ => None,
    });
    let job = upload(&app, &file, team).await;
    let preview = app.get(&format!("/import/jira/{job}")).await;
    assert!(
        preview
            .text()
            .contains("1000 rows: 1 new epics, 999 already imported (updated), 0 with problems")
    );
    assert_eq!(start(&app, job).await.status, StatusCode::SEE_OTHER);
    assert!(run_due(&app.db, app.clock.now()).await.unwrap());
    let report = app.get(&format!("/import/jira/{job}")).await;
    assert!(
        report
            .text()
            .contains("1000 of 1000 rows: 1 created, 2 updated, 997 unchanged, 0 failed"),
        "{}",
        report.text()
    );
    assert_eq!(
        epic_count(&app).await,
        1000,
        "re-importing adds no duplicate"
    );
    let renamed: (String, i32) =
        sqlx::query_as("SELECT title, version FROM epics WHERE tracker_key = 'PAY-2'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        renamed,
        (
            "Checkout, step 2: \"fast\" path – café ✓ (renamed)".to_string(),
            2
        )
    );
    let moved: (String, bool, i32) = sqlx::query_as(
        "SELECT status, started_at IS NOT NULL, version FROM epics WHERE tracker_key = 'PAY-3'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(moved, ("in_progress".to_string(), true, 2));
    let untouched: i32 =
        sqlx::query_scalar("SELECT version FROM epics WHERE tracker_key = 'PAY-4'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        untouched, 1,
        "an unchanged row leaves its epic's version alone"
    );
    let history = app
        .get(&format!(
            "/epics/{}",
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM epics WHERE tracker_key = 'PAY-2'")
                .fetch_one(&app.db)
                .await
                .unwrap()
        ))
        .await;
    assert!(
        history.text().contains("Updated from Jira"),
        "{}",
        history.text()
    );
    assert!(history.text().contains("Imported from Jira"));
}

#[tokio::test]
async fn the_mapping_form_names_what_is_missing_keeps_the_choices_and_refuses_a_stale_version() {
    let app = TestApp::new().await;
    let team = app.create_unit("Payments", "team", None).await;
    let job = upload(&app, &export(3, |_| None), team).await;
    let page = app.get(&format!("/import/jira/{job}")).await;
    let mut fields = mapping_fields(&page);
    for (name, value) in fields.iter_mut() {
        if name == "col_key" {
            value.clear();
        }
        if name == "status_0" {
            // "Done" (statuses are listed by name): keep it in progress instead.
            *value = "in_progress".into();
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let refused = app.post(&format!("/import/jira/{job}"), &pairs).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("Choose the column that holds the issue key")
    );
    assert!(
        refused.body.contains("<a href=\"#key\">"),
        "the summary links to the field"
    );
    let kept = mapping_fields(&refused);
    assert!(
        kept.contains(&("status_0".into(), "in_progress".into())),
        "{kept:?}"
    );
    assert!(kept.contains(&("col_title".into(), "0".into())));

    // Saved for the preview, it changes what the rows become.
    let mut fields = mapping_fields(&page);
    for (name, value) in fields.iter_mut() {
        if name == "status_0" {
            *value = "in_progress".into();
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let saved = app.post(&format!("/import/jira/{job}"), &pairs).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert!(
        app.follow(&saved)
            .await
            .text()
            .contains("Done → In progress")
    );
    // The same form again holds the version before that save.
    let stale = app.post(&format!("/import/jira/{job}"), &pairs).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale
            .text()
            .contains("Someone changed this import meanwhile")
    );
    let status: String = sqlx::query_scalar("SELECT status FROM import_jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "mapping");
}

#[tokio::test]
async fn an_upload_that_is_not_a_usable_export_says_why_and_stores_nothing() {
    let app = TestApp::new().await;
    let team = app.create_unit("Payments", "team", None).await.to_string();
    for (file, team, message) in [
        ("", team.as_str(), "Choose the CSV file Jira exported"),
        (HEADER, team.as_str(), "The file has a header but no rows"),
        (
            "Issue key,Summary\nP-1,x\n",
            "",
            "Choose the team new epics belong to",
        ),
    ] {
        let page = app
            .request(upload_request(
                file.as_bytes(),
                &[
                    ("team_id", team),
                    ("work_type", "feature"),
                    ("link_base", "ftp://x"),
                ],
            ))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = page.text();
        assert!(text.contains(message), "{text}");
        assert!(text.contains("The issue address must start with https://"));
    }
    // Over 20 MB.
    let huge = format!(
        "{HEADER}\n{}",
        "x".repeat(yardstick::imports::pages::UPLOAD_LIMIT)
    );
    let page = app
        .request(upload_request(
            huge.as_bytes(),
            &[("team_id", &team), ("work_type", "feature")],
        ))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text().contains("The file is larger than 20 MB"),
        "{}",
        page.text()
    );
    // Not a multipart body at all.
    let page = app.post("/import/jira", &[("team_id", &team)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("The file could not be received"));
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM import_jobs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(jobs, 0);
}

#[tokio::test]
async fn two_servers_share_the_queue_and_a_job_left_by_a_dead_one_is_finished_once() {
    let app = TestApp::new().await;
    let team = app.create_unit("Payments", "team", None).await;
    let first = upload(&app, &export(250, |_| None), team).await;
    assert_eq!(start(&app, first).await.status, StatusCode::SEE_OTHER);
    // A server took the job and died before its first chunk: its lease has run out.
    sqlx::query("UPDATE import_jobs SET status = 'running', leased_until = now() - interval '1 second' WHERE id = $1")
        .bind(first)
        .execute(&app.db)
        .await
        .unwrap();
    let second = upload(&app, &export(260, |_| None), team).await;
    assert_eq!(start(&app, second).await.status, StatusCode::SEE_OTHER);

    let now = app.clock.now();
    let (a, b) = tokio::join!(run_due(&app.db, now), run_due(&app.db, now));
    assert!(a.unwrap() && b.unwrap(), "each server took one job");
    assert!(!run_due(&app.db, now).await.unwrap());
    let jobs: Vec<(String, i32, i32, i32, i32)> = sqlx::query_as(
        "SELECT status, rows_done, created_count, updated_count, attempts FROM import_jobs ORDER BY created_at, id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    // Both files hold PAY-1…PAY-250; whichever ran first created them.
    let created: i32 = jobs.iter().map(|j| j.2).sum();
    let updated_or_unchanged: i32 = jobs.iter().map(|j| j.1 - j.2).sum();
    assert_eq!(created, 260, "{jobs:?}");
    assert_eq!(updated_or_unchanged, 250, "{jobs:?}");
    assert!(jobs.iter().all(|j| j.0 == "done"));
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM import_jobs WHERE id = $1")
        .bind(first)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "the abandoned run counts as an attempt");
    assert_eq!(epic_count(&app).await, 260);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM import_rows")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 510, "one result per row of each file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_imports_a_file_in_a_browser_and_the_progress_bar_follows_the_job_to_its_report() {
    let app = TestApp::new().await;
    app.create_unit("Payments", "team", None).await;
    let file = std::env::temp_dir().join(format!("jira-{}.csv", Uuid::new_v4()));
    std::fs::write(&file, export(3, |_| None)).unwrap();
    let base = app.serve().await;
    let Some(browser) = crate::common::browser::Browser::start(&base).await else {
        return;
    };
    browser
        .sign_in(crate::common::ADMIN_EMAIL, crate::common::TEST_PASSWORD)
        .await;
    browser.follow("Import").await;
    browser
        .field("Jira CSV export")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    browser.choose("Team for new epics", "Payments").await;
    browser.press("Upload and preview").await;
    let text = browser.text().await;
    assert!(text.contains("3 rows: 3 new epics"), "{text}");
    browser.press("Import 3 rows").await;
    assert!(
        browser
            .text()
            .await
            .contains("Waiting for a server to start it")
    );

    // A server runs the job; the page's script sees it end and shows the report.
    assert!(run_due(&app.db, app.clock.now()).await.unwrap());
    let mut shown = String::new();
    for _ in 0..100 {
        shown = browser.text().await;
        if shown.contains("3 of 3 rows: 3 created") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        shown.contains("3 of 3 rows: 3 created, 0 updated, 0 unchanged, 0 failed"),
        "{shown}"
    );
    browser.check_page().await;
    browser.close().await;
    let _ = std::fs::remove_file(file);
}
