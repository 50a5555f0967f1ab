//! Who may do what: the one place the rules live. Routes declare an [`Access`] in the
//! sitemap and the guard checks it before any handler runs; handlers that change a record
//! ask the functions here about that record, and templates ask them which buttons to show.
//!
//! Reading is open to every signed-in person (transparency is a feature of OKRs). Admins
//! change everything, including people, org units, periods and roles. Members change records
//! that belong to a unit they are in (or one beneath it) and records they own. Viewers
//! change nothing.

use uuid::Uuid;

text_enum! {
    /// A person's account role.
    pub enum AccountRole (error = "Choose a role: administrator, member or viewer") {
        Admin = ("admin", "Administrator"),
        Member = ("member", "Member"),
        Viewer = ("viewer", "Viewer"),
    }
}

/// What a route requires before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in pages, health, static files).
    Public,
    /// Any signed-in person: every page that reads.
    SignedIn,
    /// Signed-in people who may change something (members and admins); the handler then
    /// checks the record itself.
    Contributor,
    /// Administrators only: people, org units, periods, roles, the audit log.
    Admin,
}

/// The columns of [`Me`], of a person `p`, for the statements that find who is asking (a
/// session, an API token).
pub const ME_COLUMNS: &str = "p.id, p.name, p.email, p.account_role,
    (SELECT count(*) FROM notifications n WHERE n.person_id = p.id AND n.read_at IS NULL) AS unread,
    (SELECT time_zone FROM organisation) AS time_zone,
    (SELECT version FROM choices_version) AS choices_version";

/// The signed-in person, as the guard found them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Me {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub account_role: String,
    /// Unread notifications (the navigation shows the count).
    #[sqlx(default)]
    pub unread: i64,
    /// The organisation's time zone, read with the session (one statement fewer for every
    /// page that needs today's date).
    pub time_zone: String,
    /// The version of what filters offer to choose from, read with the session: a server
    /// keeps those choices while it stands still (src/org/choices.rs).
    pub choices_version: i64,
}

impl Me {
    /// Today's date in the organisation's time zone.
    pub fn today(&self, clock: &crate::clock::Clock) -> chrono::NaiveDate {
        clock.today(crate::org::settings::zone(&self.time_zone))
    }

    pub fn role(&self) -> AccountRole {
        AccountRole::parse(&self.account_role).unwrap_or(AccountRole::Viewer)
    }

    pub fn is_admin(&self) -> bool {
        self.role() == AccountRole::Admin
    }

    /// People, org units, memberships, periods, organisation settings.
    pub fn may_change_organisation(&self) -> bool {
        self.is_admin()
    }
}

/// Whether `me` may change a record that belongs to `unit` and is owned by `owner`: admins
/// always; viewers never; members when they are in that unit or one above it, or own the
/// record.
pub async fn may_change_record(
    db: &crate::db::Db,
    me: &Me,
    unit: Uuid,
    owner: Option<Uuid>,
) -> sqlx::Result<bool> {
    match me.role() {
        AccountRole::Admin => Ok(true),
        AccountRole::Viewer => Ok(false),
        AccountRole::Member if owner == Some(me.id) => Ok(true),
        AccountRole::Member => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM memberships m JOIN org_unit_tree t ON t.ancestor_id = m.org_unit_id
                                 WHERE m.person_id = $1 AND t.descendant_id = $2)",
            )
            .bind(me.id)
            .bind(unit)
            .fetch_one(db)
            .await
        }
    }
}

/// What the guard does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Nobody is signed in: send them to the sign-in page.
    SignIn,
    /// Signed in, but not allowed: 403.
    Forbid,
}

/// Whether `me` may use a route that requires `access`.
pub fn decide(access: Access, me: Option<&Me>) -> Decision {
    match (access, me) {
        (Access::Public, _) => Decision::Allow,
        (_, None) => Decision::SignIn,
        (Access::SignedIn, Some(_)) => Decision::Allow,
        (Access::Contributor, Some(me)) if me.role() != AccountRole::Viewer => Decision::Allow,
        (Access::Admin, Some(me)) if me.is_admin() => Decision::Allow,
        _ => Decision::Forbid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: &str) -> Me {
        Me {
            id: Uuid::nil(),
            name: "P".into(),
            email: "p@example.org".into(),
            account_role: role.into(),
            unread: 0,
            time_zone: "UTC".into(),
            choices_version: 0,
        }
    }

    #[test]
    fn each_role_gets_what_its_access_level_allows() {
        let (admin, member, viewer) = (person("admin"), person("member"), person("viewer"));
        let table = [
            (
                Access::Public,
                [
                    Decision::Allow,
                    Decision::Allow,
                    Decision::Allow,
                    Decision::Allow,
                ],
            ),
            (
                Access::SignedIn,
                [
                    Decision::SignIn,
                    Decision::Allow,
                    Decision::Allow,
                    Decision::Allow,
                ],
            ),
            (
                Access::Contributor,
                [
                    Decision::SignIn,
                    Decision::Forbid,
                    Decision::Allow,
                    Decision::Allow,
                ],
            ),
            (
                Access::Admin,
                [
                    Decision::SignIn,
                    Decision::Forbid,
                    Decision::Forbid,
                    Decision::Allow,
                ],
            ),
        ];
        for (access, expected) in table {
            let got =
                [None, Some(&viewer), Some(&member), Some(&admin)].map(|me| decide(access, me));
            assert_eq!(got, expected, "{access:?}");
        }
    }
}
