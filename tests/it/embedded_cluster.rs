//! The embedded PostgreSQL: shared by the commands on one data directory, stopped by the
//! last one out, reachable only through its socket, and recovered after a crash.

use std::time::{Duration, Instant};

use sqlx::Connection;
use yardstick::db::{Cluster, ClusterOptions};

use crate::common::process::{
    create_admin, http_get, http_get_as, kill9, postmaster, serve, sign_in, temp_dir, terminate,
    yardstick,
};

fn query_one(cluster: &Cluster, sql: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect_with(&cluster.connect_options("postgres"))
            .await
            .unwrap();
        let value: String = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        value
    })
}

#[test]
fn commands_share_one_cluster_and_the_last_one_out_stops_it() {
    let dir = temp_dir("share");
    let options = ClusterOptions {
        data_dir: dir.clone(),
        ephemeral: true,
    };
    let first = Cluster::start(&options).unwrap();
    let pid = postmaster(&dir).expect("a running postmaster");
    // Only a Unix socket, in a directory nobody else may enter.
    assert_eq!(query_one(&first, "SHOW listen_addresses"), "");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dir.join("run"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );

    let second = Cluster::start(&options).unwrap();
    assert_eq!(
        postmaster(&dir),
        Some(pid),
        "the second command joins the running cluster"
    );
    first.release().unwrap();
    assert_eq!(
        postmaster(&dir),
        Some(pid),
        "still in use by the second command"
    );
    assert_eq!(query_one(&second, "SELECT 'still here'"), "still here");
    second.release().unwrap();
    assert_eq!(postmaster(&dir), None, "the last user stopped it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_server_runs_its_own_cluster_keeps_data_across_restarts_and_stops_it_on_sigterm() {
    let dir = temp_dir("serve");
    let (server, address) = serve(&dir);
    assert_eq!(http_get(&address, "/healthz").0, 200);
    let (status, body) = http_get(&address, "/readyz");
    assert_eq!(status, 200, "{body}");
    let pid = postmaster(&dir).expect("the server started the cluster");

    // A second server on the same data directory is refused with a clear message.
    let second = yardstick(&dir, &["serve"])
        .env("YARDSTICK_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already serving the data directory"));

    // A CLI command joins the running cluster and leaves it running for the server.
    let demo = yardstick(&dir, &["demo"]).output().unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert_eq!(postmaster(&dir), Some(pid));
    let demo_admin = sign_in(
        &address,
        yardstick::demo::DEMO_ADMIN,
        yardstick::demo::DEMO_PASSWORD,
    );
    assert!(
        http_get_as(&address, "/org", &demo_admin)
            .1
            .contains("Northwind Learning")
    );

    terminate(server);
    assert_eq!(postmaster(&dir), None, "SIGTERM stopped the cluster");
    assert!(!dir.join("postgres/postmaster.pid").exists());

    // The next start reuses the cluster and its data.
    let (server, address) = serve(&dir);
    let again = sign_in(
        &address,
        yardstick::demo::DEMO_ADMIN,
        yardstick::demo::DEMO_PASSWORD,
    );
    assert!(
        http_get_as(&address, "/org", &again)
            .1
            .contains("Northwind Learning")
    );
    terminate(server);
    assert_eq!(postmaster(&dir), None);

    // A CLI command on a stopped cluster starts it and stops it again when done.
    let migrate = yardstick(&dir, &["migrate"]).output().unwrap();
    assert!(migrate.status.success());
    assert_eq!(
        String::from_utf8_lossy(&migrate.stdout).trim(),
        "Database migrated."
    );
    assert_eq!(postmaster(&dir), None);

    // The embedded database backs up and restores through its private socket.
    let file = dir.join("yardstick.backup");
    let backup = yardstick(&dir, &["backup", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    let restore = yardstick(&dir, &["restore", file.to_str().unwrap(), "--yes"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&restore.stdout).contains("Restored the database"),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    assert_eq!(postmaster(&dir), None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_server_binaries_are_reported_with_both_ways_out() {
    let dir = temp_dir("nobin");
    let output = yardstick(&dir, &["migrate"])
        .env("YARDSTICK_PG_BIN", dir.join("nowhere"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("initdb, postgres")
            && stderr.contains("apt-get install -y postgresql")
            && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crashed_server_or_cluster_is_recovered_from_on_the_next_start() {
    let dir = temp_dir("crash");
    // The server dies (kill -9) and leaves its cluster running: the next server adopts it
    // and, being the last user, stops it on SIGTERM.
    let (mut server, _) = serve(&dir);
    let orphan = postmaster(&dir).expect("a cluster");
    kill9(server.id() as i32);
    server.wait().unwrap();
    assert_eq!(
        postmaster(&dir),
        Some(orphan),
        "the cluster outlives the crashed server"
    );
    let (server, address) = serve(&dir);
    assert_eq!(http_get(&address, "/readyz").0, 200);
    assert_eq!(postmaster(&dir), Some(orphan), "adopted, not restarted");
    terminate(server);
    assert_eq!(postmaster(&dir), None);

    // Both die, and the old postmaster's pid now belongs to another program (this test):
    // the stale postmaster.pid must not stop the next start.
    let (mut server, _) = serve(&dir);
    let pid = postmaster(&dir).unwrap();
    kill9(server.id() as i32);
    server.wait().unwrap();
    kill9(pid);
    let pidfile = dir.join("postgres/postmaster.pid");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&pidfile).expect("a crash leaves postmaster.pid behind");
    let rest: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(
        &pidfile,
        format!("{}\n{}\n", std::process::id(), rest.join("\n")),
    )
    .unwrap();

    let (server, address) = serve(&dir);
    assert_eq!(http_get(&address, "/readyz").0, 200);
    terminate(server);
    assert_eq!(postmaster(&dir), None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_administrator_created_on_the_command_line_signs_in_through_the_login_page() {
    let dir = temp_dir("admin");
    let created = create_admin(
        &mut yardstick(&dir, &[]),
        "Boss@Northwind.example",
        "a long enough password",
    );
    assert!(created.contains("is an administrator"), "{created}");

    // Too short a password is refused with the rule.
    let short = yardstick(
        &dir,
        &[
            "admin",
            "create",
            "--email",
            "x@northwind.example",
            "--name",
            "X",
        ],
    )
    .env("YARDSTICK_ADMIN_PASSWORD", "short")
    .output()
    .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));

    let (server, address) = serve(&dir);
    // Setup is over once an account exists.
    assert_eq!(http_get(&address, "/setup").0, 404);
    let cookie = sign_in(&address, "boss@northwind.example", "a long enough password");
    let (status, page) = http_get_as(&address, "/org", &cookie);
    assert_eq!(status, 200);
    assert!(page.contains("Ada Boss") && page.contains("Sign out"));
    terminate(server);
    let _ = std::fs::remove_dir_all(&dir);
}
