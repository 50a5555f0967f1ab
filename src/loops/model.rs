//! Closing the loop, as DOMAIN.md's rules define it: the goal a verdict is judged against
//! (the committed one, not a later revision), the next step after a loop closes, and the
//! rules a closing must meet.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::outcomes::model::{Direction, Goal, Verdict, proposed_verdict};

text_enum! {
    /// What the team does next with what it learned.
    pub enum NextStep (error = "Choose the next step: iterate, pivot, stop or scale") {
        Iterate = ("iterate", "Iterate"),
        Pivot = ("pivot", "Pivot"),
        Stop = ("stop", "Stop"),
        Scale = ("scale", "Scale"),
    }
}

/// What an outcome committed to: the baseline, goal and date verdicts are judged against.
#[derive(Debug, Clone, PartialEq)]
pub struct Commitment {
    pub baseline: Decimal,
    pub goal: Goal,
    pub measure_by: NaiveDate,
}

impl Commitment {
    /// The commitment as stored with a verdict (and as revisions record it).
    pub fn to_json(&self) -> Value {
        let (target, lower, upper) = match self.goal {
            Goal::Increase { target } | Goal::Decrease { target } => (Some(target), None, None),
            Goal::StayWithin { lower, upper } => (None, Some(lower), Some(upper)),
        };
        let n = |v: Option<Decimal>| v.map(|d| d.normalize());
        serde_json::json!({
            "direction": self.goal.direction().as_str(), "baseline": self.baseline.normalize(),
            "target": n(target), "band_lower": n(lower), "band_upper": n(upper), "measure_by": self.measure_by,
        })
    }

    /// Reads a commitment as `to_json` (or an outcome revision's `before`) wrote it.
    pub fn from_json(value: &Value) -> Option<Commitment> {
        let number = |key: &str| -> Option<Decimal> {
            match value.get(key)? {
                Value::String(s) => s.parse().ok(),
                Value::Number(n) => n.to_string().parse().ok(),
                _ => None,
            }
        };
        let direction = Direction::parse(value.get("direction")?.as_str()?).ok()?;
        let baseline = number("baseline")?;
        let band = number("band_lower").zip(number("band_upper"));
        let goal = Goal::new(direction, baseline, number("target"), band).ok()?;
        let measure_by = value.get("measure_by")?.as_str()?.parse().ok()?;
        Some(Commitment {
            baseline,
            goal,
            measure_by,
        })
    }

    /// The verdict Yardstick proposes from the latest measurement, if any.
    pub fn proposal(&self, latest: Option<Decimal>) -> Verdict {
        proposed_verdict(&self.goal, self.baseline, latest)
    }
}

/// A closing as typed, checked against DOMAIN.md's rules; each problem names its field.
pub struct Closing<'a> {
    pub verdict: &'a str,
    pub reason: &'a str,
    pub learnings: &'a str,
    pub next_step: &'a str,
    /// The proposal from the latest measurement (inconclusive without one).
    pub proposed: Verdict,
    pub measured: bool,
}

/// A closing that meets the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidClosing {
    pub verdict: Verdict,
    pub reason: String,
    pub learnings: String,
    pub next_step: NextStep,
}

impl Closing<'_> {
    pub fn check(&self) -> Result<ValidClosing, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let verdict = match Verdict::parse(self.verdict) {
            Ok(v) => Some(v),
            Err(message) => {
                errors.push(("verdict", message));
                None
            }
        };
        let reason = self.reason.trim().to_string();
        match verdict {
            Some(v) if !self.measured && v != Verdict::Inconclusive => errors.push((
                "verdict",
                "Without any measurement the loop can only close as inconclusive: record a measurement first, or say why it cannot be measured".to_string(),
            )),
            Some(Verdict::Inconclusive) if reason.is_empty() => errors.push((
                "reason",
                "Say why the result is inconclusive".to_string(),
            )),
            Some(v) if v != self.proposed && reason.is_empty() => errors.push((
                "reason",
                format!(
                    "The latest measurement proposes “{}”: say why the verdict is different",
                    self.proposed.label().to_lowercase()
                ),
            )),
            _ => {}
        }
        if reason.chars().count() > 2_000 {
            errors.push((
                "reason",
                "The reason must be 2000 characters or fewer".to_string(),
            ));
        }
        let learnings = self.learnings.trim().to_string();
        if learnings.is_empty() {
            errors.push((
                "learnings",
                "Write what you learned: why it worked or did not".to_string(),
            ));
        } else if learnings.chars().count() > 10_000 {
            errors.push((
                "learnings",
                "The learnings must be 10000 characters or fewer".to_string(),
            ));
        }
        let next_step = match NextStep::parse(self.next_step) {
            Ok(step) => Some(step),
            Err(message) => {
                errors.push(("next_step", message));
                None
            }
        };
        match (verdict, next_step) {
            (Some(verdict), Some(next_step)) if errors.is_empty() => Ok(ValidClosing {
                verdict,
                reason,
                learnings,
                next_step,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn search() -> Commitment {
        Commitment {
            baseline: d("70"),
            goal: Goal::Increase { target: d("90") },
            measure_by: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        }
    }

    #[test]
    fn a_commitment_reads_back_what_it_wrote_and_what_revisions_recorded() {
        let c = search();
        assert_eq!(Commitment::from_json(&c.to_json()), Some(c.clone()));
        let revision_before = serde_json::json!({
            "direction": "decrease", "baseline": "800", "target": "300", "band_lower": null,
            "band_upper": null, "measure_by": "2026-09-30",
        });
        let read = Commitment::from_json(&revision_before).unwrap();
        assert_eq!(read.goal, Goal::Decrease { target: d("300") });
    }

    #[test]
    fn the_proposal_follows_the_latest_measurement_against_the_commitment() {
        let c = search();
        assert_eq!(c.proposal(Some(d("91"))), Verdict::Achieved);
        assert_eq!(c.proposal(Some(d("80"))), Verdict::PartiallyAchieved);
        assert_eq!(c.proposal(Some(d("75"))), Verdict::NotAchieved);
        assert_eq!(c.proposal(None), Verdict::Inconclusive);
    }

    fn closing<'a>(verdict: &'a str, reason: &'a str, measured: bool) -> Closing<'a> {
        Closing {
            verdict,
            reason,
            learnings: "Index split helped; synonyms did not.",
            next_step: "iterate",
            proposed: if measured {
                Verdict::PartiallyAchieved
            } else {
                Verdict::Inconclusive
            },
            measured,
        }
    }

    fn fields(result: Result<ValidClosing, Vec<(&'static str, String)>>) -> Vec<&'static str> {
        result.unwrap_err().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn confirming_the_proposal_needs_no_reason_but_overriding_it_does() {
        assert!(closing("partially_achieved", "", true).check().is_ok());
        assert_eq!(fields(closing("achieved", "", true).check()), ["reason"]);
        assert!(
            closing("achieved", "The March cohort was counted late", true)
                .check()
                .is_ok()
        );
    }

    #[test]
    fn without_a_measurement_only_inconclusive_with_a_reason_closes() {
        assert_eq!(
            fields(closing("achieved", "sure", false).check()),
            ["verdict"]
        );
        assert_eq!(
            fields(closing("inconclusive", "", false).check()),
            ["reason"]
        );
        assert!(
            closing("inconclusive", "The event was never tracked", false)
                .check()
                .is_ok()
        );
    }

    #[test]
    fn learnings_and_a_next_step_are_required() {
        let mut c = closing("partially_achieved", "", true);
        c.learnings = "  ";
        c.next_step = "";
        assert_eq!(fields(c.check()), ["learnings", "next_step"]);
    }
}
