//! The `yardstick` binary as an operator runs it: its own data directory and embedded
//! cluster (or a `DATABASE_URL`), spoken to over plain HTTP/1.1 on a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "yardstick-it-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The postmaster's pid, if one of ours runs on `data_dir`.
pub fn postmaster(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "postgres").then_some(pid)
}

/// One request on a connection of its own: the status (0 when the answer is not HTTP)
/// and the whole answer, headers included. An error when nobody accepts the connection.
pub fn try_http(
    address: &str,
    method: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> std::io::Result<(u16, String)> {
    let cookie = [("Cookie", cookie)];
    let headers: &[(&str, &str)] = if cookie[0].1.is_empty() { &[] } else { &cookie };
    try_http_with(address, method, path, headers, form)
}

/// [`try_http`] with any request headers.
pub fn try_http_with(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> std::io::Result<(u16, String)> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, response))
}

pub fn http_get_as(address: &str, path: &str, cookie: &str) -> (u16, String) {
    try_http(address, "GET", path, cookie, &[]).unwrap()
}

pub fn http_get(address: &str, path: &str) -> (u16, String) {
    http_get_as(address, path, "")
}

/// A form `POST` as the person with `cookie`.
pub fn http_post_as(
    address: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    try_http(address, "POST", path, cookie, form).unwrap()
}

/// The `Location` header of an answer.
pub fn location(response: &str) -> &str {
    response
        .lines()
        .find_map(|line| line.strip_prefix("location: "))
        .unwrap_or("")
        .trim()
}

/// Signs in through `POST /login` and returns the session cookie.
pub fn sign_in(address: &str, email: &str, password: &str) -> String {
    let (status, response) = http_post_as(
        address,
        "/login",
        "",
        &[("email", email), ("password", password), ("next", "/org")],
    );
    assert_eq!(status, 303, "sign-in: {response}");
    assert_eq!(location(&response), "/org", "{response}");
    response
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .and_then(|cookie| cookie.split(';').next())
        .expect("a session cookie")
        .to_string()
}

/// `yardstick args…` on its own embedded cluster in `data_dir`.
pub fn yardstick(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yardstick"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("YARDSTICK_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

/// A running `yardstick serve`. Dropped (say, by a failing assertion) it is stopped with
/// SIGTERM, so it stops its cluster too and a failed test leaves no process behind.
pub struct Server {
    child: Option<Child>,
    log: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    pub fn id(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Everything the server wrote to stdout after its address (its log), once it has
    /// exited. It is read as it comes, so the server never blocks on a full pipe.
    pub fn log(&mut self) -> std::thread::JoinHandle<String> {
        self.log.take().expect("the log, taken once")
    }

    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.take().expect("a running server").wait()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = child.wait();
        }
    }
}

/// Starts `yardstick serve` on its embedded cluster in `data_dir` and waits for the
/// address it prints.
pub fn serve(data_dir: &Path) -> (Server, String) {
    serve_with(yardstick(data_dir, &["serve"]))
}

/// Starts `command` (a `yardstick serve`) on a free port and waits for the address it
/// prints.
pub fn serve_with(mut command: Command) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let child = command
        .env("YARDSTICK_BIND", &address)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Guarded from here on: a failed assertion below still stops it.
    let mut server = Server {
        child: Some(child),
        log: None,
    };
    let stdout = server.child.as_mut().and_then(|c| c.stdout.take()).unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    server.log = Some(std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let mut log = String::new();
        for line in lines.by_ref() {
            if line.starts_with("Yardstick is serving at ") {
                let _ = first_tx.send(line);
                break;
            }
            log.push_str(&line);
            log.push('\n');
        }
        for line in lines {
            log.push_str(&line);
            log.push('\n');
        }
        log
    }));
    let line = first_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the server prints its address");
    assert_eq!(line, format!("Yardstick is serving at http://{address}"));
    (server, address)
}

/// Sends SIGTERM and expects a clean exit.
pub fn terminate(mut server: Server) {
    signal(server.id() as i32, nix::sys::signal::Signal::SIGTERM);
    let status = server.wait().unwrap();
    assert!(
        status.success(),
        "the server exits cleanly on SIGTERM: {status}"
    );
}

pub fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
}

pub fn kill9(pid: i32) {
    signal(pid, nix::sys::signal::Signal::SIGKILL);
}

/// Creates the administrator Ada Boss with the command line, as an operator does; what it
/// printed.
pub fn create_admin(command: &mut Command, email: &str, password: &str) -> String {
    let created = command
        .args(["admin", "create", "--email", email, "--name", "Ada Boss"])
        .env("YARDSTICK_ADMIN_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    String::from_utf8_lossy(&created.stdout).into_owned()
}
