//! The sitemap: every route with the access it requires. Routes are added here, never to
//! the router directly, so each one goes through the guard and the route × role test sees
//! the complete list.

use axum::Router;
use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, get, post};

use crate::auth::guard::{self, Guard};
use crate::auth::policy::Access;
use crate::http::AppState;

/// One route: method, path pattern, access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Routes being assembled, with their list.
pub struct Sitemap {
    state: AppState,
    router: Router<AppState>,
    routes: Vec<RouteInfo>,
}

impl Sitemap {
    pub fn new(state: &AppState) -> Sitemap {
        Sitemap {
            state: state.clone(),
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// `GET path`, for people with `access`.
    pub fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Sitemap
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("GET", path, access, get(handler))
    }

    /// `POST path`, for people with `access`.
    pub fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Sitemap
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("POST", path, access, post(handler))
    }

    /// `POST path` of a file upload, whose body may be up to `limit` bytes (every other
    /// route keeps `BODY_LIMIT`).
    pub fn upload<H, T>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
        limit: usize,
    ) -> Sitemap
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let route = post(handler).layer(axum::extract::DefaultBodyLimit::max(limit));
        self.add("POST", path, access, route)
    }

    /// `PUT path`, for people with `access`.
    pub fn put<H, T>(self, path: &'static str, access: Access, handler: H) -> Sitemap
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("PUT", path, access, axum::routing::put(handler))
    }

    /// `DELETE path`, for people with `access`.
    pub fn delete<H, T>(self, path: &'static str, access: Access, handler: H) -> Sitemap
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("DELETE", path, access, axum::routing::delete(handler))
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        route: MethodRouter<AppState>,
    ) -> Sitemap {
        let checker = Guard {
            state: self.state.clone(),
            access,
        };
        self.router = self.router.route(
            path,
            route.route_layer(from_fn_with_state(checker, guard::check)),
        );
        self.routes.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }

    /// Adds another feature's routes.
    pub fn merge(mut self, other: Sitemap) -> Sitemap {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }

    /// Every route, in the order added.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
