//! One clock for the whole application. Tests fix and move it to check day-boundary rules;
//! "today" is always a calendar date in the organisation's time zone.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// The source of "now". Cloning shares the same clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A clock stopped at `at`, for tests; move it with [`Clock::set`].
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock {
            fixed: Some(Arc::new(Mutex::new(at))),
        }
    }

    /// Moves a fixed clock; does nothing to the system clock.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(fixed) = &self.fixed {
            *fixed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
        }
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.fixed {
            Some(fixed) => *fixed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => Utc::now(),
        }
    }

    /// Today's date in `zone`.
    pub fn today(&self, zone: Tz) -> NaiveDate {
        self.now().with_timezone(&zone).date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn today_depends_on_the_organisations_time_zone() {
        // 23:30 UTC on 31 March is already 1 April in Berlin and still 31 March in New York.
        let clock = Clock::fixed(Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 0).unwrap());
        assert_eq!(
            clock.today(chrono_tz::UTC),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
        assert_eq!(
            clock.today(chrono_tz::Europe::Berlin),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        assert_eq!(
            clock.today(chrono_tz::America::New_York),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
    }

    #[test]
    fn a_fixed_clock_moves_only_when_set() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let clock = Clock::fixed(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        shared.set(start + chrono::Duration::days(2));
        assert_eq!(clock.now(), start + chrono::Duration::days(2));
    }
}
