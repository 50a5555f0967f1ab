//! `yardstick backup FILE` and `yardstick restore FILE` with the real pg_dump and
//! pg_restore, run as an operator would, with DATABASE_URL: a backup, the database wiped,
//! the restore, and every table's rows are back; client tools older than the server are
//! refused with what to install.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::common::{TestApp, database_url, row_counts};

/// Runs `yardstick` with DATABASE_URL (and `env`), as an operator would.
async fn yardstick(url: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_yardstick"))
        .args(args)
        .env("DATABASE_URL", url)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("yardstick runs")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_after_the_database_is_wiped_brings_back_every_record() {
    let app = TestApp::new().await;
    yardstick::demo::load(&app.db, &app.clock).await.unwrap();
    // The dashboard's rollups up to date, as any dashboard read leaves them: a restore
    // migrates, and migrating brings them up to date, so it would count them otherwise.
    yardstick::dashboard::rollup::refresh(&app.db)
        .await
        .unwrap();
    let before = row_counts(&app.db).await;
    let url = database_url(&app.db_name);
    let file = std::env::temp_dir().join(format!("yardstick-{}.backup", uuid::Uuid::new_v4()));
    let path = file.to_str().unwrap().to_string();

    let backup = yardstick(&url, &["backup", &path], &[]).await;
    assert!(backup.status.success(), "{}", said(&backup));
    assert!(
        said(&backup).contains("Backed up the database"),
        "{}",
        said(&backup)
    );
    assert!(Path::new(&path).metadata().unwrap().len() > 1_000);

    // Wiped: nothing of Yardstick is left.
    sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .execute(&app.db)
        .await
        .unwrap();
    app.db.close().await;

    let restore = yardstick(&url, &["restore", &path], &[]).await;
    assert!(restore.status.success(), "{}", said(&restore));
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let after = row_counts(&pool).await;
    assert_eq!(after, before);
    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM epics ORDER BY title LIMIT 3")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(titles.len(), 3);

    // Restoring over records asks for --yes first, and changes nothing without it.
    let refused = yardstick(&url, &["restore", &path], &[]).await;
    assert!(!refused.status.success());
    assert!(said(&refused).contains("--yes"), "{}", said(&refused));
    let again = yardstick(&url, &["restore", &path, "--yes"], &[]).await;
    assert!(again.status.success(), "{}", said(&again));
    assert_eq!(row_counts(&pool).await, before);
    pool.close().await;
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tools_older_than_the_server_are_refused_with_what_to_install() {
    let app = TestApp::new().await;
    let bin = std::env::temp_dir().join(format!("yardstick-old-pg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("pg_dump");
    std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let url = database_url(&app.db_name);
    let file = bin.join("never.backup");
    let output = yardstick(
        &url,
        &["backup", file.to_str().unwrap()],
        &[("YARDSTICK_PG_BIN", &bin)],
    )
    .await;
    assert!(!output.status.success());
    let text = said(&output);
    let server: i32 =
        sqlx::query_scalar("SELECT current_setting('server_version_num')::int / 10000")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        text.contains("is version 9")
            && text.contains(&format!("apt-get install -y postgresql-client-{server}")),
        "{text}"
    );
    assert!(!file.exists(), "nothing was written");
    std::fs::remove_dir_all(&bin).unwrap();
}
