//! The `yardstick` binary: configuration, logging, the database, then the chosen command.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use yardstick::clock::Clock;
use yardstick::config::{AdminCommand, Command, Config};
use yardstick::db::{self, Database};
use yardstick::http::{self, AppState};

fn main() -> ExitCode {
    let config = Config::parse();
    yardstick::telemetry::init(&config.log, true);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Shown to the operator; DATABASE_URL never appears in these messages.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    match config.command.clone().unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let database = Database::open(&config).await?;
            let result = db::migrate(&database.pool).await;
            database.close().await?;
            result?;
            println!("Database migrated.");
            Ok(())
        }
        Command::Admin(AdminCommand::Create { email, name }) => {
            let password = match std::env::var("YARDSTICK_ADMIN_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    eprint!("Password for {email} (at least 12 characters): ");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let database = Database::open(&config).await?;
            let result = async {
                db::migrate(&database.pool).await?;
                yardstick::auth::admin::create_admin(
                    &db::Db::new(database.pool.clone()),
                    &Clock::system(),
                    &name,
                    &email,
                    &password,
                )
                .await
            }
            .await;
            database.close().await?;
            result?;
            println!("{email} is an administrator and can sign in.");
            Ok(())
        }
        Command::Export { file } => {
            let database = Database::open(&config).await?;
            let result = async {
                db::migrate(&database.pool).await?;
                yardstick::export::to_file(&db::Db::new(database.pool.clone()), &file).await
            }
            .await;
            database.close().await?;
            let summary = result?;
            let rows: u64 = summary.iter().map(|(_, n)| n).sum();
            println!(
                "Exported {rows} rows of {} tables to {}.",
                summary.len(),
                file.display()
            );
            Ok(())
        }
        Command::Backup { file } => {
            let database = Database::open(&config).await?;
            let result = async {
                let target = database.backup_target(config.database_url.as_deref())?;
                db::backup::backup(&database.pool, &target, &file).await
            }
            .await;
            database.close().await?;
            let done = result?;
            println!(
                "Backed up the database (PostgreSQL {}) to {} ({} bytes) with {} (version {}).",
                done.server_major,
                file.display(),
                done.bytes,
                done.tool.display(),
                done.tool_major
            );
            Ok(())
        }
        Command::Restore { file, yes } => {
            let database = Database::open(&config).await?;
            let result = async {
                let has_people: bool =
                    sqlx::query_scalar("SELECT to_regclass('people') IS NOT NULL")
                        .fetch_one(&database.pool)
                        .await?;
                let held: i64 = if has_people {
                    sqlx::query_scalar("SELECT count(*) FROM people")
                        .fetch_one(&database.pool)
                        .await?
                } else {
                    0
                };
                if held > 0 && !yes {
                    anyhow::bail!(
                        "the database holds {held} people and their records: restoring replaces everything. \
                         Run again with --yes to go ahead"
                    );
                }
                let target = database.backup_target(config.database_url.as_deref())?;
                let done = db::backup::restore(&database.pool, &target, &file).await?;
                // A backup from an older version is brought up to this one.
                database.pool.close().await;
                anyhow::Ok(done)
            }
            .await;
            database.close().await?;
            let done = result?;
            let database = Database::open(&config).await?;
            let migrated = db::migrate(&database.pool).await;
            database.close().await?;
            migrated?;
            println!(
                "Restored the database (PostgreSQL {}) from {} with {} (version {}).",
                done.server_major,
                file.display(),
                done.tool.display(),
                done.tool_major
            );
            Ok(())
        }
        Command::Demo { scale: Some(scale) } => {
            let database = Database::open(&config).await?;
            let result = async {
                db::migrate(&database.pool).await?;
                let today = Clock::system().today(chrono_tz::UTC);
                println!("Generating the {scale:?} organisation (today is {today}):");
                yardstick::demo::scale::generate(&database.pool, scale, today).await
            }
            .await;
            database.close().await?;
            result
        }
        Command::Demo { scale: None } => {
            let database = Database::open(&config).await?;
            let result = async {
                db::migrate(&database.pool).await?;
                yardstick::demo::load(&database.pool, &Clock::system()).await
            }
            .await;
            database.close().await?;
            let loaded = result?;
            println!(
                "Demo organisation loaded: {} units, {} people, {} accounts, {} periods, {} initiatives, {} epics, {} iterations, {} objectives, {} closed loops added (existing records kept).\n\
                 Sign in as {} (administrator) or any demo person, with the password {}.",
                loaded.units,
                loaded.people,
                loaded.accounts,
                loaded.periods,
                loaded.initiatives,
                loaded.epics,
                loaded.iterations,
                loaded.objectives,
                loaded.closed_loops,
                yardstick::demo::DEMO_ADMIN,
                yardstick::demo::DEMO_PASSWORD
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Only one server per embedded data directory; with DATABASE_URL, as many as you like.
    let _serve_lock = match config.database_url {
        None => Some(db::embedded::lock_for_serving(&config.data_dir)?),
        Some(_) => None,
    };
    let database = Database::open(&config).await?;
    let result = async {
        db::migrate(&database.pool).await?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        let address = listener.local_addr()?;
        match &database.cluster {
            Some(cluster) => tracing::info!(data_dir = %cluster.data_dir().display(), "using the embedded PostgreSQL"),
            None => tracing::info!("using the PostgreSQL server at DATABASE_URL"),
        }
        let mailer = match &config.smtp_url {
            Some(url) => Some(yardstick::mail::Mailer::from_url(url, &config.mail_from)?),
            None => None,
        };
        if config.reminders_every > 0 {
            tokio::spawn(remind_every(
                db::Db::new(database.pool.clone()),
                Duration::from_secs(config.reminders_every),
                mailer.clone(),
                config.public_url(),
            ));
        }
        if config.webhooks_every > 0 {
            tokio::spawn(deliver_every(
                db::Db::new(database.pool.clone()),
                Duration::from_secs(config.webhooks_every),
            ));
        }
        if config.imports_every > 0 {
            tokio::spawn(import_every(
                db::Db::new(database.pool.clone()),
                Duration::from_secs(config.imports_every),
            ));
        }
        let shutdown = http::shutdown_signal();
        println!("Yardstick is serving at http://{address}");
        let mut state = AppState::new(database.pool.clone(), Clock::system())
            .with_public_url(&config.public_url())
            .with_max_in_flight(config.max_in_flight);
        if let Some(mailer) = mailer {
            state = state.with_mailer(mailer);
        }
        http::serve(listener, state, shutdown, Duration::from_secs(20)).await?;
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    tracing::info!("stopped");
    result
}

/// The webhook queue's timer: every `every`, send what is due (a batch at a time, until
/// none is left). Every server runs it; the queue's leases keep them from sending the same
/// delivery twice.
async fn deliver_every(db: db::Db, every: Duration) {
    const BATCH: i64 = 20;
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        loop {
            match yardstick::webhooks::delivery::deliver_due(&db, chrono::Utc::now(), BATCH).await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "webhook delivery failed; trying again later");
                    break;
                }
            }
        }
    }
}

/// The import jobs' timer: every `every`, run the queued jobs one after another. Every
/// server runs it; a job's lease keeps two servers from running the same one.
async fn import_every(db: db::Db, every: Duration) {
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        loop {
            match yardstick::imports::job::run_due(&db, chrono::Utc::now()).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "an import job stopped; its lease lets it resume later");
                    break;
                }
            }
        }
    }
}

/// The reminders' timer: every `every`, the day's reminders in the organisation's time zone,
/// then (with SMTP) the digests due. A failed round is logged and the next one tries again.
async fn remind_every(
    db: db::Db,
    every: Duration,
    mailer: Option<yardstick::mail::Mailer>,
    public_url: String,
) {
    let public_url = public_url.trim_end_matches('/').to_string();
    // The first round comes one interval after start-up, not during it.
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        let round = async {
            let org = yardstick::org::Organisation::load(&db).await?;
            let today = Clock::system().today(org.zone());
            let added = yardstick::loops::reminders::remind(&db, today).await?;
            let mailed = match &mailer {
                Some(mailer) => {
                    yardstick::loops::digest::send_digests(&db, mailer, &public_url, today).await?
                }
                None => 0,
            };
            anyhow::Ok((added, mailed))
        };
        match round.await {
            Ok((0, 0)) => {}
            Ok((added, mailed)) => tracing::info!(added, mailed, "reminders"),
            Err(err) => tracing::warn!(error = %err, "reminders failed; trying again later"),
        }
    }
}
