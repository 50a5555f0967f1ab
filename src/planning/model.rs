//! Planning domain types: capacity against committed effort, cost rates and ROI, and
//! iteration goals phrased as outcomes.

use rust_decimal::Decimal;

use crate::outcomes::model::parse_value;

/// Largest number of team-weeks (NUMERIC(8, 2)).
const MAX_WEEKS: i64 = 999_999;

/// Team-weeks typed in a form: empty means none; otherwise a number ≥ 0 with at most two
/// decimals.
pub fn parse_weeks(text: &str, what: &str) -> Result<Option<Decimal>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let weeks = parse_value(text, what)?;
    if weeks < Decimal::ZERO {
        return Err(format!("The {what} cannot be negative"));
    }
    if weeks.scale() > 2 || weeks > Decimal::from(MAX_WEEKS) {
        return Err(format!(
            "The {what} takes at most 2 decimals, like 12 or 7.5 team-weeks"
        ));
    }
    Ok(Some(weeks))
}

/// A unit's capacity in a period against the effort already committed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub weeks: Decimal,
    pub committed: Decimal,
}

impl Capacity {
    /// Team-weeks left; negative when over capacity.
    pub fn remaining(&self) -> Decimal {
        self.weeks - self.committed
    }

    /// By how many team-weeks committing `adding` more (after freeing `freed`) would exceed
    /// the capacity; `None` when it fits.
    pub fn over_by(&self, adding: Decimal, freed: Decimal) -> Option<Decimal> {
        let after = self.committed - freed + adding;
        (after > self.weeks).then(|| after - self.weeks)
    }
}

/// What a team-week costs in a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostRate {
    pub rate: Decimal,
    pub currency: String,
}

impl CostRate {
    /// Reads the rate and the currency as typed; each problem is named with its field.
    pub fn parse(rate: &str, currency: &str) -> Result<CostRate, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let rate = match parse_value(rate, "cost per team-week") {
            Ok(r) if r <= Decimal::ZERO => {
                errors.push((
                    "rate",
                    "The cost per team-week must be more than 0".to_string(),
                ));
                None
            }
            Ok(r) if r.scale() > 2 || r >= Decimal::from(1_000_000_000_000i64) => {
                errors.push((
                    "rate",
                    "The cost per team-week takes at most 2 decimals and 12 digits".to_string(),
                ));
                None
            }
            Ok(r) => Some(r),
            Err(message) => {
                errors.push(("rate", message));
                None
            }
        };
        let currency = currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            errors.push((
                "currency",
                "Enter the currency as its three-letter code, like EUR or USD".to_string(),
            ));
        }
        match rate {
            Some(rate) if errors.is_empty() => Ok(CostRate { rate, currency }),
            _ => Err(errors),
        }
    }

    /// What `effort` team-weeks cost.
    pub fn cost(&self, effort: Decimal) -> Decimal {
        effort * self.rate
    }

    /// "48,000 EUR"
    pub fn money(&self, amount: Decimal) -> String {
        money(amount, &self.currency)
    }
}

/// An amount with its currency, digits grouped by thousands: "48,000 EUR", "1,234.5 USD".
pub fn money(amount: Decimal, currency: &str) -> String {
    format!("{} {currency}", grouped(amount.round_dp(2)))
}

/// A number with its integer digits grouped by thousands: "1,234,567.5".
pub fn grouped(number: Decimal) -> String {
    let text = number.normalize().to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut out = String::new();
    for (i, c) in integer.chars().enumerate() {
        if i > 0 && (integer.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    format!("{sign}{out}")
}

/// Return on investment (DOMAIN.md): realised value ÷ cost, when both are known and the
/// cost is more than nothing.
pub fn roi(realised: Option<Decimal>, cost: Option<Decimal>) -> Option<Decimal> {
    match (realised, cost) {
        (Some(realised), Some(cost)) if cost > Decimal::ZERO => Some((realised / cost).round_dp(2)),
        _ => None,
    }
}

text_enum! {
    /// How an iteration's goal turned out, reviewed at its end.
    pub enum GoalReview (error = "Choose whether the goal was met, partly met or not met") {
        Met = ("met", "Met"),
        Partly = ("partly", "Partly met"),
        NotMet = ("not_met", "Not met"),
    }
}

/// Words that start a task ("finish three tickets") rather than an outcome.
const TASK_VERBS: &[&str] = &[
    "finish",
    "complete",
    "close",
    "do",
    "implement",
    "build",
    "deliver",
    "work",
];
/// Words that count work items rather than results.
const WORK_ITEMS: &[&str] = &["ticket", "task", "story", "stories", "point", "issue"];

/// An iteration goal: required, at most 500 characters, and phrased as an outcome ("improve
/// search response time by 5%") rather than a task list ("finish three refactoring
/// tickets"). The check is deliberately narrow: it refuses only a goal that starts with a
/// task verb and counts work items.
pub fn parse_goal(text: &str) -> Result<String, String> {
    let goal = text.trim();
    if goal.is_empty() {
        return Err("Enter the goal: what should be better at the end of the iteration".into());
    }
    if goal.chars().count() > 500 {
        return Err("The goal must be 500 characters or fewer".into());
    }
    let lower = goal.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let starts_with_task = words.first().is_some_and(|w| TASK_VERBS.contains(w));
    let counts_items = words
        .iter()
        .any(|w| WORK_ITEMS.iter().any(|item| w.starts_with(item)));
    if starts_with_task && counts_items {
        return Err(
            "Phrase the goal as an outcome — what changes for users or the business, like “improve search response time by 5%” — not as tasks to finish"
                .into(),
        );
    }
    Ok(goal.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn committing_more_than_is_left_reports_by_how_much_after_what_is_freed() {
        let capacity = Capacity {
            weeks: d("12"),
            committed: d("9"),
        };
        assert_eq!(capacity.remaining(), d("3"));
        assert_eq!(
            capacity.over_by(d("3"), Decimal::ZERO),
            None,
            "exactly full fits"
        );
        assert_eq!(capacity.over_by(d("5"), Decimal::ZERO), Some(d("2")));
        assert_eq!(capacity.over_by(d("5"), d("2")), None);
        assert_eq!(capacity.over_by(d("5"), d("1.5")), Some(d("0.5")));
    }

    #[test]
    fn team_weeks_are_optional_numbers_of_at_most_two_decimals() {
        assert_eq!(parse_weeks(" ", "capacity"), Ok(None));
        assert_eq!(parse_weeks("7.5", "capacity"), Ok(Some(d("7.5"))));
        assert_eq!(parse_weeks("0", "capacity"), Ok(Some(d("0"))));
        assert!(
            parse_weeks("-1", "capacity")
                .unwrap_err()
                .contains("negative")
        );
        assert!(
            parse_weeks("1.234", "capacity")
                .unwrap_err()
                .contains("2 decimals")
        );
        assert!(
            parse_weeks("lots", "capacity")
                .unwrap_err()
                .contains("number")
        );
    }

    #[test]
    fn an_epic_costs_its_effort_times_the_rate_and_roi_is_realised_value_over_cost() {
        let rate = CostRate::parse("12000", "eur").unwrap();
        assert_eq!(rate.currency, "EUR");
        assert_eq!(rate.cost(d("4")), d("48000"));
        assert_eq!(rate.money(rate.cost(d("2.5"))), "30,000 EUR");
        assert_eq!(roi(Some(d("120000")), Some(d("48000"))), Some(d("2.5")));
        assert_eq!(roi(None, Some(d("48000"))), None);
        assert_eq!(roi(Some(d("1")), None), None);
        assert_eq!(roi(Some(d("1")), Some(Decimal::ZERO)), None);
    }

    #[test]
    fn a_rate_must_be_positive_with_a_three_letter_currency() {
        let errors = CostRate::parse("0", "euro").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["rate", "currency"]);
        assert_eq!(CostRate::parse("abc", "EUR").unwrap_err()[0].0, "rate");
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(grouped(d("1234567.50")), "1,234,567.5");
        assert_eq!(grouped(d("999")), "999");
        assert_eq!(grouped(d("-48000")), "-48,000");
        assert_eq!(money(d("0.125"), "USD"), "0.12 USD");
    }

    #[test]
    fn a_goal_must_read_as_an_outcome_not_a_task_list() {
        assert_eq!(
            parse_goal(" Improve search response time by 5% ").unwrap(),
            "Improve search response time by 5%"
        );
        assert!(parse_goal("Finish three refactoring tickets").is_err());
        assert!(parse_goal("Complete 20 story points").is_err());
        assert!(
            parse_goal("Reduce open defect tickets by 20%").is_ok(),
            "an outcome may count tickets"
        );
        assert!(parse_goal("").unwrap_err().starts_with("Enter the goal"));
    }
}
