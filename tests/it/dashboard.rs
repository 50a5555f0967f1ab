//! The leader dashboard on a small organisation with known numbers: every figure, by type
//! and by unit, the edge cases of the definitions, the overdue loops, and the lists the
//! figures link to agreeing with them.

use uuid::Uuid;

use crate::common::TestApp;

/// (title, team, type, status, owner, planned period, [(measure-by, verdict, closed on)],
/// serves a key result)
type KnownEpic<'a> = (
    &'a str,
    Uuid,
    &'a str,
    &'a str,
    Uuid,
    Uuid,
    &'a [(&'a str, Option<&'a str>, Option<&'a str>)],
    bool,
);

struct Known {
    division: Uuid,
    q2: Uuid,
}

/// Learner Experience → Onboarding (A), Assessments (B); Platform (E) outside the scope.
async fn known(app: &TestApp) -> Known {
    let company = app.create_unit("Northwind", "company", None).await;
    let division = app
        .create_unit("Learner Experience", "division", Some(company))
        .await;
    let a = app.create_unit("Onboarding", "team", Some(division)).await;
    let b = app.create_unit("Assessments", "team", Some(division)).await;
    let e = app.create_unit("Platform", "division", Some(company)).await;
    let owner = app
        .account("Priya Raman", "priya@northwind.example", "member")
        .await;
    let gone = app
        .account("Sam Porter", "sam@northwind.example", "member")
        .await;
    sqlx::query("UPDATE people SET active = false WHERE id = $1")
        .bind(gone)
        .execute(&app.db)
        .await
        .unwrap();
    let (q2, q3) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES
            ($1, '2026 Q2', 'quarter', '2026-04-01', '2026-06-30'), ($2, '2026 Q3', 'quarter', '2026-07-01', '2026-09-30')",
    )
    .bind(q2)
    .bind(q3)
    .execute(&app.db)
    .await
    .unwrap();
    let kr = Uuid::new_v4();
    sqlx::query(
        "WITH o AS (INSERT INTO objectives (id, org_unit_id, period_id, title) VALUES (gen_random_uuid(), $2, $3, 'Grow') RETURNING id)
         INSERT INTO key_results (id, objective_id, title, metric, unit, direction, start_value, target)
         SELECT $1, o.id, 'Learners', 'Learners', 'count', 'increase', 0, 10 FROM o",
    )
    .bind(kr)
    .bind(division)
    .bind(q2)
    .execute(&app.db)
    .await
    .unwrap();
    // (epic, team, type, status, owner, period, [(measure-by, verdict, closed on)], aligned)
    let epics: &[KnownEpic] = &[
        (
            "A1 welcome flow",
            a,
            "feature",
            "measuring",
            owner,
            q2,
            &[("2026-05-15", Some("achieved"), Some("2026-05-20"))],
            true,
        ),
        (
            "A2 sign-up rewrite",
            a,
            "tech_debt",
            "measuring",
            owner,
            q2,
            &[("2026-05-31", None, None)],
            false,
        ),
        (
            "A3 guided lesson",
            a,
            "feature",
            "draft",
            owner,
            q2,
            &[],
            false,
        ),
        (
            "A4 next quarter",
            a,
            "feature",
            "measuring",
            owner,
            q3,
            &[("2026-05-05", Some("partially_achieved"), Some("2026-05-06"))],
            false,
        ),
        (
            "B1 grading bug",
            b,
            "defect",
            "in_progress",
            gone,
            q2,
            &[("2026-06-30", None, None)],
            false,
        ),
        (
            "B2 dropped",
            b,
            "feature",
            "cancelled",
            owner,
            q2,
            &[("2026-05-01", None, None)],
            false,
        ),
        (
            "B3 exam integrity",
            b,
            "risk",
            "measuring",
            owner,
            q2,
            &[
                ("2026-04-10", Some("inconclusive"), Some("2026-04-20")),
                ("2026-05-10", Some("not_achieved"), Some("2026-05-12")),
            ],
            false,
        ),
        (
            "E1 elsewhere",
            e,
            "feature",
            "measuring",
            owner,
            q2,
            &[("2026-05-01", None, None)],
            false,
        ),
    ];
    for (title, team, work_type, status, owner, period, outcomes, aligned) in epics {
        let epic = Uuid::new_v4();
        sqlx::query("INSERT INTO epics (id, team_id, work_type, title, status, owner_id, period_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(epic)
            .bind(team)
            .bind(work_type)
            .bind(title)
            .bind(status)
            .bind(owner)
            .bind(period)
            .execute(&app.db)
            .await
            .unwrap();
        for (measure_by, verdict, closed_on) in outcomes.iter() {
            let outcome = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO outcomes (id, epic_id, owner_id, kind, statement, metric, unit, direction, baseline, target, measure_by,
                                       verdict, learnings, next_step, closed_at, closed_on)
                 VALUES ($1, $2, $3, 'behaviour', 'Change', $4, 'percent', 'increase', 1, 2, $5::date, $6,
                         CASE WHEN $6 IS NULL THEN '' ELSE 'Learned' END, CASE WHEN $6 IS NULL THEN NULL ELSE 'iterate' END,
                         $7::date::timestamptz, $7::date)",
            )
            .bind(outcome)
            .bind(epic)
            .bind(owner)
            .bind(format!("{title} metric"))
            .bind(measure_by)
            .bind(verdict)
            .bind(closed_on)
            .execute(&app.db)
            .await
            .unwrap();
            if *aligned {
                sqlx::query(
                    "INSERT INTO outcome_key_results (outcome_id, key_result_id) VALUES ($1, $2)",
                )
                .bind(outcome)
                .bind(kr)
                .execute(&app.db)
                .await
                .unwrap();
            }
        }
    }
    // Flow: started → delivered in 10, 20 and 4 days; B3 closed 37 days after delivery.
    // One outcome revised after commitment.
    sqlx::query(
        "UPDATE epics SET started_at = '2026-04-01', delivered_at = '2026-04-01'::timestamptz + make_interval(days => d.days)
           FROM (VALUES ('A1 welcome flow', 10), ('A2 sign-up rewrite', 20), ('B3 exam integrity', 4)) AS d (title, days)
          WHERE epics.title = d.title",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE epics SET status = 'closed', closed_at = '2026-05-12' WHERE title = 'B3 exam integrity'")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outcome_revisions (outcome_id, revised_at, reason, before, after)
         SELECT o.id, now(), 'Later date', '{}', '{}' FROM outcomes o JOIN epics e ON e.id = o.epic_id
          WHERE e.title = 'A2 sign-up rewrite'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    Known { division, q2 }
}

#[tokio::test]
async fn every_figure_matches_the_known_organisation_by_type_and_by_unit() {
    let app = TestApp::new().await;
    let k = known(&app).await;
    let page = app
        .get(&format!("/dashboard?unit={}&period={}", k.division, k.q2))
        .await;
    let text = page.text();
    // Epics of Q2 in the division, cancelled excluded: A1, A2, A3, B1, B3. Covered (active
    // owner and an outcome): A1, A2, B3. Aligned: A1. Loops due from 1 Apr to today (1 Jun):
    // A1, A2, A4 (planned in Q3, due in Q2), B3 ×2 — 4 closed. Closed in Q2: achieved,
    // partially, not achieved, inconclusive: realisation 1 ÷ 3.
    assert!(
        text.contains("Total 5 60% (3) · without outcome : Total 20% (1) · not aligned : Total 5 80% (4 closed) 4 33% (1 achieved) 1 1 1"),
        "{text}"
    );
    assert!(
        text.contains("Feature 2 50% (1) · without outcome : Feature 50% (1) · not aligned : Feature 2 100% (2 closed) 2 50% (1 achieved) 1 0 0"),
        "{text}"
    );
    assert!(
        text.contains(
            "Defect 1 0% (0) · without outcome : Defect 0% (0) · not aligned : Defect 0 — 0 — 0 0 0"
        ),
        "{text}"
    );
    assert!(
        text.contains("Risk 1 100% (1) · without outcome : Risk 0% (0) · not aligned : Risk 2 100% (2 closed) 2 0% (0 achieved) 0 1 1"),
        "{text}"
    );
    assert!(
        text.contains("Onboarding 3 67% (2) · without outcome : Onboarding 33% (1) · not aligned : Onboarding 3 67% (2 closed) 2 50% (1 achieved) 1 0 0"),
        "{text}"
    );
    assert!(
        text.contains("Assessments 2 50% (1) · without outcome : Assessments 0% (0) · not aligned : Assessments 2 100% (2 closed) 2 0% (0 achieved) 0 1 1"),
        "{text}"
    );
    assert!(
        !text.contains("E1 elsewhere"),
        "another division's work is out of scope"
    );
    // The overdue loop, with its owner and days.
    assert!(text.contains("Overdue loops, longest overdue first Outcome Work Unit Owner Overdue A2 sign-up rewrite metric A2 sign-up rewrite Onboarding Priya Raman 1 day overdue"), "{text}");

    // Cycle time over 4, 10, 20 days: median 10, 85th percentile 17 (interpolated);
    // time to realisation 37 days (B3 only); 1 of the 5 outcomes revised.
    assert!(text.contains("Total 10 / 17 37 / 37 1 of 5"), "{text}");
    assert!(text.contains("Assessments 4 / 4 37 / 37 0 of 3"), "{text}");

    // The lists behind the figures agree with them.
    let epics_link = page.link("5").expect("the total's epics link");
    let listed = app.get(&epics_link).await.text();
    for title in [
        "A1 welcome flow",
        "A2 sign-up rewrite",
        "A3 guided lesson",
        "B1 grading bug",
        "B3 exam integrity",
    ] {
        assert!(listed.contains(title), "{title} in {epics_link}: {listed}");
    }
    for title in ["B2 dropped", "A4 next quarter", "E1 elsewhere"] {
        assert!(!listed.contains(title), "{title} not in {epics_link}");
    }
    let closed_link = page.link("4").expect("the total's closed loops link");
    let learnings = app.get(&closed_link).await.text();
    assert_eq!(
        learnings.matches("Learned").count(),
        4,
        "{closed_link}: {learnings}"
    );
    // A handful of statements, whatever the size.
    assert!(page.statements() <= 12, "{} statements", page.statements());
}
