//! Faults of the kind a real installation meets, each on the real binary and a real
//! PostgreSQL: the database going away under load and coming back, the server stopped
//! (SIGTERM) under load, and both killed (kill -9) in the middle of writes. What each test
//! checks is what a person would: the answers they got, and that every change they were
//! told was saved is in the database afterwards.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use yardstick::db::{Cluster, ClusterOptions};

use crate::common::process::{
    create_admin, http_get, http_get_as, http_post_as, kill9, location, postmaster, serve,
    serve_with, sign_in, signal, temp_dir, try_http, yardstick,
};

const EMAIL: &str = "boss@northwind.example";
const PASSWORD: &str = "a long enough password";

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The embedded database of the server running on `data_dir`, through its private socket.
fn embedded(data_dir: &Path) -> PgConnectOptions {
    PgConnectOptions::new()
        .socket(data_dir.join("run"))
        .port(5432)
        .username(yardstick::db::embedded::SUPERUSER)
        .database(yardstick::db::EMBEDDED_DATABASE)
}

/// The names of every unit stored.
fn stored_units(options: &PgConnectOptions) -> BTreeSet<String> {
    block_on(async {
        let mut conn = sqlx::PgConnection::connect_with(options).await.unwrap();
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM org_units")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        names.into_iter().collect()
    })
}

/// Creates the company every written team goes under; its id.
fn company(address: &str, cookie: &str) -> String {
    let (status, response) = http_post_as(
        address,
        "/org/units",
        cookie,
        &[("name", "Northwind"), ("kind", "company")],
    );
    assert_eq!(status, 303, "{response}");
    location(&response)
        .trim_start_matches("/org/units/")
        .to_string()
}

/// One answer a writer got: the team it tried to add, the status (0: no HTTP answer, the
/// connection failed or was cut), when it was sent and how long it took.
#[derive(Debug, Clone)]
struct Answer {
    name: String,
    status: u16,
    sent: Instant,
    took: Duration,
}

/// Writers adding teams one after another, each on a new connection, until stopped.
struct Writers {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    acknowledged: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    fn start(n: usize, address: &str, cookie: &str, company: &str) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let threads = (0..n)
            .map(|w| {
                let (stop, answers, acknowledged) =
                    (stop.clone(), answers.clone(), acknowledged.clone());
                let (address, cookie, company) =
                    (address.to_string(), cookie.to_string(), company.to_string());
                std::thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let name = format!("Team {w}-{i}");
                        let sent = Instant::now();
                        let status = try_http(
                            &address,
                            "POST",
                            "/org/units",
                            &cookie,
                            &[("name", &name), ("kind", "team"), ("parent_id", &company)],
                        )
                        .map(|(status, _)| status)
                        .unwrap_or(0);
                        if status == 303 {
                            acknowledged.fetch_add(1, Ordering::Relaxed);
                        }
                        let took = sent.elapsed();
                        answers.lock().unwrap().push(Answer {
                            name,
                            status,
                            sent,
                            took,
                        });
                        if status == 0 {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                })
            })
            .collect();
        Writers {
            stop,
            answers,
            acknowledged,
            threads,
        }
    }

    fn wait_for(&self, acknowledged: usize) {
        let started = Instant::now();
        while self.acknowledged.load(Ordering::Relaxed) < acknowledged {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "only {} writes acknowledged",
                self.acknowledged.load(Ordering::Relaxed)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        Arc::try_unwrap(self.answers).unwrap().into_inner().unwrap()
    }
}

fn acknowledged(answers: &[Answer]) -> BTreeSet<String> {
    answers
        .iter()
        .filter(|a| a.status == 303)
        .map(|a| a.name.clone())
        .collect()
}

#[test]
fn a_database_outage_under_load_is_answered_with_503_at_once_and_served_again_without_a_restart_keeping_every_acknowledged_write()
 {
    // A database of its own, which the test stops and starts under the running server.
    let db_dir = temp_dir("outage-db");
    let options = ClusterOptions {
        data_dir: db_dir.clone(),
        ephemeral: true,
    };
    let cluster = Cluster::start(&options).unwrap();
    let url = format!(
        "postgres://{}@localhost:5432/postgres?host={}",
        yardstick::db::embedded::SUPERUSER,
        db_dir.join("run").display()
    );
    let app_dir = temp_dir("outage-app");
    let mut admin = yardstick(&app_dir, &[]);
    admin.env("DATABASE_URL", &url);
    create_admin(&mut admin, EMAIL, PASSWORD);
    let mut command = yardstick(&app_dir, &["serve"]);
    command.env("DATABASE_URL", &url);
    let (server, address) = serve_with(command);
    let cookie = sign_in(&address, EMAIL, PASSWORD);
    let company = company(&address, &cookie);

    let writers = Writers::start(4, &address, &cookie, &company);
    writers.wait_for(40);

    cluster.release().unwrap();
    let down = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let (ready, readiness) = http_get(&address, "/readyz");
    let (page, unavailable) = http_get_as(&address, "/org", &cookie);
    let (alive, _) = http_get(&address, "/healthz");
    let asked_in = asked.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let during = writers.acknowledged.load(Ordering::Relaxed);

    let cluster = Cluster::start(&options).unwrap();
    let up = Instant::now();
    let outage = up - down;
    let recovered_in = loop {
        if http_get(&address, "/readyz").0 == 200 {
            break up.elapsed();
        }
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "not ready again after the database came back"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    writers.wait_for(during + 40);
    let answers = writers.stop();

    // While it was down: the readiness check failed, pages said so at once, the process
    // stayed alive.
    assert_eq!(ready, 503, "{readiness}");
    assert!(
        readiness.contains(r#""database":"unreachable""#),
        "{readiness}"
    );
    assert_eq!(page, 503, "{unavailable}");
    assert!(
        unavailable.contains("Yardstick is briefly unavailable")
            && unavailable.contains("retry-after"),
        "{unavailable}"
    );
    assert_eq!(alive, 200);
    assert!(
        asked_in < Duration::from_secs(5),
        "answered in {asked_in:?}"
    );

    // Every write was answered: saved, or unavailable, none left hanging or failing.
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    let others: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status != 303 && a.status != 503)
        .collect();
    assert!(others.is_empty(), "{others:?}");
    assert!(!refused.is_empty(), "no write met the outage");
    let slowest = answers.iter().map(|a| a.took).max().unwrap();
    assert!(slowest < Duration::from_secs(10), "slowest: {slowest:?}");
    // Served again by the same process, without a restart.
    assert!(
        answers.iter().any(|a| a.status == 303 && a.sent > up),
        "no write saved after the database came back"
    );
    let acknowledged = acknowledged(&answers);
    let stored = stored_units(&cluster.connect_options("postgres"));
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    eprintln!(
        "outage {outage:?}: {} writes answered 503 (slowest answer {slowest:?}); ready again {recovered_in:?} after the database; {} writes acknowledged, all stored",
        refused.len(),
        acknowledged.len()
    );
    drop(server);
    cluster.release().unwrap();
    let _ = std::fs::remove_dir_all(&db_dir);
    let _ = std::fs::remove_dir_all(&app_dir);
}

/// Processes whose command line names `dir`.
fn processes_of(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.ok()?.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(&needle).then_some(cmdline)
        })
        .collect()
}

#[test]
fn sigterm_under_load_finishes_the_requests_in_flight_refuses_new_connections_and_stops_the_cluster()
 {
    let dir = temp_dir("drain");
    create_admin(&mut yardstick(&dir, &[]), EMAIL, PASSWORD);
    // Six requests each hold a connection while they wait on the lock below; more than
    // a small machine's default pool (its cores plus one).
    let mut command = yardstick(&dir, &["serve"]);
    command.env("YARDSTICK_DB_CONNECTIONS", "8");
    let (mut server, address) = serve_with(command);
    let cookie = sign_in(&address, EMAIL, PASSWORD);
    let database = embedded(&dir);

    // Another session holds the organisation's row: the home pages asked for wait on it.
    let (lock_tx, lock_rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let database = database.clone();
        std::thread::spawn(move || {
            block_on(async {
                let mut conn = sqlx::PgConnection::connect_with(&database).await.unwrap();
                let mut tx = conn.begin().await.unwrap();
                sqlx::query("LOCK TABLE organisation IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                held_tx.send(()).unwrap();
                lock_rx.recv().unwrap();
                tx.rollback().await.unwrap();
            })
        })
    };
    held_rx.recv().unwrap();
    let in_flight: Vec<_> = (0..6)
        .map(|_| {
            let (address, cookie) = (address.clone(), cookie.clone());
            std::thread::spawn(move || http_get_as(&address, "/", &cookie))
        })
        .collect();
    let started = Instant::now();
    loop {
        let waiting: i64 = block_on(async {
            let mut conn = sqlx::PgConnection::connect_with(&database).await.unwrap();
            sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap()
        });
        if waiting == 6 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{waiting} waiting"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    signal(server.id() as i32, nix::sys::signal::Signal::SIGTERM);
    // New connections are refused while the requests in flight still run. (One the
    // kernel queued before the listener closed is reset, unanswered.)
    let refused_at = Instant::now();
    while !matches!(
        try_http(&address, "GET", "/healthz", "", &[]),
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused
    ) {
        assert!(
            refused_at.elapsed() < Duration::from_secs(5),
            "still accepting connections after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused_in = refused_at.elapsed();
    assert!(
        postmaster(&dir).is_some(),
        "the cluster runs while requests are in flight"
    );

    lock_tx.send(()).unwrap();
    holder.join().unwrap();
    for request in in_flight {
        let (status, page) = request.join().unwrap();
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Sign out"), "{page}");
    }
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(postmaster(&dir), None, "the cluster was stopped");
    assert!(!dir.join("postgres/postmaster.pid").exists());
    assert_eq!(processes_of(&dir), Vec::<String>::new(), "left running");
    eprintln!(
        "SIGTERM: new connections refused within {refused_in:?}; 6 requests in flight finished with 200; cluster stopped, nothing left running"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_acknowledged_write_survives_kill_9_of_the_server_and_of_postgresql_mid_write() {
    let dir = temp_dir("durable");
    create_admin(&mut yardstick(&dir, &[]), EMAIL, PASSWORD);
    let (mut server, address) = serve(&dir);
    let settings: Vec<(String, String)> = block_on(async {
        let mut conn = sqlx::PgConnection::connect_with(&embedded(&dir))
            .await
            .unwrap();
        sqlx::query_as(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    });
    assert_eq!(
        settings,
        [
            ("fsync".to_string(), "on".to_string()),
            ("full_page_writes".to_string(), "on".to_string()),
            ("synchronous_commit".to_string(), "on".to_string())
        ]
    );
    let cookie = sign_in(&address, EMAIL, PASSWORD);
    let company = company(&address, &cookie);

    let writers = Writers::start(4, &address, &cookie, &company);
    writers.wait_for(60);
    let pid = postmaster(&dir).unwrap();
    kill9(pid);
    kill9(server.id() as i32);
    server.wait().unwrap();
    let answers = writers.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }

    // The next start recovers the cluster from its log.
    let (server, address) = serve(&dir);
    assert_eq!(http_get(&address, "/readyz").0, 200);
    let acknowledged = acknowledged(&answers);
    let stored = stored_units(&embedded(&dir));
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(acknowledged.len() >= 60);
    // And it goes on: the admin signs in again and writes.
    let cookie = sign_in(&address, EMAIL, PASSWORD);
    let (status, response) = http_post_as(
        &address,
        "/org/units",
        &cookie,
        &[
            ("name", "After the crash"),
            ("kind", "team"),
            ("parent_id", &company),
        ],
    );
    assert_eq!(status, 303, "{response}");
    eprintln!(
        "killed mid-write: {} writes acknowledged, all stored; {} unanswered",
        acknowledged.len(),
        answers.iter().filter(|a| a.status != 303).count()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
