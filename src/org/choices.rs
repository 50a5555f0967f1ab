//! What the filters of list pages offer to choose from (a unit filter's options, the
//! periods), kept by each server between views. Both were a statement on every list page,
//! and change a few times a month. A change to units, memberships or periods moves
//! `choices_version` on in its own transaction (migrations/0033); the session is read with
//! the version (`Me::choices_version`), and what a server keeps serves only requests that
//! read the version it was kept at. It is read after the version, so what is kept is never
//! older than its version: several servers each see another's change at their next request.

use uuid::Uuid;

use crate::auth::policy::Me;
use crate::db::kept::Kept;
use crate::org::UnitFilter;

/// At most this many unit filters kept (one per chosen unit and viewer, about 3 KB each).
const UNIT_FILTERS: usize = 2048;

/// What a server keeps: the periods' options, and each unit filter by the unit chosen and
/// who is looking.
pub struct Choices {
    periods: Kept<(), Vec<(String, String)>>,
    unit_filters: Kept<(Option<Uuid>, Uuid), UnitFilter>,
}

impl Default for Choices {
    fn default() -> Self {
        Choices {
            periods: Kept::new(1),
            unit_filters: Kept::new(UNIT_FILTERS),
        }
    }
}

impl Choices {
    /// The periods' options kept, if read at the version `me` was read with.
    pub fn periods(&self, me: &Me) -> Option<Vec<(String, String)>> {
        self.periods.get(&(), me.choices_version)
    }

    pub fn keep_periods(&self, me: &Me, options: Vec<(String, String)>) {
        self.periods.keep((), me.choices_version, options);
    }

    /// The unit filter kept for `chosen` and `me`, if read at `me`'s version.
    pub fn unit_filter(&self, chosen: Option<Uuid>, me: &Me) -> Option<UnitFilter> {
        self.unit_filters.get(&(chosen, me.id), me.choices_version)
    }

    pub fn keep_unit_filter(&self, chosen: Option<Uuid>, me: &Me, filter: UnitFilter) {
        self.unit_filters
            .keep((chosen, me.id), me.choices_version, filter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(id: u128, version: i64) -> Me {
        Me {
            id: Uuid::from_u128(id),
            name: "P".into(),
            email: "p@example.org".into(),
            account_role: "member".into(),
            unread: 0,
            time_zone: "UTC".into(),
            choices_version: version,
        }
    }

    fn filter(name: &str) -> UnitFilter {
        UnitFilter {
            options: vec![(Uuid::nil().to_string(), name.to_string())],
            hint: "",
        }
    }

    #[test]
    fn a_kept_filter_serves_only_its_viewer_and_unit_at_the_version_it_was_read_at() {
        let choices = Choices::default();
        let unit = Some(Uuid::from_u128(7));
        choices.keep_unit_filter(unit, &me(1, 3), filter("Acme"));
        let name = |f: Option<UnitFilter>| f.map(|f| f.options[0].1.clone());
        assert_eq!(
            name(choices.unit_filter(unit, &me(1, 3))),
            Some("Acme".into())
        );
        assert_eq!(name(choices.unit_filter(unit, &me(1, 4))), None);
        assert_eq!(name(choices.unit_filter(unit, &me(2, 3))), None);
        assert_eq!(name(choices.unit_filter(None, &me(1, 3))), None);
    }

    #[test]
    fn a_full_store_drops_filters_of_older_versions_first() {
        let choices = Choices::default();
        for viewer in 0..UNIT_FILTERS as u128 - 1 {
            choices.keep_unit_filter(None, &me(viewer, 1), filter("old"));
        }
        choices.keep_unit_filter(None, &me(90_000, 2), filter("new"));
        choices.keep_unit_filter(None, &me(90_001, 2), filter("newer"));
        let name = |filter: Option<UnitFilter>| filter.map(|f| f.options[0].1.clone());
        assert_eq!(name(choices.unit_filter(None, &me(0, 1))), None);
        assert_eq!(
            name(choices.unit_filter(None, &me(90_000, 2))),
            Some("new".into())
        );
        assert_eq!(
            name(choices.unit_filter(None, &me(90_001, 2))),
            Some("newer".into())
        );
    }

    #[test]
    fn periods_are_kept_for_one_version() {
        let choices = Choices::default();
        assert_eq!(choices.periods(&me(1, 1)), None);
        let options = vec![("p".to_string(), "2026 Q4".to_string())];
        choices.keep_periods(&me(1, 1), options.clone());
        assert_eq!(choices.periods(&me(2, 1)), Some(options));
        assert_eq!(choices.periods(&me(1, 2)), None);
    }
}
