//! What every page shares: the layout's data, the one-shot confirmation message (flash),
//! form errors, and redirects after a change.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::policy::Me;

/// The navigation's sections; the current one is marked for screen readers and by style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Initiatives,
    Epics,
    Okrs,
    Loops,
    Dashboard,
    Learnings,
    Organisation,
    None,
}

/// Navigation entries: label, address, section.
pub const NAV: &[(&str, &str, Section)] = &[
    ("Home", "/", Section::Home),
    ("Initiatives", "/initiatives", Section::Initiatives),
    ("Epics", "/epics", Section::Epics),
    ("OKRs", "/okrs", Section::Okrs),
    ("Loops", "/loops", Section::Loops),
    ("Dashboard", "/dashboard", Section::Dashboard),
    ("Learnings", "/learnings", Section::Learnings),
    ("Organisation", "/org", Section::Organisation),
];

/// The layout's data, held by every page struct as `layout`.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The `<title>`: "what · where".
    pub title: String,
    pub section: Section,
    /// A confirmation of the last change ("Unit saved"), shown once.
    pub flash: Option<String>,
    /// Who is signed in (none on the sign-in pages).
    pub me: Option<Me>,
}

impl Layout {
    /// A page for the signed-in person.
    pub fn new(title: impl Into<String>, section: Section, me: &Me) -> Layout {
        Layout {
            title: title.into(),
            section,
            flash: None,
            me: Some(me.clone()),
        }
    }

    /// A page anyone may see (sign-in, setup, invitations, errors).
    pub fn public(title: impl Into<String>, section: Section) -> Layout {
        Layout {
            title: title.into(),
            section,
            flash: None,
            me: None,
        }
    }

    /// Whether the signed-in person may change the organisation (shows its buttons).
    pub fn may_change_organisation(&self) -> bool {
        self.me.as_ref().is_some_and(Me::may_change_organisation)
    }

    pub fn is_admin(&self) -> bool {
        self.me.as_ref().is_some_and(Me::is_admin)
    }

    /// Adds the confirmation message the previous request left.
    pub fn with_flash(mut self, flash: Flash) -> Layout {
        self.flash = flash.0;
        self
    }

    /// The version part of static file URLs.
    pub fn assets(&self) -> &'static str {
        crate::http::assets::VERSION
    }
}

const FLASH_COOKIE: &str = "flash";

/// The confirmation message left by the previous response, read from a short-lived cookie
/// (the middleware in `http` clears it once a page has shown it).
#[derive(Debug, Clone, Default)]
pub struct Flash(pub Option<String>);

impl Flash {
    fn from_headers(headers: &HeaderMap) -> Flash {
        let message = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == FLASH_COOKIE)
            .map(|(_, value)| {
                form_urlencoded::parse(format!("m={value}").as_bytes())
                    .map(|(_, v)| v.into_owned())
                    .collect::<String>()
            })
            .filter(|message| !message.is_empty());
        Flash(message)
    }

    /// Whether a request carries a message to clear.
    pub fn present(headers: &HeaderMap) -> bool {
        Self::from_headers(headers).0.is_some()
    }

    /// The header that removes the message once shown.
    pub fn clear_cookie() -> HeaderValue {
        HeaderValue::from_static("flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Flash::from_headers(&parts.headers))
    }
}

/// 303 to `to` with a confirmation message for the next page.
pub fn see_other(to: &str, message: &str) -> Response {
    let encoded: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    let mut response = Redirect::to(to).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={encoded}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Why a change of a record's status was refused (pages and the API alike).
#[derive(Debug)]
pub enum StatusRefused {
    /// Not one of the record's statuses.
    Unknown,
    /// Not possible from where the record is now, and why.
    NotNow(String),
    /// The version given is no longer current.
    Stale,
}

impl StatusRefused {
    /// What the record's page says.
    pub fn message(&self, noun: &str) -> String {
        match self {
            StatusRefused::Unknown => "Choose one of the next steps shown".to_string(),
            StatusRefused::NotNow(why) => why.clone(),
            StatusRefused::Stale => format!(
                "Someone changed this {noun} meanwhile: here it is as it is now. Try again if it still needs it."
            ),
        }
    }
}

/// Why a change to a record was refused (pages and the API alike).
#[derive(Debug)]
pub enum Refused {
    /// Fields to correct.
    Invalid(FormErrors),
    /// The version given is no longer current (another change came first).
    Stale,
}

/// Validation messages of a form, in the order of its fields: the error summary lists them
/// as links to the fields, and each field shows its own.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(Vec<(&'static str, String)>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.0.iter()
    }
}

/// Takes the value of a field check, recording its message when it fails.
pub fn check<T>(
    errors: &mut FormErrors,
    field: &'static str,
    result: Result<T, String>,
) -> Option<T> {
    result.map_err(|message| errors.add(field, message)).ok()
}

/// One field that changed between the version a person edited and the stored one, shown
/// on the 409 page beside what they typed.
#[derive(Debug, Clone)]
pub struct ChangedField {
    pub label: &'static str,
    pub theirs: String,
    pub yours: String,
}

/// Lists the fields whose stored value differs from the submitted one.
pub fn changed_fields(fields: &[(&'static str, String, String)]) -> Vec<ChangedField> {
    fields
        .iter()
        .filter(|(_, theirs, yours)| theirs != yours)
        .map(|(label, theirs, yours)| ChangedField {
            label,
            theirs: theirs.clone(),
            yours: yours.clone(),
        })
        .collect()
}

/// Shorthand for the 422 status.
pub const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
/// Shorthand for the 409 status.
pub const CONFLICT: StatusCode = StatusCode::CONFLICT;

/// Path parameters of a record's address. A malformed id is a page that does not exist:
/// the styled 404, not a bare 400.
pub struct Id<T>(pub T);

impl<S, T> FromRequestParts<S> for Id<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Id(value)),
            Err(_) => Err(crate::http::ErrorPage::not_found()),
        }
    }
}

/// A submitted form. A body that cannot be read at all (not form-encoded, a field sent
/// twice) gets a plain page saying so rather than a bare 4xx; fields that fail their rules
/// are the handler's business (422 with the form re-rendered).
pub struct Form<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for Form<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(Form(value)),
            Err(rejection) => {
                let status = rejection.status();
                tracing::info!(%status, "unreadable form");
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    return Err(crate::http::too_large(false));
                }
                Err(crate::http::ErrorPage::respond(
                    StatusCode::BAD_REQUEST,
                    "This form could not be read",
                    format!(
                        "Nothing was saved: {}. Go back, reload the page, and send the form again.",
                        unreadable(&rejection.body_text(), "field")
                    ),
                ))
            }
        }
    }
}

/// A page's query string. One that cannot be read (a parameter given twice, a number that
/// is not one) gets a plain page naming the parameter rather than a bare 400.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => {
                tracing::info!("unreadable query string");
                let reason = unreadable(&rejection.body_text(), "parameter");
                Err(crate::http::ErrorPage::respond(
                    StatusCode::BAD_REQUEST,
                    "This address could not be read",
                    format!("Nothing was changed: {reason}. Go back and follow the link again."),
                ))
            }
        }
    }
}

/// Why a form body or a query string could not be read, naming the field when the reason
/// does (`what` it is, "field" or "parameter"): serde's "duplicate field `name`" becomes
/// "the field “name” appears more than once".
fn unreadable(rejection: &str, what: &str) -> String {
    let Some((_, detail)) = rejection
        .split_once("form body: ")
        .or_else(|| rejection.split_once("query string: "))
    else {
        return "it was not sent as a form".into();
    };
    let named = |prefix: &str| {
        detail
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('`'))
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_string())
    };
    if let Some(field) = named("duplicate field ") {
        format!("the {what} “{field}” appears more than once")
    } else if let Some(field) = named("missing field ") {
        format!("the {what} “{field}” is missing")
    } else if let Some((field, reason)) = detail.split_once(": ")
        && !field.contains(' ')
    {
        format!("the {what} “{field}” could not be read ({reason})")
    } else {
        detail.to_string()
    }
}

/// The value of field `name` in a form read as pairs (repeated or free-named fields); ""
/// when it was not sent.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The page of a record by its kind ("epic", "key_result", …): "/key-results/{id}".
pub fn record_href(kind: &str, id: uuid::Uuid) -> String {
    format!("/{}s/{id}", kind.replace('_', "-"))
}

/// Keeps `limit` of the `limit + 1` rows a keyset page read, and answers the cursor of the
/// next page (the last row's key) when there was one more. Pages and the API alike.
pub fn next_page<T, K>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Option<K> {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(key)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_form_is_explained_by_the_field_at_fault() {
        let body = |detail: &str| format!("Failed to deserialize form body: {detail}");
        assert_eq!(
            unreadable(&body("duplicate field `title`"), "field"),
            "the field “title” appears more than once"
        );
        assert_eq!(
            unreadable(&body("missing field `version`"), "field"),
            "the field “version” is missing"
        );
        assert_eq!(
            unreadable(&body("confidence: invalid digit found in string"), "field"),
            "the field “confidence” could not be read (invalid digit found in string)"
        );
        assert_eq!(
            unreadable(
                "Form requests must have `Content-Type: application/x-www-form-urlencoded`",
                "field"
            ),
            "it was not sent as a form"
        );
    }
}
