//! Accounts and access: sign-in and sessions, first-run setup, invitations and reset links,
//! the person's own account page, throttling, and the policy every route goes through.

pub mod account;
pub mod admin;
pub mod guard;
pub mod invitation;
pub mod password;
pub mod policy;
pub mod session;
pub mod sign_in;
pub mod throttle;
pub mod token;

use crate::http::AppState;
use crate::http::sitemap::Sitemap;
use policy::Access;

/// `/login`, `/logout`, `/setup`, `/account`, `/invitations/{token}`.
pub fn sitemap(state: &AppState) -> Sitemap {
    Sitemap::new(state)
        .get("/login", Access::Public, sign_in::get_login)
        .post("/login", Access::Public, sign_in::post_login)
        .post("/logout", Access::Public, sign_in::post_logout)
        .get("/setup", Access::Public, sign_in::get_setup)
        .post("/setup", Access::Public, sign_in::post_setup)
        .get(
            "/invitations/{token}",
            Access::Public,
            invitation::get_invitation,
        )
        .post(
            "/invitations/{token}",
            Access::Public,
            invitation::post_invitation,
        )
        .get("/account", Access::SignedIn, account::get_account)
        .post(
            "/account/password",
            Access::SignedIn,
            account::post_password,
        )
        .post(
            "/account/sessions/end-others",
            Access::SignedIn,
            account::post_end_other_sessions,
        )
}
