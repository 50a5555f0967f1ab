//! Test harness: a real PostgreSQL (the embedded cluster, started once per test process, or
//! the server at DATABASE_URL), a fresh database per test cloned from a migrated template,
//! and helpers to drive `app(state)` as a browser would.

pub mod browser;
pub mod process;
pub mod smtp;

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tower::ServiceExt;
use uuid::Uuid;
use yardstick::clock::Clock;
use yardstick::db::{self, Cluster, ClusterOptions, quote_ident};
use yardstick::http::AppState;

/// Options to reach the server's maintenance database.
fn server() -> PgConnectOptions {
    static SERVER: OnceLock<Result<PgConnectOptions, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) => url
            .parse::<PgConnectOptions>()
            .map(|o| o.database("postgres"))
            .map_err(|e| e.to_string()),
        Err(_) => start_embedded(),
    });
    match server {
        Ok(options) => options.clone(),
        Err(err) => panic!("no PostgreSQL for the tests: {err}"),
    }
}

/// Starts the embedded cluster on a thread that lives as long as the test process: the
/// cluster is told to stop when that thread ends (at exit, even on a panic or Ctrl-C), so
/// a test run leaves no process behind.
fn start_embedded() -> Result<PgConnectOptions, String> {
    remove_stale_clusters();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("embedded-postgres".into())
        .spawn(move || {
            let data_dir =
                std::env::temp_dir().join(format!("yardstick-test-{}", std::process::id()));
            match Cluster::start(&ClusterOptions {
                data_dir,
                ephemeral: true,
            }) {
                Ok(cluster) => {
                    let _ = sender.send(Ok(cluster.connect_options("postgres")));
                    // Keep the cluster (and this thread) until the process ends.
                    loop {
                        std::thread::park();
                    }
                }
                Err(err) => {
                    let _ = sender.send(Err(err.to_string()));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    receiver.recv().map_err(|e| e.to_string())?
}

/// Clusters of earlier test runs whose process is gone.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("yardstick-test-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The migrated template every test database is cloned from, named after the migrations'
/// checksums so a changed migration makes a new one. Built once, under an advisory lock, so
/// parallel tests (and parallel test runs on one server) agree.
async fn template() -> String {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for migration in db::MIGRATOR.iter() {
                for byte in migration.checksum.iter() {
                    hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
                }
            }
            let name = format!("yardstick_template_{:016x}", hash);
            let mut admin = PgConnection::connect_with(&server())
                .await
                .expect("connect to PostgreSQL");
            sqlx::query("SELECT pg_advisory_lock(7412001)")
                .execute(&mut admin)
                .await
                .unwrap();
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            if !exists {
                let building = format!("{name}_building");
                sqlx::raw_sql(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&building)
                ))
                .execute(&mut admin)
                .await
                .unwrap();
                sqlx::raw_sql(&format!("CREATE DATABASE {}", quote_ident(&building)))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let mut conn = PgConnection::connect_with(&server().database(&building))
                    .await
                    .unwrap();
                db::MIGRATOR
                    .run(&mut conn)
                    .await
                    .expect("migrations apply to an empty database");
                conn.close().await.unwrap();
                sqlx::raw_sql(&format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident(&building),
                    quote_ident(&name)
                ))
                .execute(&mut admin)
                .await
                .unwrap();
            }
            sqlx::query("SELECT pg_advisory_unlock(7412001)")
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
            name
        })
        .await
        .clone()
}

/// A fresh, migrated database of one's own.
pub async fn fresh_database() -> (String, PgPool) {
    let template = template().await;
    let name = format!("yardstick_test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect_with(&server()).await.unwrap();
    sqlx::raw_sql(&format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quote_ident(&name),
        quote_ident(&template)
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    let pool = db::pool_options()
        .max_connections(8)
        .connect_with(db::tuned(server().database(&name)))
        .await
        .unwrap();
    (name, pool)
}

/// A `postgres://` URL for the test database `name`, as an operator would set
/// DATABASE_URL (for the command-line tools).
pub fn database_url(name: &str) -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let mut url = url::Url::parse(&url).expect("DATABASE_URL is a URL");
        url.set_path(name);
        return url.to_string();
    }
    let server = server();
    let socket = server
        .get_socket()
        .map(|s| format!("?host={}", s.display()))
        .unwrap_or_default();
    format!(
        "postgres://{}@{}:{}/{name}{socket}",
        server.get_username(),
        server.get_host(),
        server.get_port()
    )
}

/// Every base table of the schema, with its row count.
pub async fn row_counts(db: &PgPool) -> std::collections::BTreeMap<String, i64> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", quote_ident(&table)))
            .fetch_one(db)
            .await
            .unwrap();
        counts.insert(table, n);
    }
    counts
}

/// Drops a test database (used when the server is shared, and by tests that remove it).
pub async fn drop_database(name: &str) {
    let mut admin = PgConnection::connect_with(&server()).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(name)
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
}

/// 1 June 2026, 10:00 UTC: the default "now" of the tests.
pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap()
}

/// The password of every account the tests make.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// Its Argon2id hash, computed once per run (hashing is deliberately slow).
pub fn test_password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| yardstick::auth::password::hash_blocking(TEST_PASSWORD).expect("a hash"))
}

/// The email of the administrator every TestApp signs in as.
pub const ADMIN_EMAIL: &str = "admin@yardstick.test";

/// The application on a fresh database, with a fixed clock, and an administrator signed in
/// (requests carry their session cookie unless sent `as` someone else).
pub struct TestApp {
    /// The pool, as the application holds it (statements on it outside a request run on a
    /// connection of their own, as a plain pool's do).
    pub db: yardstick::db::Db,
    pub db_name: String,
    pub clock: Clock,
    pub router: Router,
    pub admin: Uuid,
    pub cookie: String,
}

/// Undoes HTML escaping: named entities of the escaper and numeric ones.
pub fn unescape(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") => u32::from_str_radix(&entity[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What came back.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The visible text: tags dropped, entities of the escaping undone, spaces collapsed.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for c in self.body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let text = unescape(&text);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The address of the first link whose text is `text`.
    /// The first link whose address contains `part`.
    pub fn link_to(&self, part: &str) -> Option<String> {
        self.body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(unescape)
            .find(|href| href.contains(part))
    }

    /// The page from the first `marker` on: to find a link in one section.
    pub fn from(&self, marker: &str) -> Page {
        let start = self.body.find(marker).unwrap_or(0);
        Page {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body[start..].to_string(),
        }
    }

    /// The first link reading `text` (tags inside it, such as a visually hidden part, are
    /// read as their text).
    pub fn link(&self, text: &str) -> Option<String> {
        self.body.split("<a ").skip(1).find_map(|tag| {
            let (attributes, rest) = tag.split_once('>')?;
            let inner = rest.split("</a>").next()?;
            let mut plain = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => plain.push(c),
                    _ => {}
                }
            }
            (unescape(&plain).trim() == text).then(|| {
                let href = attributes.split("href=\"").nth(1)?.split('"').next()?;
                Some(unescape(href))
            })?
        })
    }

    /// How many SQL statements the request issued.
    pub fn statements(&self) -> u32 {
        self.headers
            .get(yardstick::http::query_count::HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("the statement count header")
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        yardstick::telemetry::init(
            &std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            std::env::var("RUST_LOG").is_ok(),
        );
        let (db_name, db) = fresh_database().await;
        let clock = Clock::fixed(test_now());
        let mut state = AppState::new(db.clone(), clock.clone());
        state.expose_query_count = true;
        let mut app = TestApp {
            router: yardstick::app(state),
            db: yardstick::db::Db::new(db),
            db_name,
            clock,
            admin: Uuid::nil(),
            cookie: String::new(),
        };
        app.admin = app.account("Test Admin", ADMIN_EMAIL, "admin").await;
        app.cookie = app.session_for(app.admin).await;
        app
    }

    /// The same application, its state changed by `change` (a mailer, say).
    pub fn with_state(mut self, change: impl FnOnce(AppState) -> AppState) -> TestApp {
        let mut state = AppState::new(self.db.pool().clone(), self.clock.clone());
        state.expose_query_count = true;
        self.router = yardstick::app(change(state));
        self
    }

    /// A person with an account of `role` (admin, member, viewer) and the test password.
    pub async fn account(&self, name: &str, email: &str, role: &str) -> Uuid {
        sqlx::query_scalar(
            "INSERT INTO people (id, name, email, account_role, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(Uuid::new_v4())
        .bind(name)
        .bind(email)
        .bind(role)
        .bind(test_password_hash())
        .fetch_one(&self.db)
        .await
        .unwrap()
    }

    /// A signed-in session for `person`: the `Cookie` header to send.
    pub async fn session_for(&self, person: Uuid) -> String {
        let token = yardstick::auth::session::create(
            &self.db,
            person,
            self.clock.now(),
            "test",
            "127.0.0.1",
        )
        .await
        .unwrap();
        format!("{}={token}", yardstick::auth::session::cookie_name(false))
    }

    /// `GET` with the given cookie ("" for nobody signed in).
    pub async fn get_as(&self, cookie: &str, path: &str) -> Page {
        let mut request = Request::get(path).body(Body::empty()).unwrap();
        if !cookie.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        self.send(request).await
    }

    /// Makes each change in SQL, binding `id`, as another server would (never through this
    /// one), and checks the page at `path`, seen as `cookie`, shows its text after it and not
    /// before, reading one statement more than `unchanged` (the statements of a view with
    /// nothing changed): whether anything changed, then the read.
    pub async fn each_change_shows(
        &self,
        cookie: &str,
        path: &str,
        id: Uuid,
        changes: &[(&str, &str)],
        unchanged: u32,
    ) {
        for (sql, shown) in changes {
            let before = self.get_as(cookie, path).await.text();
            assert!(!before.contains(shown), "before {sql}: {before}");
            sqlx::query(sql).bind(id).execute(&self.db).await.unwrap();
            let page = self.get_as(cookie, path).await;
            assert!(page.text().contains(shown), "after {sql}: {}", page.text());
            assert_eq!(page.statements(), unchanged + 1, "after {sql}");
        }
    }

    /// A form `POST` with the given cookie ("" for nobody signed in).
    pub async fn post_as(&self, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        if !cookie.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        self.send(request).await
    }

    /// `PUT path` with an empty JSON object, as the person with `cookie` (none: anonymous).
    pub async fn put_as(&self, cookie: &str, path: &str) -> Page {
        let mut request = Request::put(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        if !cookie.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        self.send(request).await
    }

    /// `DELETE path` as the person with `cookie` (none: anonymous).
    pub async fn delete_as(&self, cookie: &str, path: &str) -> Page {
        let mut request = Request::delete(path).body(Body::empty()).unwrap();
        if !cookie.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        self.send(request).await
    }

    /// Follows a redirect as the administrator's browser would, carrying the flash message
    /// the redirect set, so the next page shows it.
    pub async fn follow(&self, redirect: &Page) -> Page {
        let flash = redirect
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|c| format!("; {c}"))
            .unwrap_or_default();
        let request = Request::get(redirect.location())
            .header(header::COOKIE, format!("{}{flash}", self.cookie))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// Sends `request` with the administrator's session (unless it carries a cookie).
    pub async fn request(&self, mut request: Request<Body>) -> Page {
        if !request.headers().contains_key(header::COOKIE) {
            request
                .headers_mut()
                .insert(header::COOKIE, self.cookie.parse().unwrap());
        }
        self.send(request).await
    }

    /// Sends `request` exactly as given.
    pub async fn send(&self, request: Request<Body>) -> Page {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.request(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// Submits a form as a browser does (urlencoded).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.request(request).await
    }

    /// Serves the app on a free port of 127.0.0.1 until the test ends.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = self.router.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        format!("http://{address}")
    }

    /// Creates a unit through the form and returns its id.
    pub async fn create_unit(&self, name: &str, kind: &str, parent: Option<Uuid>) -> Uuid {
        let parent = parent.map(|p| p.to_string()).unwrap_or_default();
        let page = self
            .post(
                "/org/units",
                &[("name", name), ("kind", kind), ("parent_id", &parent)],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "creating {name}: {}",
            page.text()
        );
        page.location()
            .trim_start_matches("/org/units/")
            .parse()
            .expect("a unit id in the redirect")
    }

    /// Adds a quarter (its name and first and last day) and returns its id.
    pub async fn quarter(&self, name: &str, starts_on: &str, ends_on: &str) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO periods (id, name, cadence, starts_on, ends_on) VALUES ($1, $2, 'quarter', $3::date, $4::date)",
        )
        .bind(id)
        .bind(name)
        .bind(starts_on)
        .bind(ends_on)
        .execute(&self.db)
        .await
        .unwrap();
        id
    }

    /// Creates a person through the form and returns their id.
    pub async fn create_person(&self, name: &str, email: &str) -> Uuid {
        let page = self
            .post(
                "/people",
                &[("name", name), ("email", email), ("title", "")],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "creating {name}: {}",
            page.text()
        );
        page.location()
            .trim_start_matches("/people/")
            .parse()
            .expect("a person id in the redirect")
    }
}

impl Drop for TestApp {
    /// On a shared server, remove the database (the embedded cluster is thrown away whole).
    fn drop(&mut self) {
        if std::env::var("DATABASE_URL").is_err() {
            return;
        }
        let name = self.db_name.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(drop_database(&name));
            }
        })
        .join();
    }
}
