//! The guard every route goes through: finds who is signed in, applies the route's
//! [`Access`], and hands the person to the handler. Anonymous browsers are sent to sign in
//! and come back to the page they asked for.

use std::net::SocketAddr;

use axum::extract::{
    ConnectInfo, FromRequestParts, MatchedPath, OptionalFromRequestParts, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::api::problem::ApiError;
use crate::audit;
use crate::auth::policy::{Access, Decision, Me, decide};
use crate::auth::session;
use crate::http::{AppError, AppState, ErrorPage};

/// The guard's state: the app, and what this route requires.
#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub access: Access,
}

/// The person signed in on this request, if any.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> sqlx::Result<Option<Me>> {
    match session::token_from(headers, state.secure_cookies) {
        Some(token) => session::find(&state.db, &token, state.clock.now()).await,
        None => Ok(None),
    }
}

/// The bearer token a request carries, if it carries an `Authorization` header at all
/// (`Some("")` when the header is there but is not a bearer token).
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?;
    let text = value.to_str().unwrap_or_default().trim();
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .unwrap_or_default();
    Some(token.trim().to_string())
}

/// Middleware: applies the route's access rule. A request with a bearer token is an API
/// call: the token names the person (401 when it does not open the API) and a read-only
/// token may only read (403). Without one, the session cookie names the person, as on
/// every page (and cross-site posts are refused before this runs).
pub async fn check(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    if guard.access == Access::Public {
        return next.run(request).await;
    }
    let api = request.uri().path().starts_with("/api/");
    let me = match bearer(request.headers()) {
        Some(text) => {
            let caller = match crate::api::tokens::authenticate(
                &guard.state.db,
                &text,
                guard.state.clock.now(),
            )
            .await
            {
                Ok(Some(caller)) => caller,
                Ok(None) => return ApiError::Unauthorized.into_response(),
                Err(err) => return ApiError::from(AppError::from(err)).into_response(),
            };
            let reads = matches!(*request.method(), Method::GET | Method::HEAD);
            if caller.read_only && !reads {
                return ApiError::Forbidden(
                    "This token may only read: create a read-and-write token to change records"
                        .into(),
                )
                .into_response();
            }
            let me = caller.me.clone();
            request.extensions_mut().insert(caller);
            Some(me)
        }
        None => match signed_in(&guard.state, request.headers()).await {
            Ok(me) => me,
            Err(err) => return AppError::from(err).into_response(),
        },
    };
    match decide(guard.access, me.as_ref()) {
        Decision::Allow => {
            if let Some(me) = me {
                request.extensions_mut().insert(me);
            }
            next.run(request).await
        }
        Decision::SignIn if api => ApiError::Unauthorized.into_response(),
        Decision::SignIn => to_sign_in(&request),
        Decision::Forbid => {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let entry = audit::Entry::new("permission_refused")
                .actor(me.as_ref().map(|m| m.id))
                .after(json!({ "method": request.method().as_str(), "route": route }))
                .client(&client_addr_of(request.extensions()));
            if let Err(err) = entry.write(&guard.state.db, guard.state.clock.now()).await {
                return AppError::from(err).into_response();
            }
            if api {
                return ApiError::Forbidden("Your role does not allow this".into()).into_response();
            }
            forbidden()
        }
    }
}

/// Whether `me` may change a record of `unit` owned by `owner`; if not, the refusal is
/// written to the audit log and the request answers the 403 page.
pub async fn ensure_may_change(
    state: &AppState,
    me: &Me,
    client: &str,
    unit: uuid::Uuid,
    owner: Option<uuid::Uuid>,
    entity: &'static str,
    id: uuid::Uuid,
) -> Result<(), AppError> {
    if crate::auth::policy::may_change_record(&state.db, me, unit, owner).await? {
        return Ok(());
    }
    audit::Entry::new("permission_refused")
        .actor(Some(me.id))
        .entity(entity, id)
        .client(client)
        .write(&state.db, state.clock.now())
        .await?;
    Err(AppError::Forbidden)
}

/// 303 to the sign-in page, remembering the page asked for (for reads; a change is not
/// replayed, so the person starts again from the home page).
pub fn to_sign_in(request: &Request) -> Response {
    let next = if request.method() == Method::GET {
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    } else {
        "/"
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// The plain 403 page.
pub fn forbidden() -> Response {
    ErrorPage::respond(
        StatusCode::FORBIDDEN,
        "You cannot do this",
        "Your role does not allow this. If you need it, ask an administrator of Yardstick.",
    )
}

/// The client's address as the server saw it.
pub fn client_addr_of(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The client's address (for throttling, the audit log and the session list).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr_of(&parts.extensions)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Me {
    type Rejection = Response;

    /// Only routes that require sign-in have a person; asking for one elsewhere is a bug.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Me>().cloned().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "handler asked for the signed-in person on a public route"
            ))
            .into_response()
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Me {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Me>().cloned())
    }
}
