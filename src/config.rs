//! All configuration in one place: command-line flags, each with an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Yardstick: outcome-driven epic and OKR tracking.
#[derive(Debug, Clone, Parser)]
#[command(name = "yardstick", version, about)]
pub struct Config {
    /// PostgreSQL to use (any 15+ server). When unset, Yardstick runs a private cluster of
    /// its own under the data directory. Never logged: it may hold a password.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where the embedded PostgreSQL cluster keeps its files.
    #[arg(
        long,
        env = "YARDSTICK_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Address the web server listens on.
    #[arg(
        long,
        env = "YARDSTICK_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// The address people reach Yardstick at (for links in mail, and secure cookies when
    /// it is https). Defaults to http://<bind>.
    #[arg(long, env = "YARDSTICK_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// How often (seconds) the server looks for reminders to send; 0 turns it off. Several
    /// servers may run it: one at a time works, and nobody is reminded twice.
    #[arg(
        long,
        env = "YARDSTICK_REMINDERS_EVERY",
        default_value_t = 300,
        global = true
    )]
    pub reminders_every: u64,

    /// Seconds between looks at the webhook queue; 0 turns delivery off on this server.
    #[arg(
        long,
        env = "YARDSTICK_WEBHOOKS_EVERY",
        default_value_t = 2,
        global = true
    )]
    pub webhooks_every: u64,

    /// Seconds between looks for import jobs to run; 0 leaves them to other servers.
    #[arg(
        long,
        env = "YARDSTICK_IMPORTS_EVERY",
        default_value_t = 2,
        global = true
    )]
    pub imports_every: u64,

    /// Requests a server serves at once; more are refused at once with 503 and
    /// `Retry-After` instead of waiting in a queue.
    #[arg(
        long,
        env = "YARDSTICK_MAX_IN_FLIGHT",
        default_value_t = crate::http::shed::DEFAULT_MAX_IN_FLIGHT,
        global = true
    )]
    pub max_in_flight: usize,

    /// Connections to PostgreSQL a server keeps at most (default: its cores plus one). Each
    /// request runs on one connection; a request finding them all busy waits for one (up to
    /// three seconds). Few connections keep PostgreSQL's processes from taking the CPU from
    /// each other when it runs on the same machine; on a machine of its own, raise it to
    /// about twice that machine's cores.
    #[arg(long, env = "YARDSTICK_DB_CONNECTIONS", global = true)]
    pub db_connections: Option<u32>,

    /// SMTP server for mail (digests, invitation and reset links), e.g.
    /// `smtp://localhost:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`. Unset: nothing is mailed.
    #[arg(
        long,
        env = "YARDSTICK_SMTP_URL",
        global = true,
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,

    /// The sender of Yardstick's mail.
    #[arg(
        long,
        env = "YARDSTICK_MAIL_FROM",
        default_value = "Yardstick <yardstick@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Log filter, e.g. `info` or `yardstick=debug,tower_http=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info", global = true)]
    pub log: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
    /// Load the demo organisation (safe to run twice), or with --scale generate a large one
    /// into an empty database (benchmarks).
    Demo {
        /// small (2,000 epics), medium (20,000) or enterprise (200,000, 600 teams).
        #[arg(long, value_enum)]
        scale: Option<crate::demo::scale::Scale>,
    },
    /// Write the organisation's data as one JSON document to FILE (secrets left out).
    Export { file: std::path::PathBuf },
    /// Back the database up to FILE with pg_dump (custom format).
    Backup { file: std::path::PathBuf },
    /// Restore the database from a backup FILE with pg_restore, replacing what it holds.
    Restore {
        file: std::path::PathBuf,
        /// Go ahead even though the database holds records (they are replaced).
        #[arg(long)]
        yes: bool,
    },
    /// Manage accounts from the command line.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `yardstick admin …`
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator (or make an existing person one), with the password from
    /// YARDSTICK_ADMIN_PASSWORD or standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

impl Config {
    /// The most connections to PostgreSQL: as configured, or the cores plus one.
    pub fn db_connections(&self) -> u32 {
        self.db_connections.filter(|n| *n > 0).unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            cores as u32 + 1
        })
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_means_serve_on_localhost_port_3000() {
        let config = Config::try_parse_from(["yardstick"]).unwrap();
        assert!(config.command.is_none());
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(config.public_url(), "http://127.0.0.1:3000");
    }

    #[test]
    fn the_public_url_loses_its_trailing_slash() {
        let config = Config::try_parse_from([
            "yardstick",
            "--public-url",
            "https://okr.example.com/",
            "migrate",
        ])
        .unwrap();
        assert_eq!(config.public_url(), "https://okr.example.com");
        assert!(matches!(config.command, Some(Command::Migrate)));
    }
}
