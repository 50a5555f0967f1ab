//! Closing the loop: measurements, the verdict proposed against the committed goal and
//! confirmed or overridden, learnings, epics closing with their last loop, reopening, the
//! loops queue at the day boundaries, the learning log and follow-up epics.

use axum::http::StatusCode;
use uuid::Uuid;

use crate::common::{Page, TestApp};
use crate::epics::{Team, team};

/// An epic of the team in `status` with one outcome per (direction, baseline, target or
/// "lower-upper", measure-by); returns the epic and its outcomes.
async fn epic_with(
    app: &TestApp,
    t: &Team,
    title: &str,
    status: &str,
    outcomes: &[(&str, &str, &str, &str)],
) -> (Uuid, Vec<Uuid>) {
    let epic = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, owner_id, work_type, title, status) VALUES ($1, $2, $3, 'feature', $4, $5)")
        .bind(epic)
        .bind(t.team)
        .bind(t.pm)
        .bind(title)
        .bind(status)
        .execute(&app.db)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (n, (direction, baseline, goal, measure_by)) in outcomes.iter().enumerate() {
        let id = Uuid::new_v4();
        let (target, lower, upper) = match goal.split_once('-') {
            Some((l, u)) => (None, Some(l.to_string()), Some(u.to_string())),
            None => (Some(goal.to_string()), None, None),
        };
        sqlx::query(
            "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target,
                                   band_lower, band_upper, measure_by, committed_at)
             VALUES ($1, $2, $3, 'behaviour', $4, $5, 'percent', $6, $7::numeric, $8::numeric, $9::numeric, $10::numeric,
                     $11::date, now())",
        )
        .bind(id)
        .bind(epic)
        .bind(t.pm)
        .bind(format!("{title}: outcome {n}"))
        .bind(format!("{title} metric {n}"))
        .bind(direction)
        .bind(baseline)
        .bind(target)
        .bind(lower)
        .bind(upper)
        .bind(measure_by)
        .execute(&app.db)
        .await
        .unwrap();
        ids.push(id);
    }
    (epic, ids)
}

async fn measure(app: &TestApp, t: &Team, outcome: Uuid, value: &str, day: &str) -> Page {
    app.post_as(
        &t.pm_cookie,
        &format!("/outcomes/{outcome}/measurements"),
        &[
            ("value", value),
            ("measured_on", day),
            ("source", "https://analytics.example/onboarding"),
            ("note", "weekly cohort"),
        ],
    )
    .await
}

async fn version(app: &TestApp, outcome: Uuid) -> String {
    sqlx::query_scalar::<_, i32>("SELECT version FROM outcomes WHERE id = $1")
        .bind(outcome)
        .fetch_one(&app.db)
        .await
        .unwrap()
        .to_string()
}

async fn close(
    app: &TestApp,
    t: &Team,
    outcome: Uuid,
    verdict: &str,
    reason: &str,
    learnings: &str,
) -> Page {
    let v = version(app, outcome).await;
    app.post_as(
        &t.pm_cookie,
        &format!("/outcomes/{outcome}/close"),
        &[
            ("verdict", verdict),
            ("reason", reason),
            ("learnings", learnings),
            ("next_step", "iterate"),
            ("realised_value", ""),
            ("version", &v),
        ],
    )
    .await
}

#[tokio::test]
async fn the_verdict_is_proposed_from_the_latest_measurement_in_every_direction_and_overriding_it_needs_a_reason()
 {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, o) = epic_with(
        &app,
        &t,
        "Onboarding",
        "measuring",
        &[
            ("increase", "40", "80", "2026-05-31"),
            ("decrease", "20", "10", "2026-05-31"),
            ("stay_within", "99.5", "99.5-100", "2026-05-31"),
        ],
    )
    .await;
    // 60 of 40 → 80 is half-way: partially achieved (an earlier 30 no longer counts).
    assert_eq!(
        measure(&app, &t, o[0], "30", "2026-04-30").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        measure(&app, &t, o[0], "60", "2026-05-31").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        measure(&app, &t, o[1], "9", "2026-05-31").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        measure(&app, &t, o[2], "99.1", "2026-05-31").await.status,
        StatusCode::SEE_OTHER
    );
    for (outcome, proposed) in [
        (o[0], "Partially achieved"),
        (o[1], "Achieved"),
        (o[2], "Not achieved"),
    ] {
        let page = app.get(&format!("/outcomes/{outcome}")).await.text();
        assert!(
            page.contains(&format!(
                "Yardstick proposes {proposed} from the latest measurement"
            )),
            "{page}"
        );
    }
    let overridden = close(
        &app,
        &t,
        o[0],
        "achieved",
        "",
        "Completion rose after the shorter form",
    )
    .await;
    assert_eq!(overridden.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = overridden.text();
    assert!(
        text.contains(
            "The latest measurement proposes “partially achieved”: say why the verdict is different"
        ),
        "{text}"
    );
    assert!(
        overridden
            .body
            .contains("Completion rose after the shorter form</textarea>"),
        "the learnings are kept"
    );
    let no_learnings = close(&app, &t, o[1], "achieved", "", " ").await;
    assert!(no_learnings.text().contains("Write what you learned"));

    let confirmed = close(
        &app,
        &t,
        o[0],
        "partially_achieved",
        "",
        "Completion rose after the shorter form; the video step still loses people",
    )
    .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.text()
    );
    let stored: (String, String, String, serde_json::Value, Option<chrono::NaiveDate>, Option<Uuid>) = sqlx::query_as(
        "SELECT verdict, proposed_verdict, next_step, judged_against, closed_on, closed_by FROM outcomes WHERE id = $1",
    )
    .bind(o[0])
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (stored.0.as_str(), stored.1.as_str(), stored.2.as_str()),
        ("partially_achieved", "partially_achieved", "iterate")
    );
    assert_eq!(stored.3["baseline"], "40");
    assert_eq!(stored.4.unwrap().to_string(), "2026-06-01");
    assert_eq!(stored.5, Some(t.pm));
    let with_reason = close(
        &app,
        &t,
        o[2],
        "achieved",
        "The outage was a provider incident outside our band",
        "Alerting worked",
    )
    .await;
    assert_eq!(with_reason.status, StatusCode::SEE_OTHER);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'loop_closed'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn without_a_measurement_a_loop_closes_only_as_inconclusive_with_a_reason() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, o) = epic_with(
        &app,
        &t,
        "Risk",
        "measuring",
        &[("increase", "40", "80", "2026-05-31")],
    )
    .await;
    let page = app.get(&format!("/outcomes/{}", o[0])).await.text();
    assert!(
        page.contains("without one, the loop can only close as inconclusive"),
        "{page}"
    );
    let achieved = close(
        &app,
        &t,
        o[0],
        "achieved",
        "we think so",
        "Nothing measured",
    )
    .await;
    assert!(
        achieved
            .text()
            .contains("Without any measurement the loop can only close as inconclusive")
    );
    let no_reason = close(&app, &t, o[0], "inconclusive", "", "Nothing measured").await;
    assert!(
        no_reason
            .text()
            .contains("Say why the result is inconclusive")
    );
    let closed = close(
        &app,
        &t,
        o[0],
        "inconclusive",
        "The event was never tracked",
        "Track before shipping",
    )
    .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_epic_closes_with_its_last_loop_and_reopening_one_sends_it_back_to_measuring() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (epic, o) = epic_with(
        &app,
        &t,
        "Search",
        "measuring",
        &[
            ("increase", "70", "90", "2026-05-31"),
            ("increase", "20", "23", "2026-05-31"),
        ],
    )
    .await;
    for outcome in &o {
        assert_eq!(
            measure(&app, &t, *outcome, "95", "2026-05-31").await.status,
            StatusCode::SEE_OTHER
        );
    }
    close(&app, &t, o[0], "achieved", "", "The index split did it").await;
    let status: String = sqlx::query_scalar("SELECT status FROM epics WHERE id = $1")
        .bind(epic)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "measuring", "one loop is still open");
    let last = close(&app, &t, o[1], "achieved", "", "Engagement followed").await;
    assert!(
        app.follow(&last)
            .await
            .text()
            .contains("the epic is closed too")
    );
    let status: String = sqlx::query_scalar("SELECT status FROM epics WHERE id = $1")
        .bind(epic)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "closed");
    assert!(
        app.get(&format!("/epics/{epic}"))
            .await
            .text()
            .contains("Status: Closed")
    );

    let no_reason = app
        .post_as(
            &t.pm_cookie,
            &format!("/outcomes/{}/reopen", o[1]),
            &[("reason", "")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reopened = app
        .post_as(
            &t.pm_cookie,
            &format!("/outcomes/{}/reopen", o[1]),
            &[("reason", "The June cohort changed the picture")],
        )
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER);
    let (status, verdict): (String, Option<String>) = sqlx::query_as(
        "SELECT e.status, o.verdict FROM epics e JOIN outcomes o ON o.epic_id = e.id WHERE o.id = $1",
    )
    .bind(o[1])
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((status.as_str(), verdict), ("measuring", None));
    let reason: serde_json::Value =
        sqlx::query_scalar("SELECT after FROM audit_log WHERE action = 'loop_reopened'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(reason["reason"], "The June cohort changed the picture");
}

#[tokio::test]
async fn the_queue_orders_loops_by_urgency_with_the_day_boundaries_of_the_loop_state() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    // Today is 1 Jun 2026.
    let (_, o) = epic_with(
        &app,
        &t,
        "Loops",
        "measuring",
        &[
            ("increase", "1", "2", "2026-06-15"), // due in 14 days: due soon
            ("increase", "1", "2", "2026-05-31"), // yesterday: 1 day overdue
            ("increase", "1", "2", "2026-06-01"), // today: due soon, due today
            ("increase", "1", "2", "2026-06-16"), // 15 days: measuring (the work is delivered)
            ("increase", "1", "2", "2026-05-20"), // 12 days overdue
        ],
    )
    .await;
    epic_with(
        &app,
        &t,
        "Not started yet",
        "in_progress",
        &[("increase", "1", "2", "2026-09-30")],
    )
    .await;
    let (_, done) = epic_with(
        &app,
        &t,
        "Closed loops",
        "measuring",
        &[("increase", "1", "2", "2026-05-01")],
    )
    .await;
    measure(&app, &t, done[0], "2", "2026-05-01").await;
    close(&app, &t, done[0], "achieved", "", "Done").await;

    let page = app.get_as(&t.pm_cookie, "/loops").await.text();
    let order: Vec<usize> = [o[4], o[1], o[2], o[0], o[3]]
        .iter()
        .map(|id| {
            let n = o.iter().position(|x| x == id).unwrap();
            page.find(&format!("Loops metric {n} "))
                .unwrap_or_else(|| panic!("outcome {n} listed: {page}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{page}");
    assert!(
        page.contains("2 overdue · 2 due soon · 1 measuring"),
        "{page}"
    );
    assert!(page.contains("Overdue 12 days overdue"));
    assert!(page.contains("Overdue 1 day overdue"));
    assert!(page.contains("Due soon due today"));
    assert!(page.contains("Due soon due in 14 days"));
    assert!(page.contains("Measuring due 16 Jun 2026"));
    assert!(
        !page.contains("Not started yet") && !page.contains("Closed loops"),
        "{page}"
    );
    // Overdue loops on the epics list exclude closed outcomes; home shows the urgent ones.
    let overdue = app.get("/epics?loop=overdue").await.text();
    assert!(
        overdue.contains("Loops") && !overdue.contains("Closed loops"),
        "{overdue}"
    );
    let home = app.get_as(&t.pm_cookie, "/").await.text();
    assert!(
        home.contains("My loops to close Loops metric 4 Loops Overdue 12 days overdue"),
        "{home}"
    );
    assert!(
        !home.contains("Loops metric 3"),
        "measuring loops are not urgent: {home}"
    );
}

#[tokio::test]
async fn the_queue_pages_twenty_five_loops_at_a_time_without_skipping_or_repeating_one() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    // Today is 1 Jun 2026. One loop due yesterday, and 59 copies of it due up to 19 days
    // earlier, three to a day: 60 overdue loops, many of a day (ordered then by id).
    epic_with(
        &app,
        &t,
        "Loops",
        "measuring",
        &[("increase", "1", "2", "2026-05-31")],
    )
    .await;
    sqlx::query(
        "INSERT INTO outcomes
         SELECT (jsonb_populate_record(NULL::outcomes, to_jsonb(o) || jsonb_build_object(
                     'id', gen_random_uuid(), 'metric', 'Copy ' || lpad(n::text, 2, '0'),
                     'measure_by', o.measure_by - n % 20))).*
           FROM outcomes o CROSS JOIN generate_series(1, 59) AS n
          WHERE o.metric = 'Loops metric 0'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let first = app.get_as(&t.pm_cookie, "/loops").await;
    let text = first.text();
    assert!(
        text.contains("25 overdue · 0 due soon · 0 measuring on this page"),
        "{text}"
    );
    let next = first.link("Next page of loops").expect("a next page");
    let second_page = app.get_as(&t.pm_cookie, &next).await;
    let second = second_page.text();
    assert!(
        second.contains("25 overdue · 0 due soon · 0 measuring on this page"),
        "{second}"
    );
    let next = second_page
        .link("Next page of loops")
        .expect("a third page");
    let third = app.get_as(&t.pm_cookie, &next).await.text();
    assert!(
        third.contains("10 overdue · 0 due soon · 0 measuring on this page"),
        "{third}"
    );
    assert!(!third.contains("Next page of loops"), "the last page");
    let listed = |metric: &str| {
        [&text, &second, &third]
            .iter()
            .map(|page| page.matches(metric).count())
            .sum::<usize>()
    };
    for n in 1..=59 {
        assert_eq!(listed(&format!("Copy {n:02} ")), 1, "Copy {n:02}");
    }
    assert_eq!(listed("Loops metric 0 "), 1);
    // Longest overdue first: the copies due 19 days early open the queue, yesterday's
    // loop ends it.
    assert!(
        text.contains("Copy 19 ") && !text.contains("Copy 01 "),
        "{text}"
    );
    assert!(
        third.contains("Copy 01 ") && third.contains("Loops metric 0 "),
        "{third}"
    );
    // The download is the whole queue.
    let csv = app
        .get_as(
            &t.pm_cookie,
            &first
                .link("Download every loop in this queue (CSV)")
                .unwrap(),
        )
        .await
        .body;
    assert_eq!(csv.lines().count(), 1 + 60, "{csv}");
}

#[tokio::test]
async fn measurements_cannot_be_in_the_future_and_the_typing_is_kept() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, o) = epic_with(
        &app,
        &t,
        "Onboarding",
        "measuring",
        &[("increase", "40", "80", "2026-05-31")],
    )
    .await;
    let future = measure(&app, &t, o[0], "61.5", "2026-06-02").await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        future
            .text()
            .contains("A measurement cannot be in the future")
    );
    assert!(future.body.contains("value=\"61.5\""));
    let bad = measure(&app, &t, o[0], "about 60", "2026-05-31").await;
    assert!(bad.text().contains("The value must be a number"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM measurements")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
    let outsider = app
        .account("Olga Outsider", "olga@northwind.example", "member")
        .await;
    let cookie = app.session_for(outsider).await;
    let refused = app
        .post_as(
            &cookie,
            &format!("/outcomes/{}/measurements", o[0]),
            &[("value", "60"), ("measured_on", "2026-05-31")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_measurement_is_stored_with_its_audit_row_in_one_statement() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, o) = epic_with(
        &app,
        &t,
        "Onboarding",
        "measuring",
        &[("increase", "40", "80", "2026-05-31")],
    )
    .await;
    let recorded = measure(&app, &t, o[0], "61.5", "2026-05-30").await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER);
    // The session, the outcome with its parent, and the measurement with its audit row: no
    // BEGIN and COMMIT around two inserts.
    assert_eq!(recorded.statements(), 3);
    let stored: (String, chrono::NaiveDate, String, String, Uuid) = sqlx::query_as(
        "SELECT trim_scale(value)::text, measured_on, source, note, recorded_by FROM measurements WHERE outcome_id = $1",
    )
    .bind(o[0])
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        stored,
        (
            "61.5".to_string(),
            chrono::NaiveDate::from_ymd_opt(2026, 5, 30).unwrap(),
            "https://analytics.example/onboarding".to_string(),
            "weekly cohort".to_string(),
            t.pm
        )
    );
    let audit: (Option<Uuid>, String, serde_json::Value) = sqlx::query_as(
        "SELECT actor_id, entity_type, after FROM audit_log
          WHERE action = 'measurement_recorded' AND entity_id = $1",
    )
    .bind(o[0])
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audit.0, Some(t.pm));
    assert_eq!(audit.1, "outcome");
    assert_eq!(audit.2["value"], "61.5");
    assert_eq!(audit.2["note"], "weekly cohort");
    // Refused by the database (the outcome gone meanwhile), neither is written.
    let gone = Uuid::new_v4();
    let me = yardstick::auth::policy::Me {
        id: t.pm,
        name: "Priya".into(),
        email: "pm@northwind.example".into(),
        account_role: "member".into(),
        unread: 0,
        time_zone: "UTC".into(),
        choices_version: 0,
    };
    let refused = yardstick::loops::outcome::insert_measurement(
        &app.db,
        &me,
        "test",
        chrono::Utc::now(),
        yardstick::loops::outcome::Measured {
            outcome: gone,
            value: rust_decimal::Decimal::ONE,
            on: chrono::NaiveDate::from_ymd_opt(2026, 5, 30).unwrap(),
            source: "",
            note: "",
        },
    )
    .await;
    assert!(refused.is_err());
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE entity_id = $1")
        .bind(gone)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(audited, 0);
}

#[tokio::test]
async fn a_revised_goal_is_judged_against_what_was_first_committed() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, o) = epic_with(
        &app,
        &t,
        "Onboarding",
        "measuring",
        &[("increase", "40", "60", "2026-05-31")],
    )
    .await;
    // Committed 40 → 80, revised later down to 40 → 60.
    sqlx::query(
        "INSERT INTO outcome_revisions (outcome_id, revised_at, revised_by, reason, before, after)
         VALUES ($1, now(), $2, 'Lower the bar', $3, '{}')",
    )
    .bind(o[0])
    .bind(t.pm)
    .bind(serde_json::json!({ "direction": "increase", "baseline": "40", "target": "80", "band_lower": null, "band_upper": null, "measure_by": "2026-05-31" }))
    .execute(&app.db)
    .await
    .unwrap();
    measure(&app, &t, o[0], "62", "2026-05-31").await;
    let page = app.get(&format!("/outcomes/{}", o[0])).await.text();
    // 62 reaches the revised 60 but is only 55% of the way to the committed 80.
    assert!(page.contains("Result 40% → 80% 62%"), "{page}");
    assert!(
        page.contains("Yardstick proposes Partially achieved"),
        "{page}"
    );
    assert!(page.contains("judged against the goal as first committed"));
}

#[tokio::test]
async fn the_learning_log_lists_closed_loops_and_a_follow_up_epic_starts_from_one() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, o) = epic_with(
        &app,
        &t,
        "Guided first lesson",
        "measuring",
        &[
            ("increase", "30", "60", "2026-05-31"),
            ("increase", "10", "20", "2026-05-31"),
        ],
    )
    .await;
    measure(&app, &t, o[0], "35", "2026-05-31").await;
    measure(&app, &t, o[1], "21", "2026-05-31").await;
    close(
        &app,
        &t,
        o[0],
        "not_achieved",
        "",
        "Learners skipped the guided lesson when it autoplayed",
    )
    .await;
    close(
        &app,
        &t,
        o[1],
        "achieved",
        "",
        "Reminder emails brought learners back",
    )
    .await;

    let all = app.get("/learnings").await.text();
    assert!(
        all.contains("Not achieved")
            && all.contains("Learners skipped the guided lesson when it autoplayed"),
        "{all}"
    );
    let missed = app.get("/learnings?verdict=not_achieved").await.text();
    assert!(
        missed.contains("autoplayed") && !missed.contains("Reminder emails"),
        "{missed}"
    );
    let searched = app.get("/learnings?q=reminder").await.text();
    assert!(
        searched.contains("Reminder emails") && !searched.contains("autoplayed"),
        "{searched}"
    );

    let form = app.get(&format!("/epics/new?follow_up={}", o[0])).await;
    assert!(
        form.body
            .contains("value=\"Follow-up: Guided first lesson\""),
        "{}",
        form.text()
    );
    assert!(
        form.text()
            .contains("What we learned: Learners skipped the guided lesson when it autoplayed")
    );
    let follow_up_of = o[0].to_string();
    let team_id = t.team.to_string();
    let created = app
        .post_as(
            &t.pm_cookie,
            "/epics",
            &[
                ("title", "Follow-up: Guided first lesson"),
                ("team_id", &team_id),
                ("work_type", "feature"),
                ("follow_up_of", &follow_up_of),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let linked: Option<Uuid> = sqlx::query_scalar(
        "SELECT follow_up_of FROM epics WHERE title = 'Follow-up: Guided first lesson'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(linked, Some(o[0]));
    let outcome = app.get(&format!("/outcomes/{}", o[0])).await.text();
    assert!(
        outcome.contains("Followed up by Follow-up: Guided first lesson"),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_units_queue_follows_its_work_when_it_is_delivered_moved_to_another_team_or_cancelled() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let company: Uuid = sqlx::query_scalar("SELECT parent_id FROM org_units WHERE id = $1")
        .bind(t.team)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let payments = app.create_unit("Payments", "team", Some(company)).await;
    // Today is 1 Jun 2026: one loop overdue, one due in three months.
    let (epic, _) = epic_with(
        &app,
        &t,
        "Moving work",
        "in_progress",
        &[
            ("increase", "1", "2", "2026-05-20"),
            ("increase", "1", "2", "2026-08-30"),
        ],
    )
    .await;
    let queue = |unit: Uuid| format!("/loops?scope=unit&unit={unit}");
    let listed = |page: &str| {
        [0, 1]
            .into_iter()
            .filter(|n| page.contains(&format!("Moving work metric {n} ")))
            .collect::<Vec<_>>()
    };
    let set = |sql: &'static str, value: String| {
        let db = app.db.clone();
        async move {
            sqlx::query(sql)
                .bind(epic)
                .bind(value)
                .execute(&db)
                .await
                .unwrap();
        }
    };

    // Work under way shows only its overdue loop; delivered, its later one is measuring.
    let page = app.get_as(&t.pm_cookie, &queue(t.team)).await.text();
    assert_eq!(listed(&page), [0], "{page}");
    set(
        "UPDATE epics SET status = $2 WHERE id = $1",
        "delivered".into(),
    )
    .await;
    let page = app.get_as(&t.pm_cookie, &queue(t.team)).await.text();
    assert_eq!(listed(&page), [0, 1], "{page}");
    assert!(page.contains("Measuring due 30 Aug 2026"), "{page}");

    // Moved to Payments, its loops leave Onboarding's queue and join Payments' and stay in
    // the company's.
    set(
        "UPDATE epics SET team_id = $2::uuid WHERE id = $1",
        payments.to_string(),
    )
    .await;
    let page = app.get_as(&t.pm_cookie, &queue(t.team)).await.text();
    assert_eq!(listed(&page), Vec::<usize>::new(), "{page}");
    let page = app.get_as(&t.pm_cookie, &queue(payments)).await.text();
    assert_eq!(listed(&page), [0, 1], "{page}");
    assert!(page.contains("Payments"), "{page}");
    let page = app.get_as(&t.pm_cookie, &queue(company)).await.text();
    assert_eq!(listed(&page), [0, 1], "{page}");

    // Cancelled work has no loop.
    set(
        "UPDATE epics SET status = $2 WHERE id = $1",
        "cancelled".into(),
    )
    .await;
    let page = app.get_as(&t.pm_cookie, &queue(payments)).await.text();
    assert_eq!(listed(&page), Vec::<usize>::new(), "{page}");
    let stored: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT unit_id, work_status FROM outcomes WHERE epic_id = $1")
            .bind(epic)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        [
            (payments, "cancelled".to_string()),
            (payments, "cancelled".to_string())
        ]
    );

    // An epic and its outcome written by one statement: the outcome takes its work's unit
    // and status once the statement ends.
    let together: (Uuid, String) = {
        sqlx::query(
            "WITH e AS (INSERT INTO epics (id, team_id, work_type, title, status)
                        VALUES (gen_random_uuid(), $1, 'feature', 'Written together', 'measuring') RETURNING id)
             INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, measure_by)
             SELECT gen_random_uuid(), e.id, 'behaviour', 'Together', 'Together metric', 'percent', 'increase', 1, 2,
                    '2026-05-25' FROM e",
        )
        .bind(t.team)
        .execute(&app.db)
        .await
        .unwrap();
        sqlx::query_as("SELECT unit_id, work_status FROM outcomes WHERE metric = 'Together metric'")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(together, (t.team, "measuring".to_string()));
    let page = app.get_as(&t.pm_cookie, &queue(t.team)).await.text();
    assert!(page.contains("Together metric"), "{page}");
}

#[tokio::test]
async fn the_learning_log_filters_by_unit_type_and_periods_and_continues_after_a_learning() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let company: Uuid = sqlx::query_scalar("SELECT id FROM org_units WHERE parent_id IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let other = Team {
        team: app.create_unit("Billing", "team", Some(company)).await,
        pm: t.pm,
        pm_cookie: t.pm_cookie.clone(),
    };
    // More teams, so that one team is a small part of the organisation, whose page is picked
    // team by team (the company's is read as the whole organisation is).
    for n in 0..4 {
        app.create_unit(&format!("Team {n}"), "team", Some(company))
            .await;
    }
    let (_, ours) = epic_with(
        &app,
        &t,
        "Guided first lesson",
        "measuring",
        &[("increase", "30", "60", "2026-05-31"); 3],
    )
    .await;
    let (debt, theirs) = epic_with(
        &app,
        &other,
        "Retire the old invoice job",
        "measuring",
        &[("increase", "30", "60", "2026-05-31")],
    )
    .await;
    sqlx::query("UPDATE epics SET work_type = 'tech_debt' WHERE id = $1")
        .bind(debt)
        .execute(&app.db)
        .await
        .unwrap();
    // Closed on these days, each with its own learning.
    for (outcome, day, learning) in [
        (ours[0], "2026-02-10", "Lesson A1"),
        (ours[1], "2026-04-10", "Lesson A2"),
        (ours[2], "2026-05-20", "Lesson A3"),
        (theirs[0], "2026-05-01", "Lesson B1"),
    ] {
        sqlx::query(
            "UPDATE outcomes SET closed_at = $2::date, closed_on = $2::date, verdict = 'achieved',
                    next_step = 'scale', learnings = $3 WHERE id = $1",
        )
        .bind(outcome)
        .bind(day)
        .bind(learning)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let q1 = app.quarter("2026 Q1", "2026-01-01", "2026-03-31").await;
    let q2 = app.quarter("2026 Q2", "2026-04-01", "2026-06-30").await;

    // The learnings listed, newest first.
    let listed = |path: String| {
        let app = &app;
        async move {
            let text = app.get(&path).await.text();
            let mut found: Vec<(usize, &str)> = ["A1", "A2", "A3", "B1"]
                .into_iter()
                .filter_map(|l| text.find(&format!("Lesson {l}")).map(|at| (at, l)))
                .collect();
            found.sort();
            found.into_iter().map(|(_, l)| l).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("/learnings".into()).await, ["A3", "B1", "A2", "A1"]);
    assert_eq!(
        listed(format!("/learnings?unit={}", t.team)).await,
        ["A3", "A2", "A1"]
    );
    assert_eq!(
        listed(format!("/learnings?unit={}&after={}", t.team, ours[2])).await,
        ["A2", "A1"]
    );
    assert_eq!(
        listed(format!("/learnings?unit={}&period={q2}", other.team)).await,
        ["B1"]
    );
    assert_eq!(listed(format!("/learnings?unit={company}")).await.len(), 4);
    assert_eq!(listed("/learnings?type=tech_debt".into()).await, ["B1"]);
    assert_eq!(
        listed(format!("/learnings?period={q2}")).await,
        ["A3", "B1", "A2"]
    );
    assert_eq!(
        listed(format!("/learnings?period={q1}&until={q2}")).await,
        ["A3", "B1", "A2", "A1"]
    );
    assert_eq!(
        listed(format!("/learnings?period={q2}&type=feature&q=lesson")).await,
        ["A3", "A2"]
    );
    assert_eq!(
        listed(format!("/learnings?after={}", theirs[0])).await,
        ["A2", "A1"]
    );
    // A search finds the learning, the statement, the metric and the work's title (an
    // epic's or an initiative's); page after page.
    sqlx::query("UPDATE outcomes SET statement = 'Invoices reach customers sooner' WHERE id = $1")
        .bind(theirs[0])
        .execute(&app.db)
        .await
        .unwrap();
    let bet = Uuid::new_v4();
    sqlx::query(
        "WITH i AS (INSERT INTO initiatives (id, org_unit_id, title) VALUES ($1, $2, 'Learners return weekly'))
         INSERT INTO outcomes (id, initiative_id, kind, statement, metric, unit, direction, baseline, target,
                               measure_by, closed_at, closed_on, verdict, next_step, learnings)
         VALUES (gen_random_uuid(), $1, 'behaviour', 'Weekly visits grow', 'Weekly visitors', 'percent',
                 'increase', 10, 20, '2026-03-01', '2026-03-02', '2026-03-02', 'achieved', 'scale', 'Lesson C1')",
    )
    .bind(bet)
    .bind(t.team)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(
        listed("/learnings?q=old+invoice".into()).await,
        ["B1"],
        "the epic's title"
    );
    let page = app.get("/learnings?q=RETURN+WEEKLY").await.text();
    assert!(
        page.contains("Lesson C1") && !page.contains("Lesson A"),
        "the initiative's title: {page}"
    );
    assert_eq!(
        listed("/learnings?q=LESSON+A".into()).await,
        ["A3", "A2", "A1"]
    );
    assert_eq!(listed("/learnings?q=invoice".into()).await, ["B1"]);
    assert_eq!(
        listed(format!("/learnings?q=lesson&after={}", ours[2])).await,
        ["B1", "A2", "A1"]
    );
    assert_eq!(
        listed(format!(
            "/learnings?q=guided&unit={}&verdict=achieved",
            t.team
        ))
        .await,
        ["A3", "A2", "A1"]
    );
    assert_eq!(listed("/learnings?q=metric+0".into()).await, ["B1", "A1"]);
    // Searched within a team, picked team by team.
    assert_eq!(
        listed(format!("/learnings?q=metric+0&unit={}", t.team)).await,
        ["A1"]
    );
    assert_eq!(
        listed(format!("/learnings?q=old+invoice&unit={}", other.team)).await,
        ["B1"]
    );
    let page = app
        .get(&format!("/learnings?q=return+weekly&unit={}", t.team))
        .await
        .text();
    assert!(
        page.contains("Lesson C1") && !page.contains("Lesson A"),
        "{page}"
    );
    assert!(listed("/learnings?q=zebra".into()).await.is_empty());
    // What was searched follows edits at once: the statement changed after closing, and the
    // epic renamed (found by its new title).
    assert_eq!(listed("/learnings?q=CUSTOMERS".into()).await, ["B1"]);
    sqlx::query("UPDATE epics SET title = 'Retire the ledger export' WHERE id = $1")
        .bind(debt)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(listed("/learnings?q=ledger+export".into()).await, ["B1"]);
    // No words are found across two parts (the statement's end and the metric's start),
    // even with the separator typed.
    let across = sqlx::query_scalar::<_, String>("SELECT metric FROM outcomes WHERE id = $1")
        .bind(theirs[0])
        .fetch_one(&app.db)
        .await
        .unwrap();
    let start = across.split(' ').next().unwrap().to_string();
    assert!(
        listed(format!("/learnings?q=sooner+{start}"))
            .await
            .is_empty()
    );
    assert!(
        listed(format!("/learnings?q=sooner%1F{start}"))
            .await
            .is_empty()
    );
    // Reopened, a loop leaves the log and its search.
    sqlx::query(
        "UPDATE outcomes SET closed_at = NULL, closed_on = NULL, verdict = NULL, next_step = NULL
          WHERE id = $1",
    )
    .bind(theirs[0])
    .execute(&app.db)
    .await
    .unwrap();
    assert!(listed("/learnings?q=ledger".into()).await.is_empty());
    let searched: Option<String> = sqlx::query_scalar("SELECT search FROM outcomes WHERE id = $1")
        .bind(theirs[0])
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(searched, None, "an open outcome keeps no search text");
}
