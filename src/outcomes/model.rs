//! Anticipated outcomes, as DOMAIN.md's rules define them: what is measured (metric, unit,
//! kind), where it starts (baseline) and where it should get to (a target in a direction,
//! or a band to stay within), and the figures derived from them — the one-line sentence,
//! progress, and the verdict Yardstick proposes when a loop closes.
//!
//! Metric values are decimals (`NUMERIC` in the database), never floats.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A stable name for a metric that an analytics job posts values for
/// (`onboarding.completion_rate_7d`): lowercase letters, digits, dots, underscores and
/// hyphens, starting with a letter or digit, at most 120 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricKey(String);

impl MetricKey {
    /// None for an empty field; the key lowercased; a message when it is not a key.
    pub fn parse_optional(text: &str) -> Result<Option<MetricKey>, String> {
        let key = text.trim().to_lowercase();
        if key.is_empty() {
            return Ok(None);
        }
        MetricKey::parse(&key).map(Some)
    }

    pub fn parse(text: &str) -> Result<MetricKey, String> {
        let key = text.trim().to_lowercase();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c);
        let first_ok = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if key.len() > 120 || !first_ok || !key.chars().all(allowed) {
            return Err(
                "A metric key uses letters, digits, dots, underscores and hyphens, like onboarding.completion_rate_7d"
                    .to_string(),
            );
        }
        Ok(MetricKey(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_enum! {
    /// Which way the metric should move.
    pub enum Direction (error = "Choose whether the metric should go up, go down, or stay within a band") {
        Increase = ("increase", "Increase"),
        Decrease = ("decrease", "Decrease"),
        StayWithin = ("stay_within", "Stay within"),
    }
}

text_enum! {
    /// Behaviour (what users do differently: a leading indicator) or business result
    /// (retention, revenue, cost: a lagging one).
    pub enum OutcomeKind (error = "Choose whether this outcome is a behaviour or a business result") {
        Behaviour = ("behaviour", "Behaviour"),
        BusinessResult = ("business_result", "Business result"),
    }
}

text_enum! {
    /// The unit a metric is counted in; `Custom` carries its own label ("learners").
    pub enum MetricUnit (error = "Choose the unit the metric is measured in") {
        Percent = ("percent", "Percent (%)"),
        Count = ("count", "Count"),
        Currency = ("currency", "Currency"),
        Duration = ("duration", "Duration"),
        Score = ("score", "Score"),
        Custom = ("custom", "Another unit"),
    }
}

/// The most digits a metric value may have (NUMERIC(20, 6) in the database).
const MAX_INTEGER_DIGITS: usize = 14;
const MAX_FRACTION_DIGITS: usize = 6;

/// A metric value typed by a person: "70", "-3.5", "0.25", "70%" (the sign of the unit is
/// allowed and ignored). No exponents, no NaN or infinity, no thousands separators (a comma
/// is refused rather than guessed at).
/// A stored decimal as a form shows it for editing (70, not 70.000000); empty for none.
/// `parse_value` reads it back.
pub fn form_number(value: Option<Decimal>) -> String {
    value.map(|v| v.normalize().to_string()).unwrap_or_default()
}

pub fn parse_value(text: &str, what: &str) -> Result<Decimal, String> {
    let trimmed = text.trim().trim_end_matches('%').trim_end();
    if trimmed.is_empty() {
        return Err(format!("Enter the {what}"));
    }
    let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !integer.is_empty()
        && integer.chars().all(|c| c.is_ascii_digit())
        && fraction.chars().all(|c| c.is_ascii_digit())
        && !(digits.contains('.') && fraction.is_empty());
    if !well_formed {
        return Err(format!("The {what} must be a number, like 70 or 12.5"));
    }
    if integer.trim_start_matches('0').len() > MAX_INTEGER_DIGITS
        || fraction.len() > MAX_FRACTION_DIGITS
    {
        return Err(format!(
            "The {what} can have at most {MAX_INTEGER_DIGITS} digits before the decimal point and {MAX_FRACTION_DIGITS} after"
        ));
    }
    trimmed
        .parse::<Decimal>()
        .map(|d| d.normalize())
        .map_err(|_| format!("The {what} must be a number, like 70 or 12.5"))
}

/// Where the outcome should end: a target in a direction, or a band to stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    Increase { target: Decimal },
    Decrease { target: Decimal },
    StayWithin { lower: Decimal, upper: Decimal },
}

/// The field a goal problem belongs to, and the message.
pub type GoalError = (&'static str, String);

impl Goal {
    /// Checks the target against the baseline: an increase must go up, a decrease down, and
    /// a band's lower bound must not be above its upper one.
    pub fn new(
        direction: Direction,
        baseline: Decimal,
        target: Option<Decimal>,
        band: Option<(Decimal, Decimal)>,
    ) -> Result<Goal, GoalError> {
        match direction {
            Direction::Increase | Direction::Decrease => {
                let target = target.ok_or(("target", "Enter the target".to_string()))?;
                match direction {
                    Direction::Increase if target <= baseline => Err((
                        "target",
                        format!(
                            "For an increase the target must be above the baseline ({baseline})"
                        ),
                    )),
                    Direction::Decrease if target >= baseline => Err((
                        "target",
                        format!(
                            "For a decrease the target must be below the baseline ({baseline})"
                        ),
                    )),
                    Direction::Increase => Ok(Goal::Increase { target }),
                    _ => Ok(Goal::Decrease { target }),
                }
            }
            Direction::StayWithin => {
                let (lower, upper) =
                    band.ok_or(("band_lower", "Enter both bounds of the band".to_string()))?;
                if lower > upper {
                    return Err((
                        "band_upper",
                        "The upper bound must not be below the lower bound".to_string(),
                    ));
                }
                Ok(Goal::StayWithin { lower, upper })
            }
        }
    }

    pub fn direction(&self) -> Direction {
        match self {
            Goal::Increase { .. } => Direction::Increase,
            Goal::Decrease { .. } => Direction::Decrease,
            Goal::StayWithin { .. } => Direction::StayWithin,
        }
    }

    /// Progress of `value` from `baseline` toward the goal, 0 to 1: for a target,
    /// (value − baseline) ÷ (target − baseline) clamped; for a band, 1 inside and 0 outside.
    pub fn progress(&self, baseline: Decimal, value: Decimal) -> Decimal {
        match *self {
            Goal::Increase { target } | Goal::Decrease { target } => {
                let span = target - baseline;
                if span.is_zero() {
                    return Decimal::ZERO;
                }
                ((value - baseline) / span).clamp(Decimal::ZERO, Decimal::ONE)
            }
            Goal::StayWithin { lower, upper } => {
                if lower <= value && value <= upper {
                    Decimal::ONE
                } else {
                    Decimal::ZERO
                }
            }
        }
    }

    /// Whether `value` meets the goal (reaches the target, or sits inside the band).
    pub fn reached(&self, value: Decimal) -> bool {
        match *self {
            Goal::Increase { target } => value >= target,
            Goal::Decrease { target } => value <= target,
            Goal::StayWithin { lower, upper } => lower <= value && value <= upper,
        }
    }
}

/// The typed fields that say where a metric starts and should get to.
pub struct GoalFields<'a> {
    pub direction: &'a str,
    /// The starting value: a baseline, or a key result's start.
    pub start: &'a str,
    pub target: &'a str,
    pub band_lower: &'a str,
    pub band_upper: &'a str,
}

impl GoalFields<'_> {
    /// Reads direction, start and target (or band), recording each problem under its field;
    /// `start_field` and `start_what` name the starting value ("baseline", "start_value").
    pub fn parse(
        &self,
        errors: &mut crate::http::page::FormErrors,
        start_field: &'static str,
        start_what: &str,
    ) -> Option<(Decimal, Goal)> {
        use crate::http::page::check;
        let before = errors.iter().count();
        let direction = check(errors, "direction", Direction::parse(self.direction));
        let start = check(errors, start_field, parse_value(self.start, start_what));
        let (target, band) = match direction {
            Some(Direction::StayWithin) => {
                let lower = check(
                    errors,
                    "band_lower",
                    parse_value(self.band_lower, "lower bound"),
                );
                let upper = check(
                    errors,
                    "band_upper",
                    parse_value(self.band_upper, "upper bound"),
                );
                (None, lower.zip(upper))
            }
            Some(_) => (
                check(errors, "target", parse_value(self.target, "target")),
                None,
            ),
            None => (None, None),
        };
        let (direction, start) = (direction?, start?);
        if errors.iter().count() > before {
            return None;
        }
        match Goal::new(direction, start, target, band) {
            Ok(goal) => Some((start, goal)),
            Err((field, message)) => {
                errors.add(field, message);
                None
            }
        }
    }
}

text_enum! {
    /// The closing record's judgement of an outcome.
    pub enum Verdict (error = "Choose a verdict") {
        Achieved = ("achieved", "Achieved"),
        PartiallyAchieved = ("partially_achieved", "Partially achieved"),
        NotAchieved = ("not_achieved", "Not achieved"),
        Inconclusive = ("inconclusive", "Inconclusive"),
    }
}

/// The verdict Yardstick proposes from the latest measurement (DOMAIN.md): target reached
/// or inside the band → achieved; progress ≥ 0.5 → partially achieved; otherwise not
/// achieved; no measurement → only inconclusive.
pub fn proposed_verdict(goal: &Goal, baseline: Decimal, latest: Option<Decimal>) -> Verdict {
    let Some(value) = latest else {
        return Verdict::Inconclusive;
    };
    if goal.reached(value) {
        Verdict::Achieved
    } else if goal.progress(baseline, value) >= Decimal::new(5, 1) {
        Verdict::PartiallyAchieved
    } else {
        Verdict::NotAchieved
    }
}

text_enum! {
    /// Where an outcome's loop is (DOMAIN.md, Rules → Loop state).
    pub enum LoopState (error = "Choose a loop state") {
        NotStarted = ("not_started", "Not started"),
        Measuring = ("measuring", "Measuring"),
        DueSoon = ("due_soon", "Due soon"),
        Overdue = ("overdue", "Overdue"),
        Closed = ("closed", "Closed"),
    }
}

/// How many days ahead a loop counts as due soon.
pub const DUE_SOON_DAYS: i64 = 14;

impl LoopState {
    /// The loop state with `today` in the organisation's time zone, first rule that holds:
    /// closed (verdict recorded) · overdue (measure-by before today) · due soon (within 14
    /// days) · measuring (the work is delivered) · not started. Outcomes of cancelled work
    /// have none.
    pub fn of(
        closed: bool,
        cancelled: bool,
        delivered: bool,
        measure_by: NaiveDate,
        today: NaiveDate,
    ) -> Option<LoopState> {
        if cancelled {
            None
        } else if closed {
            Some(LoopState::Closed)
        } else if measure_by < today {
            Some(LoopState::Overdue)
        } else if (measure_by - today).num_days() <= DUE_SOON_DAYS {
            Some(LoopState::DueSoon)
        } else if delivered {
            Some(LoopState::Measuring)
        } else {
            Some(LoopState::NotStarted)
        }
    }

    /// The tag style the state is shown with.
    pub fn tag(self) -> &'static str {
        match self {
            LoopState::Overdue => "tag-bad",
            LoopState::DueSoon => "tag-warn",
            LoopState::Closed => "tag-good",
            LoopState::Measuring | LoopState::NotStarted => "tag-muted",
        }
    }
}

/// A value with its unit, as people read it: "70%", "1200 EUR", "35 learners".
pub fn with_unit(value: Decimal, unit: MetricUnit, label: &str) -> String {
    let value = value.normalize();
    let label = label.trim();
    match unit {
        MetricUnit::Percent => format!("{value}%"),
        _ if label.is_empty() => value.to_string(),
        _ => format!("{value} {label}"),
    }
}

/// The outcome in one line: "Search success rate from 70% to 90% by 30 Jun 2026", or
/// "Checkout p95 latency stays within 0 s to 1.2 s by 30 Jun 2026".
pub fn sentence(
    metric: &str,
    unit: MetricUnit,
    label: &str,
    baseline: Decimal,
    goal: &Goal,
    by: NaiveDate,
) -> String {
    let by = by.format("%-d %b %Y");
    let metric = metric.trim();
    match *goal {
        Goal::Increase { target } | Goal::Decrease { target } => format!(
            "{metric} from {} to {} by {by}",
            with_unit(baseline, unit, label),
            with_unit(target, unit, label)
        ),
        Goal::StayWithin { lower, upper } => format!(
            "{metric} stays within {} to {} by {by}",
            with_unit(lower, unit, label),
            with_unit(upper, unit, label)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn loop_state_follows_the_first_rule_that_holds() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let on = |m: u32, d: u32| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let state = |closed, cancelled, delivered, by| {
            LoopState::of(closed, cancelled, delivered, by, today)
        };
        assert_eq!(state(false, true, true, on(6, 1)), None);
        assert_eq!(state(true, false, true, on(6, 1)), Some(LoopState::Closed));
        assert_eq!(
            state(false, false, false, on(6, 14)),
            Some(LoopState::Overdue)
        );
        assert_eq!(
            state(false, false, false, on(6, 15)),
            Some(LoopState::DueSoon)
        );
        assert_eq!(
            state(false, false, false, on(6, 29)),
            Some(LoopState::DueSoon)
        );
        assert_eq!(
            state(false, false, true, on(6, 30)),
            Some(LoopState::Measuring)
        );
        assert_eq!(
            state(false, false, false, on(6, 30)),
            Some(LoopState::NotStarted)
        );
    }

    #[test]
    fn values_are_decimals_typed_the_way_people_type_them() {
        assert_eq!(parse_value("70", "baseline"), Ok(d("70")));
        assert_eq!(parse_value(" 70% ", "baseline"), Ok(d("70")));
        assert_eq!(parse_value("-3.50", "baseline"), Ok(d("-3.5")));
        assert_eq!(parse_value("0.000001", "baseline"), Ok(d("0.000001")));
        for bad in [
            "",
            "abc",
            "1e9",
            "NaN",
            "inf",
            "1,5",
            "1.",
            ".5",
            "--1",
            "1.0000001",
            "123456789012345",
        ] {
            assert!(
                parse_value(bad, "baseline").is_err(),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(parse_value("", "target"), Err("Enter the target".into()));
    }

    #[test]
    fn a_target_must_move_from_the_baseline_in_the_stated_direction() {
        assert_eq!(
            Goal::new(Direction::Increase, d("70"), Some(d("90")), None),
            Ok(Goal::Increase { target: d("90") })
        );
        assert_eq!(
            Goal::new(Direction::Increase, d("70"), Some(d("70")), None)
                .unwrap_err()
                .0,
            "target"
        );
        assert!(
            Goal::new(Direction::Increase, d("70"), Some(d("60")), None)
                .unwrap_err()
                .1
                .contains("above the baseline")
        );
        assert_eq!(
            Goal::new(Direction::Decrease, d("2.5"), Some(d("1.2")), None),
            Ok(Goal::Decrease { target: d("1.2") })
        );
        assert!(
            Goal::new(Direction::Decrease, d("2.5"), Some(d("3")), None)
                .unwrap_err()
                .1
                .contains("below the baseline")
        );
        assert_eq!(
            Goal::new(Direction::Increase, d("1"), None, None).unwrap_err(),
            ("target", "Enter the target".into())
        );
    }

    #[test]
    fn a_band_must_have_its_bounds_in_order() {
        assert_eq!(
            Goal::new(
                Direction::StayWithin,
                d("1"),
                None,
                Some((d("0"), d("1.2")))
            ),
            Ok(Goal::StayWithin {
                lower: d("0"),
                upper: d("1.2")
            })
        );
        assert_eq!(
            Goal::new(Direction::StayWithin, d("1"), None, Some((d("2"), d("1"))))
                .unwrap_err()
                .0,
            "band_upper"
        );
        assert_eq!(
            Goal::new(Direction::StayWithin, d("1"), None, None)
                .unwrap_err()
                .0,
            "band_lower"
        );
    }

    #[test]
    fn progress_is_direction_aware_and_clamped() {
        let up = Goal::Increase { target: d("90") };
        assert_eq!(up.progress(d("70"), d("80")), d("0.5"));
        assert_eq!(
            up.progress(d("70"), d("95")),
            Decimal::ONE,
            "beyond the target counts as done"
        );
        assert_eq!(
            up.progress(d("70"), d("60")),
            Decimal::ZERO,
            "going backwards counts as nothing"
        );
        let down = Goal::Decrease { target: d("1.2") };
        assert_eq!(down.progress(d("2.0"), d("1.6")), d("0.5"));
        assert_eq!(down.progress(d("2.0"), d("1.0")), Decimal::ONE);
        let band = Goal::StayWithin {
            lower: d("0"),
            upper: d("1.2"),
        };
        assert_eq!(band.progress(d("1"), d("1.2")), Decimal::ONE);
        assert_eq!(band.progress(d("1"), d("1.3")), Decimal::ZERO);
    }

    #[test]
    fn the_proposed_verdict_follows_the_latest_measurement() {
        let up = Goal::Increase { target: d("90") };
        assert_eq!(
            proposed_verdict(&up, d("70"), Some(d("90"))),
            Verdict::Achieved
        );
        assert_eq!(
            proposed_verdict(&up, d("70"), Some(d("80"))),
            Verdict::PartiallyAchieved,
            "progress 0.5"
        );
        assert_eq!(
            proposed_verdict(&up, d("70"), Some(d("79.9"))),
            Verdict::NotAchieved
        );
        assert_eq!(proposed_verdict(&up, d("70"), None), Verdict::Inconclusive);
        let down = Goal::Decrease { target: d("1.2") };
        assert_eq!(
            proposed_verdict(&down, d("2.0"), Some(d("1.1"))),
            Verdict::Achieved
        );
        assert_eq!(
            proposed_verdict(&down, d("2.0"), Some(d("2.5"))),
            Verdict::NotAchieved
        );
        let band = Goal::StayWithin {
            lower: d("0"),
            upper: d("1.2"),
        };
        assert_eq!(
            proposed_verdict(&band, d("1"), Some(d("1.0"))),
            Verdict::Achieved
        );
        assert_eq!(
            proposed_verdict(&band, d("1"), Some(d("1.5"))),
            Verdict::NotAchieved
        );
    }

    #[test]
    fn the_sentence_reads_like_the_seed_examples() {
        let by = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let up = Goal::Increase { target: d("90") };
        assert_eq!(
            sentence(
                "Search success rate",
                MetricUnit::Percent,
                "",
                d("70"),
                &up,
                by
            ),
            "Search success rate from 70% to 90% by 30 Jun 2026"
        );
        let band = Goal::StayWithin {
            lower: d("0"),
            upper: d("1.2"),
        };
        assert_eq!(
            sentence(
                "Checkout p95 latency",
                MetricUnit::Duration,
                "s",
                d("1"),
                &band,
                by
            ),
            "Checkout p95 latency stays within 0 s to 1.2 s by 30 Jun 2026"
        );
        assert_eq!(
            with_unit(d("10000.00"), MetricUnit::Custom, "learners"),
            "10000 learners"
        );
    }

    #[test]
    fn a_metric_key_is_lowercased_and_keeps_to_letters_digits_dots_underscores_and_hyphens() {
        assert_eq!(
            MetricKey::parse(" Onboarding.Completion_rate-7d ").map(|k| k.0),
            Ok("onboarding.completion_rate-7d".to_string())
        );
        assert_eq!(MetricKey::parse_optional("  "), Ok(None));
        for bad in [
            ".starts-with-dot",
            "has space",
            "émoji",
            "a/b",
            &"x".repeat(121),
        ] {
            assert!(MetricKey::parse(bad).is_err(), "{bad}");
        }
    }
}
