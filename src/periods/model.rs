//! Periods: OKR cycles with a cadence and inclusive start and end dates.

use chrono::{Datelike, NaiveDate};

text_enum! {
    /// How often periods of this kind come round.
    pub enum Cadence (error = "Choose how often this kind of period comes round") {
        Quarter = ("quarter", "Quarter"),
        Year = ("year", "Year"),
        Custom = ("custom", "Custom"),
    }
}

/// A date typed into `<input type="date">` (YYYY-MM-DD), within years 1900–2999.
pub fn parse_date(value: &str, what: &str) -> Result<NaiveDate, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("Enter the {what}"));
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("The {what} must be a real date, like 2026-03-31"))?;
    if !(1900..=2999).contains(&date.year()) {
        return Err(format!(
            "The {what} must be between the years 1900 and 2999"
        ));
    }
    Ok(date)
}

/// The quarter containing `date`: its first and last day, and a name like "2026 Q2".
pub fn quarter_of(date: NaiveDate) -> (NaiveDate, NaiveDate, String) {
    let q = (date.month0() / 3) as i32;
    let start = NaiveDate::from_ymd_opt(date.year(), (q * 3 + 1) as u32, 1)
        .expect("first day of a quarter");
    let next = if q == 3 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), (q * 3 + 4) as u32, 1)
    }
    .expect("first day of the next quarter");
    (
        start,
        next.pred_opt().expect("a day before"),
        format!("{} Q{}", date.year(), q + 1),
    )
}

/// Formats a date as people read it: "30 Jun 2026".
pub fn human_date(date: NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn quarters_start_and_end_on_the_right_days() {
        assert_eq!(
            quarter_of(d(2026, 2, 14)),
            (d(2026, 1, 1), d(2026, 3, 31), "2026 Q1".into())
        );
        assert_eq!(
            quarter_of(d(2026, 11, 21)),
            (d(2026, 10, 1), d(2026, 12, 31), "2026 Q4".into())
        );
        assert_eq!(
            quarter_of(d(2024, 4, 1)),
            (d(2024, 4, 1), d(2024, 6, 30), "2024 Q2".into())
        );
    }

    #[test]
    fn dates_must_be_real_and_in_range() {
        assert_eq!(parse_date("2026-06-30", "start date"), Ok(d(2026, 6, 30)));
        assert!(
            parse_date("2026-02-30", "start date")
                .unwrap_err()
                .contains("real date")
        );
        assert!(
            parse_date("", "start date")
                .unwrap_err()
                .contains("Enter the start date")
        );
        assert!(parse_date("30/06/2026", "start date").is_err());
        assert!(parse_date("+275760-01-01", "start date").is_err());
        assert!(
            parse_date("0999-01-01", "start date")
                .unwrap_err()
                .contains("1900")
        );
    }

    #[test]
    fn dates_read_like_people_write_them() {
        assert_eq!(human_date(d(2026, 6, 30)), "30 Jun 2026");
        assert_eq!(human_date(d(2026, 1, 5)), "5 Jan 2026");
    }
}
