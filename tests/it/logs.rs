//! The server's log, as an operator collects it: what a person typed or was given to keep
//! secret (passwords, session ids, API tokens, invitation links) never reaches it, even at
//! the most detailed level.

use crate::common::process::{
    create_admin, http_get_as, http_post_as, location, serve_with, sign_in, temp_dir, terminate,
    try_http, try_http_with, yardstick,
};

/// The text after `marker` in `page`, up to the next quote or `<`.
fn after<'a>(page: &'a str, marker: &str) -> &'a str {
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {page}"))
        + marker.len();
    let rest = &page[start..];
    &rest[..rest.find(['"', '<', '\r', '\n']).unwrap_or(rest.len())]
}

#[test]
fn passwords_session_ids_tokens_and_invitation_links_never_reach_the_log() {
    let dir = temp_dir("logs");
    let password = "correct horse battery staple";
    create_admin(
        &mut yardstick(&dir, &[]),
        "boss@northwind.example",
        password,
    );
    let mut command = yardstick(&dir, &["serve"]);
    command.env(
        "RUST_LOG",
        "trace,hyper=info,h2=info,tokio=info,runtime=info",
    );
    let (mut server, address) = serve_with(command);
    let log = server.log();

    let wrong = "not my password at all";
    let (refused, _) = http_post_as(
        &address,
        "/login",
        "",
        &[("email", "boss@northwind.example"), ("password", wrong)],
    );
    assert_eq!(refused, 401);
    let cookie = sign_in(&address, "boss@northwind.example", password);
    let session = cookie.split_once('=').unwrap().1.to_string();

    // An API token, used in its header and (wrongly) in a query string.
    let (status, page) = http_post_as(
        &address,
        "/account/tokens",
        &cookie,
        &[("name", "Analytics"), ("access", "read")],
    );
    assert_eq!(status, 200, "{page}");
    let token = after(&page, "value=\"").to_string();
    assert!(token.starts_with("ys_"), "{token}");
    let bearer = format!("Bearer {token}");
    let (status, answer) = try_http_with(
        &address,
        "GET",
        "/api/v1/epics",
        &[("Authorization", &bearer)],
        &[],
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    try_http(
        &address,
        "GET",
        &format!("/api/v1/epics?token={token}"),
        "",
        &[],
    )
    .unwrap();

    // A person invited with a link, who sets their password through it.
    let (status, page) = http_post_as(
        &address,
        "/people",
        &cookie,
        &[("name", "Ian Insider"), ("email", "ian@northwind.example")],
    );
    assert_eq!(status, 303, "{page}");
    let person = location(&page).to_string();
    let (status, page) = http_post_as(
        &address,
        &format!("{person}/account"),
        &cookie,
        &[("role", "member")],
    );
    assert_eq!(status, 200, "{page}");
    let link = after(&page, "/invitations/").to_string();
    assert!(link.len() > 30, "{link}");
    let chosen = "a brand new long password";
    assert_eq!(
        http_get_as(&address, &format!("/invitations/{link}"), "").0,
        200
    );
    let (status, page) = http_post_as(
        &address,
        &format!("/invitations/{link}"),
        "",
        &[("password", chosen), ("confirmation", chosen)],
    );
    assert_eq!(status, 303, "{page}");

    terminate(server);
    let log = log.join().unwrap();
    // The log is there, detailed: every request by its route, and the SQL run.
    assert!(log.contains(r#"route="/invitations/{token}""#), "{log}");
    assert!(log.contains(r#"route="/api/v1/epics""#), "{log}");
    assert!(log.to_lowercase().contains("select"), "no statement logged");
    for (what, secret) in [
        ("the password", password),
        ("a wrong password", wrong),
        ("the chosen password", chosen),
        ("the session id", session.as_str()),
        ("the API token", token.as_str()),
        ("the invitation link", link.as_str()),
    ] {
        let line = log.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "{what} is in the log: {line:?}");
    }
    eprintln!(
        "{} lines of log at trace level, no secret in them",
        log.lines().count()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
