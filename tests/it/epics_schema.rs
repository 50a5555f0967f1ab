//! The database itself refuses outcomes that break the rules, whatever code writes them.

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::common::TestApp;

async fn epic(app: &TestApp) -> Uuid {
    let company = app.create_unit("Northwind", "company", None).await;
    let team = app.create_unit("Search", "team", Some(company)).await;
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO epics (id, team_id, work_type, title) VALUES ($1, $2, 'tech_debt', 'Refactor the search service')")
        .bind(id)
        .bind(team)
        .execute(&app.db)
        .await
        .unwrap();
    id
}

async fn insert_outcome(
    app: &TestApp,
    epic: Uuid,
    direction: &str,
    baseline: &str,
    target: Option<&str>,
    band: Option<(&str, &str)>,
) -> Result<(), String> {
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    sqlx::query(
        "INSERT INTO outcomes (id, epic_id, kind, statement, metric, unit, direction, baseline, target, band_lower, band_upper, measure_by)
         VALUES ($1, $2, 'behaviour', 'Searches succeed', 'Search success rate', 'percent', $3, $4, $5, $6, $7, '2026-06-30')",
    )
    .bind(Uuid::new_v4())
    .bind(epic)
    .bind(direction)
    .bind(d(baseline))
    .bind(target.map(d))
    .bind(band.map(|b| d(b.0)))
    .bind(band.map(|b| d(b.1)))
    .execute(&app.db)
    .await
    .map(|_| ())
    .map_err(|e| yardstick::http::error::violated_constraint(&e).unwrap_or("?").to_string())
}

#[tokio::test]
async fn the_database_refuses_a_target_that_does_not_move_in_its_direction() {
    let app = TestApp::new().await;
    let epic = epic(&app).await;
    assert_eq!(
        insert_outcome(&app, epic, "increase", "70", Some("90"), None).await,
        Ok(())
    );
    assert_eq!(
        insert_outcome(&app, epic, "increase", "70", Some("70"), None).await,
        Err("outcomes_increase_moves_up".into())
    );
    assert_eq!(
        insert_outcome(&app, epic, "decrease", "2.5", Some("1.2"), None).await,
        Ok(())
    );
    assert_eq!(
        insert_outcome(&app, epic, "decrease", "2.5", Some("3"), None).await,
        Err("outcomes_decrease_moves_down".into())
    );
    assert_eq!(
        insert_outcome(&app, epic, "stay_within", "1", None, Some(("0", "1.2"))).await,
        Ok(())
    );
    assert_eq!(
        insert_outcome(&app, epic, "stay_within", "1", None, Some(("2", "1"))).await,
        Err("outcomes_band_in_order".into())
    );
    // Decimals come back exactly as stored, never through floats.
    let stored: Vec<Decimal> =
        sqlx::query_scalar("SELECT baseline FROM outcomes ORDER BY baseline")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|d| d.normalize().to_string())
            .collect::<Vec<_>>(),
        ["1", "2.5", "70"]
    );
}

#[tokio::test]
async fn an_outcome_belongs_to_exactly_one_epic_or_initiative() {
    let app = TestApp::new().await;
    let epic = epic(&app).await;
    let orphan = sqlx::query(
        "INSERT INTO outcomes (id, kind, statement, metric, unit, direction, baseline, target, measure_by)
         VALUES ($1, 'behaviour', 's', 'm', 'count', 'increase', 1, 2, '2026-06-30')",
    )
    .bind(Uuid::new_v4())
    .execute(&app.db)
    .await
    .unwrap_err();
    assert_eq!(
        yardstick::http::error::violated_constraint(&orphan),
        Some("outcomes_one_parent")
    );
    assert!(
        insert_outcome(&app, epic, "increase", "1", Some("2"), None)
            .await
            .is_ok()
    );
}
