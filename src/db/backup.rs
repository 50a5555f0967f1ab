//! `yardstick backup FILE` and `yardstick restore FILE`: `pg_dump` and `pg_restore` against
//! the configured or embedded database. The client tools must be as new as the server
//! (an older `pg_dump` refuses a newer server); when none on this machine is, the error
//! says which package to install. Connection details go to the tools through libpq's
//! environment variables, so no password appears on a command line.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, anyhow, bail};
use sqlx::postgres::PgConnectOptions;
use tokio::process::Command;

/// Where the tools connect: libpq environment variables, and the database's name.
#[derive(Debug, Clone)]
pub struct Target {
    env: Vec<(&'static str, String)>,
    database: String,
}

impl Target {
    /// From connection options without a password (the embedded cluster's socket).
    pub fn from_options(options: &PgConnectOptions) -> Target {
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => options.get_host().to_string(),
        };
        let database = options.get_database().unwrap_or("postgres").to_string();
        Target {
            env: vec![
                ("PGHOST", host),
                ("PGPORT", options.get_port().to_string()),
                ("PGUSER", options.get_username().to_string()),
                ("PGDATABASE", database.clone()),
            ],
            database,
        }
    }

    /// From a `postgres://user:password@host:port/database?sslmode=…&host=…` URL.
    pub fn from_url(url: &str) -> anyhow::Result<Target> {
        let parsed = url::Url::parse(url).context("DATABASE_URL is not a URL")?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            bail!("DATABASE_URL must start with postgres://");
        }
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let mut env = Vec::new();
        if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
            env.push(("PGHOST", decode(host)));
        }
        if let Some(port) = parsed.port() {
            env.push(("PGPORT", port.to_string()));
        }
        if !parsed.username().is_empty() {
            env.push(("PGUSER", decode(parsed.username())));
        }
        if let Some(password) = parsed.password() {
            env.push(("PGPASSWORD", decode(password)));
        }
        let mut database = decode(parsed.path().trim_start_matches('/'));
        for (name, value) in parsed.query_pairs() {
            let var = match name.as_ref() {
                "host" => "PGHOST",
                "port" => "PGPORT",
                "user" => "PGUSER",
                "password" => "PGPASSWORD",
                "sslmode" => "PGSSLMODE",
                "sslrootcert" => "PGSSLROOTCERT",
                "application_name" => "PGAPPNAME",
                "dbname" => {
                    database = value.into_owned();
                    continue;
                }
                _ => continue,
            };
            env.retain(|(v, _)| *v != var);
            env.push((var, value.into_owned()));
        }
        if database.is_empty() {
            bail!("DATABASE_URL names no database");
        }
        env.push(("PGDATABASE", database.clone()));
        Ok(Target { env, database })
    }

    fn command(&self, tool: &Path) -> Command {
        let mut command = Command::new(tool);
        // Only what we set: a PGPASSWORD or PGHOST of the caller's shell must not leak in.
        for var in [
            "PGHOST",
            "PGPORT",
            "PGUSER",
            "PGPASSWORD",
            "PGDATABASE",
            "PGSSLMODE",
            "PGSERVICE",
        ] {
            command.env_remove(var);
        }
        command.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        command.stdin(Stdio::null()).kill_on_drop(true);
        command
    }
}

/// The major version of the server the pool is connected to.
pub async fn server_major(db: &sqlx::PgPool) -> anyhow::Result<u32> {
    let number: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(db)
        .await?;
    Ok(number as u32 / 10_000)
}

/// The major version a tool reports (`pg_dump (PostgreSQL) 15.8 (Debian 15.8-1)` → 15).
async fn tool_major(tool: &Path) -> Option<u32> {
    let output = Command::new(tool).arg("--version").output().await.ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split(')').nth(1)?.split_whitespace().next()?;
    version.split('.').next()?.parse().ok()
}

/// Directories that may hold the client tools: `YARDSTICK_PG_BIN` alone when set;
/// otherwise PATH, then /usr/lib/postgresql/*/bin, newest first.
fn candidate_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("YARDSTICK_PG_BIN") {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let installed = super::embedded::installed_bin_dirs();
    dirs.extend(installed.into_iter().rev().map(|(_, dir)| dir));
    dirs
}

/// A `name` (pg_dump, pg_restore) as new as the server, or an error saying what was
/// found and what to install.
pub async fn client_tool(name: &str, server: u32) -> anyhow::Result<(PathBuf, u32)> {
    let mut found = Vec::new();
    for dir in candidate_dirs() {
        let tool = dir.join(name);
        if !tool.is_file() {
            continue;
        }
        match tool_major(&tool).await {
            Some(major) if major >= server => return Ok((tool, major)),
            Some(major) => found.push(format!("{} is version {major}", tool.display())),
            None => found.push(format!("{} did not say its version", tool.display())),
        }
    }
    let seen = if found.is_empty() {
        "none was found".to_string()
    } else {
        found.join("; ")
    };
    Err(anyhow!(
        "{name} for PostgreSQL {server} or newer is needed to match the server ({seen}). \
         Install it, for example: apt-get install -y postgresql-client-{server} \
         (or point YARDSTICK_PG_BIN at the directory holding it)"
    ))
}

/// What a backup or restore did.
#[derive(Debug)]
pub struct Done {
    pub tool: PathBuf,
    pub tool_major: u32,
    pub server_major: u32,
    pub bytes: u64,
}

/// Runs the tool, turning a failure into its own words.
async fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// `pg_dump` of the whole database to `file`, in the custom format (compressed; restored
/// with `restore`).
pub async fn backup(db: &sqlx::PgPool, target: &Target, file: &Path) -> anyhow::Result<Done> {
    let server_major = server_major(db).await?;
    let (tool, tool_major) = client_tool("pg_dump", server_major).await?;
    let mut command = target.command(&tool);
    command
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(file);
    run(command, "pg_dump").await?;
    let bytes = std::fs::metadata(file)?.len();
    Ok(Done {
        tool,
        tool_major,
        server_major,
        bytes,
    })
}

/// `pg_restore` of `file` into the database, replacing what it holds, in one transaction:
/// either everything is restored or nothing changes.
pub async fn restore(db: &sqlx::PgPool, target: &Target, file: &Path) -> anyhow::Result<Done> {
    let bytes = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let server_major = server_major(db).await?;
    let (tool, tool_major) = client_tool("pg_restore", server_major).await?;
    let mut command = target.command(&tool);
    command
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
        ])
        .arg(&target.database)
        .arg(file);
    run(command, "pg_restore").await?;
    // Servers running on may keep dashboards' figures read before (src/dashboard/cache.rs):
    // a mark for everything moves every dashboard's version on at the next refresh. They
    // may keep filters' choices too (src/org/choices.rs): the restored version moves past
    // any this database or another counted before (a count, not milliseconds since 1970).
    sqlx::query(
        "DO $$ BEGIN
             IF to_regclass('dashboard_versions') IS NOT NULL THEN
                 INSERT INTO dashboard_marks (everything) VALUES (true);
             END IF;
             IF to_regclass('choices_version') IS NOT NULL THEN
                 UPDATE choices_version
                    SET version = greatest(version + 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
             END IF;
         END $$",
    )
    .execute(db)
    .await?;
    Ok(Done {
        tool,
        tool_major,
        server_major,
        bytes,
    })
}
