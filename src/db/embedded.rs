//! A private PostgreSQL cluster under the data directory, run from the machine's own
//! PostgreSQL server binaries.
//!
//! The cluster listens on no TCP port: only on a Unix socket in a 0700 directory, so trust
//! authentication is safe (only the socket's owner can connect). Every `yardstick` command on
//! one data directory shares the cluster:
//!
//! * `cluster.lock` (exclusive) serialises "is it running? start it" and "stop it".
//! * `users.lock` is held shared by every process using the cluster. The last one out, which
//!   can turn its shared lock into an exclusive one, stops the cluster (fast shutdown).
//!
//! So a CLI command that started the cluster stops it when done, unless a server still uses
//! it, and a cluster orphaned by a crashed process is adopted by the next command.
//!
//! All functions here block: call them from `spawn_blocking` or before the runtime is busy.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User, chown};
use sqlx::postgres::PgConnectOptions;

/// The port only names the socket file (`.s.PGSQL.5432`); nothing listens on TCP.
const PORT: u16 = 5432;
/// The cluster's superuser role, made by initdb.
pub const SUPERUSER: &str = "yardstick";

/// Why the embedded cluster could not be used; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres) were not found on PATH or in \
         /usr/lib/postgresql/*/bin. Either install them (Debian/Ubuntu: `apt-get install -y \
         postgresql`), or set DATABASE_URL to use an existing PostgreSQL 15+ server."
    )]
    BinariesNotFound,
    #[error(
        "running as root, but there is no `postgres` user to run the embedded PostgreSQL \
         cluster as (PostgreSQL refuses to run as root). Install Debian's `postgresql` \
         package (it creates that user), run as an ordinary user, or set DATABASE_URL."
    )]
    NoPostgresUser,
    #[error(
        "the `postgres` user cannot reach {0} (a parent directory is not searchable by \
         others). Choose a data directory it can reach with YARDSTICK_DATA_DIR (for example \
         under /var/lib or /tmp), or set DATABASE_URL."
    )]
    Unreachable(PathBuf),
    #[error("{what} failed: {detail}")]
    Failed { what: String, detail: String },
    #[error("{0}")]
    Io(String),
}

fn io(context: &str, path: &Path, err: std::io::Error) -> ClusterError {
    ClusterError::Io(format!("{context} {}: {err}", path.display()))
}

/// How to run the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Where the cluster (`postgres/`), its socket (`run/`), log and lock files live.
    pub data_dir: PathBuf,
    /// Tests only: no fsync, and the cluster dies with the thread that started it, so an
    /// interrupted test run leaves no process behind. Never for real data.
    pub ephemeral: bool,
}

/// A running cluster this process is using. Dropping it releases it (and stops the cluster
/// if this was the last user); prefer [`Cluster::release`] to see errors.
#[derive(Debug)]
pub struct Cluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    child: Option<Child>,
    users_lock: Option<Flock<File>>,
}

struct Paths {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
}

impl Paths {
    fn new(data_dir: &Path) -> Self {
        Paths {
            pgdata: data_dir.join("postgres"),
            socket_dir: data_dir.join("run"),
            log: data_dir.join("postgres.log"),
        }
    }
}

/// The user PostgreSQL runs as: ourselves, or `postgres` when we are root.
#[derive(Clone, Copy)]
struct RunAs(Option<(Uid, Gid)>);

impl RunAs {
    fn detect() -> Result<Self, ClusterError> {
        if !Uid::effective().is_root() {
            return Ok(RunAs(None));
        }
        let user = User::from_name("postgres")
            .ok()
            .flatten()
            .ok_or(ClusterError::NoPostgresUser)?;
        Ok(RunAs(Some((user.uid, user.gid))))
    }

    fn own(&self, path: &Path) -> Result<(), ClusterError> {
        if let Some((uid, gid)) = self.0 {
            chown(path, Some(uid), Some(gid)).map_err(|e| io("cannot chown", path, e.into()))?;
        }
        Ok(())
    }

    fn apply(&self, command: &mut Command) {
        if let Some((uid, gid)) = self.0 {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
    }

    /// Root's `postgres` user must be able to walk down to the data directory.
    fn check_reachable(&self, data_dir: &Path) -> Result<(), ClusterError> {
        let Some((uid, _)) = self.0 else {
            return Ok(());
        };
        for dir in data_dir.ancestors().skip(1) {
            let Ok(meta) = fs::metadata(dir) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            if meta.uid() != uid.as_raw() && meta.mode() & 0o001 == 0 {
                return Err(ClusterError::Unreachable(data_dir.to_path_buf()));
            }
        }
        Ok(())
    }
}

/// The directory holding `initdb` and `postgres`, newest major version first.
fn find_binaries() -> Result<PathBuf, ClusterError> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("YARDSTICK_PG_BIN").map(PathBuf::from) {
        return if has_both(&dir) {
            Ok(dir)
        } else {
            Err(ClusterError::BinariesNotFound)
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // Resolve symlinks such as /usr/local/bin/postgres -> /usr/lib/postgresql/15/bin.
                let real = fs::canonicalize(dir.join("postgres")).unwrap_or(dir.join("postgres"));
                return Ok(real.parent().map(Path::to_path_buf).unwrap_or(dir));
            }
        }
    }
    installed_bin_dirs()
        .into_iter()
        .rev()
        .map(|(_, bin)| bin)
        .find(|bin| has_both(bin))
        .ok_or(ClusterError::BinariesNotFound)
}

/// Debian's and Ubuntu's PostgreSQL installations, `/usr/lib/postgresql/<major>/bin`, by
/// major version, oldest first.
pub fn installed_bin_dirs() -> Vec<(u32, PathBuf)> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions
}

fn lock_file(path: &Path, arg: FlockArg) -> Result<Flock<File>, ClusterError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io("cannot open lock file", path, e))?;
    Flock::lock(file, arg).map_err(|(_, errno)| io("cannot lock", path, errno.into()))
}

/// Holds the lock that proves a `serve` runs on this data directory.
#[derive(Debug)]
pub struct ServeLock(#[allow(dead_code)] Flock<File>);

/// Refuses a second `serve` on one data directory: two servers would share one cluster and
/// each believe it owns it.
pub fn lock_for_serving(data_dir: &Path) -> Result<ServeLock, ClusterError> {
    create_private_dir(data_dir)?;
    let path = data_dir.join("serve.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io("cannot open lock file", &path, e))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(ServeLock(lock)),
        Err((_, Errno::EWOULDBLOCK)) => Err(ClusterError::Failed {
            what: "starting the server".into(),
            detail: format!(
                "another `yardstick serve` is already serving the data directory {}. Stop it, \
                 choose another directory with YARDSTICK_DATA_DIR, or point both servers at \
                 one PostgreSQL server with DATABASE_URL.",
                data_dir.display()
            ),
        }),
        Err((_, errno)) => Err(io("cannot lock", &path, errno.into())),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), ClusterError> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io("cannot create", dir, e))?;
    }
    Ok(())
}

/// The pid in `postmaster.pid`, if that process is a live PostgreSQL server.
fn running_postmaster(pgdata: &Path) -> Option<Pid> {
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let pid = Pid::from_raw(text.lines().next()?.trim().parse().ok()?);
    let alive = matches!(kill(pid, None), Ok(()) | Err(Errno::EPERM));
    // A pid reused by another program after a crash is not our server.
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    (alive && comm.trim() == "postgres").then_some(pid)
}

fn postmaster_ready(pgdata: &Path) -> bool {
    fs::read_to_string(pgdata.join("postmaster.pid"))
        .map(|text| text.lines().nth(7).map(str::trim) == Some("ready"))
        .unwrap_or(false)
}

fn socket_answers(socket_dir: &Path) -> bool {
    UnixStream::connect(socket_dir.join(format!(".s.PGSQL.{PORT}"))).is_ok()
}

fn tail_of(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(log) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Cluster {
    /// Starts the cluster, or joins it when another command already runs it.
    pub fn start(options: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let data_dir = std::path::absolute(&options.data_dir)
            .map_err(|e| io("cannot resolve", &options.data_dir, e))?;
        let paths = Paths::new(&data_dir);
        let run_as = RunAs::detect()?;
        create_private_dir(&data_dir)?;
        run_as.check_reachable(&data_dir)?;
        run_as.own(&data_dir)?;

        let start_lock = lock_file(&data_dir.join("cluster.lock"), FlockArg::LockExclusive)?;
        let users_lock = lock_file(&data_dir.join("users.lock"), FlockArg::LockShared)?;

        let already_running = running_postmaster(&paths.pgdata).is_some()
            && postmaster_ready(&paths.pgdata)
            && socket_answers(&paths.socket_dir);
        let child = if already_running {
            tracing::info!(data_dir = %data_dir.display(), "joined the running embedded PostgreSQL");
            None
        } else {
            // On failure both locks are simply dropped: there is nothing to stop.
            Some(boot(&paths, run_as, options.ephemeral)?)
        };
        drop(start_lock);
        Ok(Cluster {
            socket_dir: paths.socket_dir,
            data_dir,
            child,
            users_lock: Some(users_lock),
        })
    }

    /// Options to connect to `database` through the private socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// The directory the cluster lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops using the cluster; stops the cluster (fast shutdown) when no other process
    /// uses it.
    pub fn release(mut self) -> Result<(), ClusterError> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<(), ClusterError> {
        let Some(users_lock) = self.users_lock.take() else {
            return Ok(());
        };
        let _start_lock = lock_file(&self.data_dir.join("cluster.lock"), FlockArg::LockExclusive)?;
        // Turning our shared lock into an exclusive one succeeds only when nobody else
        // holds it. (flock may drop the shared lock before failing: we are leaving anyway.)
        if users_lock.relock(FlockArg::LockExclusiveNonblock).is_err() {
            tracing::info!("embedded PostgreSQL left running for its other users");
            return Ok(());
        }
        let pgdata = Paths::new(&self.data_dir).pgdata;
        match self.child.take() {
            Some(mut child) => {
                let pid = Pid::from_raw(child.id() as i32);
                let _ = kill(pid, Signal::SIGINT);
                child
                    .wait()
                    .map_err(|e| io("cannot wait for", &pgdata, e))?;
            }
            None => {
                if let Some(pid) = running_postmaster(&pgdata) {
                    let _ = kill(pid, Signal::SIGINT);
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while running_postmaster(&pgdata) == Some(pid) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(err) = self.release_inner() {
            tracing::error!(%err, "could not stop the embedded PostgreSQL");
        }
    }
}

/// initdb when needed, then start `postgres` and wait until it accepts connections.
fn boot(paths: &Paths, run_as: RunAs, ephemeral: bool) -> Result<Child, ClusterError> {
    let bin = find_binaries()?;
    if !paths.pgdata.join("PG_VERSION").exists() {
        initdb(&bin, paths, run_as, ephemeral)?;
    }
    // A crash can leave postmaster.pid behind; PostgreSQL copes unless the pid was reused,
    // so remove it ourselves once we know no server of ours owns it.
    if running_postmaster(&paths.pgdata).is_none() {
        let _ = fs::remove_file(paths.pgdata.join("postmaster.pid"));
        let _ = fs::remove_file(paths.socket_dir.join(format!(".s.PGSQL.{PORT}.lock")));
    }
    create_private_dir(&paths.socket_dir)?;
    fs::set_permissions(&paths.socket_dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| io("cannot protect", &paths.socket_dir, e))?;
    run_as.own(&paths.socket_dir)?;

    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .map_err(|e| io("cannot open", &paths.log, e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| io("cannot open", &paths.log, e))?;
    let mut command = Command::new(bin.join("postgres"));
    command
        .arg("-D")
        .arg(&paths.pgdata)
        .arg("-k")
        .arg(&paths.socket_dir)
        .args(["-p", &PORT.to_string()])
        .args(["-c", "listen_addresses="])
        .args(["-c", "unix_socket_permissions=0700"])
        .args(["-c", "max_connections=200"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: a terminal's Ctrl-C reaches us, and we stop the cluster
        // after draining requests, not before.
        .process_group(0);
    if ephemeral {
        command.args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]);
        // SAFETY: prctl is async-signal-safe; it runs in the child after the uid change,
        // so the setting survives (credential changes clear it).
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(std::io::Error::from)
            });
        }
    } else {
        command.args(["-c", "fsync=on", "-c", "synchronous_commit=on"]);
    }
    run_as.apply(&mut command);
    let spawn = |command: &mut Command| {
        command.spawn().map_err(|e| ClusterError::Failed {
            what: format!("starting {}", bin.join("postgres").display()),
            detail: e.to_string(),
        })
    };
    let mut child = spawn(&mut command)?;

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // After a crash the old server's children may hold its shared memory for a
            // moment; they leave as soon as they notice. Try again until they have.
            let log = tail_of(&paths.log);
            if log.contains("pre-existing shared memory block") && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
                child = spawn(&mut command)?;
                continue;
            }
            return Err(ClusterError::Failed {
                what: "starting the embedded PostgreSQL".into(),
                detail: format!("postgres exited ({status}); its log says:\n{log}"),
            });
        }
        if postmaster_ready(&paths.pgdata) && socket_answers(&paths.socket_dir) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT);
            let _ = child.wait();
            return Err(ClusterError::Failed {
                what: "starting the embedded PostgreSQL".into(),
                detail: format!(
                    "not ready after 60 s; its log says:\n{}",
                    tail_of(&paths.log)
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn initdb(bin: &Path, paths: &Paths, run_as: RunAs, ephemeral: bool) -> Result<(), ClusterError> {
    // initdb wants an empty or missing directory it may write.
    if paths.pgdata.exists() {
        fs::remove_dir_all(&paths.pgdata).map_err(|e| io("cannot clear", &paths.pgdata, e))?;
    }
    create_private_dir(&paths.pgdata)?;
    run_as.own(&paths.pgdata)?;
    let mut command = Command::new(bin.join("initdb"));
    command
        .arg("-D")
        .arg(&paths.pgdata)
        .args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .arg("--no-instructions")
        .stdin(Stdio::null())
        // initdb changes into the data directory's parent chain; give it a neutral cwd.
        .current_dir("/");
    if ephemeral {
        command.arg("--no-sync");
    }
    run_as.apply(&mut command);
    let output = command.output().map_err(|e| ClusterError::Failed {
        what: format!("running {}", bin.join("initdb").display()),
        detail: e.to_string(),
    })?;
    if !output.status.success() {
        let _ = fs::remove_dir_all(&paths.pgdata);
        return Err(ClusterError::Failed {
            what: "initdb".into(),
            detail: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    tracing::info!(pgdata = %paths.pgdata.display(), "created the embedded PostgreSQL cluster");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_directory_is_reported_with_both_ways_out() {
        let message = ClusterError::BinariesNotFound.to_string();
        assert!(message.contains("apt-get install -y postgresql"));
        assert!(message.contains("DATABASE_URL"));
    }
}
