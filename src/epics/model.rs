//! Epic domain types: work types, the status flow, and the definition of ready.

use rust_decimal::Decimal;

use crate::outcomes::model::parse_value;

text_enum! {
    /// The type of work: every type starts from an anticipated outcome, not only features.
    pub enum WorkType (error = "Choose the type of work") {
        Feature = ("feature", "Feature"),
        TechDebt = ("tech_debt", "Technical debt"),
        Defect = ("defect", "Defect"),
        Risk = ("risk", "Risk"),
    }
}

impl WorkType {
    /// Whose the epic usually is (DOMAIN.md, move 4): product managers own feature outcomes,
    /// tech leads those of technical debt, defects and risks.
    pub fn usual_owner(self) -> crate::org::model::MemberRole {
        match self {
            WorkType::Feature => crate::org::model::MemberRole::ProductManager,
            _ => crate::org::model::MemberRole::TechLead,
        }
    }
}

text_enum! {
    /// Where an epic is: draft → ready → in progress → delivered → measuring → closed, or
    /// cancelled.
    pub enum EpicStatus (error = "Choose a status") {
        Draft = ("draft", "Draft"),
        Ready = ("ready", "Ready"),
        InProgress = ("in_progress", "In progress"),
        Delivered = ("delivered", "Delivered"),
        Measuring = ("measuring", "Measuring"),
        Closed = ("closed", "Closed"),
        Cancelled = ("cancelled", "Cancelled"),
    }
}

impl EpicStatus {
    /// The statuses a person may move the epic to from this one. Closing happens when every
    /// outcome's loop is closed; delivery moves on to measuring by itself.
    pub fn next_steps(self) -> &'static [EpicStatus] {
        use EpicStatus::*;
        match self {
            Draft => &[Ready, Cancelled],
            Ready => &[InProgress, Draft, Cancelled],
            InProgress => &[Delivered, Ready, Cancelled],
            Delivered | Measuring => &[],
            Closed => &[],
            Cancelled => &[Draft],
        }
    }

    /// Whether work has been committed to (the definition of ready must hold).
    pub fn needs_ready_work(self) -> bool {
        matches!(self, EpicStatus::Ready | EpicStatus::InProgress)
    }
}

/// What an epic lacks before it may become ready or start: the page lists each item with a
/// link to where to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// No owner, or the owner is inactive.
    ActiveOwner,
    /// No complete, measurable anticipated outcome.
    Outcome,
}

impl NotReady {
    pub fn message(self) -> &'static str {
        match self {
            NotReady::ActiveOwner => "It needs one accountable owner who is an active person.",
            NotReady::Outcome => {
                "It needs at least one measurable anticipated outcome: what result it should change, from what baseline, to what target, by when."
            }
        }
    }
}

/// The definition of ready (for features, technical debt, defects and risks alike): an
/// active owner and at least one complete anticipated outcome. Outcomes are only stored
/// complete (the database refuses one without baseline, goal and date), so counting them is
/// enough.
pub fn definition_of_ready(owner_active: bool, outcomes: i64) -> Vec<NotReady> {
    let mut missing = Vec::new();
    if !owner_active {
        missing.push(NotReady::ActiveOwner);
    }
    if outcomes < 1 {
        missing.push(NotReady::Outcome);
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epic_moves_forward_through_its_flow_and_can_be_cancelled_until_delivered() {
        assert_eq!(
            EpicStatus::Draft.next_steps(),
            &[EpicStatus::Ready, EpicStatus::Cancelled]
        );
        assert!(
            EpicStatus::InProgress
                .next_steps()
                .contains(&EpicStatus::Delivered)
        );
        assert!(
            EpicStatus::Delivered.next_steps().is_empty(),
            "delivery moves on to measuring by itself"
        );
        assert!(
            !EpicStatus::Ready.next_steps().contains(&EpicStatus::Closed),
            "closing follows the loops"
        );
        assert_eq!(EpicStatus::Cancelled.next_steps(), &[EpicStatus::Draft]);
    }

    #[test]
    fn the_definition_of_ready_needs_an_active_owner_and_an_outcome() {
        assert_eq!(definition_of_ready(true, 1), vec![]);
        assert_eq!(definition_of_ready(false, 1), vec![NotReady::ActiveOwner]);
        assert_eq!(definition_of_ready(true, 0), vec![NotReady::Outcome]);
        assert_eq!(
            definition_of_ready(false, 0),
            vec![NotReady::ActiveOwner, NotReady::Outcome]
        );
        assert!(EpicStatus::Ready.needs_ready_work() && EpicStatus::InProgress.needs_ready_work());
        assert!(!EpicStatus::Draft.needs_ready_work());
    }

    #[test]
    fn feature_epics_are_usually_owned_by_product_managers_and_the_rest_by_tech_leads() {
        use crate::org::model::MemberRole;
        assert_eq!(WorkType::Feature.usual_owner(), MemberRole::ProductManager);
        for other in [WorkType::TechDebt, WorkType::Defect, WorkType::Risk] {
            assert_eq!(other.usual_owner(), MemberRole::TechLead);
        }
    }
}

/// What ranks an epic in its team's backlog: anticipated value (with its label), confidence
/// (0–10) and effort in team-weeks. Each may be unknown for a while.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Priority {
    pub value: Option<Decimal>,
    pub value_label: String,
    pub confidence: Option<i16>,
    pub effort: Option<Decimal>,
}

/// Largest effort accepted, in team-weeks (NUMERIC(8, 2)).
const MAX_EFFORT: i64 = 999_999;

impl Priority {
    /// Reads the four fields as typed; each problem is named with its field.
    pub fn parse(
        value: &str,
        value_label: &str,
        confidence: &str,
        effort: &str,
    ) -> Result<Priority, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let optional =
            |text: &str, what: &str| (!text.trim().is_empty()).then(|| parse_value(text, what));
        let value = match optional(value, "anticipated value") {
            Some(Ok(v)) if v < Decimal::ZERO => {
                errors.push((
                    "value",
                    "The anticipated value cannot be negative".to_string(),
                ));
                None
            }
            Some(Ok(v)) => Some(v),
            Some(Err(message)) => {
                errors.push(("value", message));
                None
            }
            None => None,
        };
        let label = value_label.trim();
        if label.chars().count() > 60 {
            errors.push((
                "value_label",
                "The label must be 60 characters or fewer".to_string(),
            ));
        }
        let confidence = match confidence.trim() {
            "" => None,
            text => match text.parse::<i16>() {
                Ok(c) if (0..=10).contains(&c) => Some(c),
                _ => {
                    errors.push(("confidence", "Choose a confidence from 0 to 10".to_string()));
                    None
                }
            },
        };
        let effort = match optional(effort, "effort") {
            Some(Ok(e)) if e <= Decimal::ZERO => {
                errors.push((
                    "effort_weeks",
                    "The effort must be more than 0 team-weeks".to_string(),
                ));
                None
            }
            Some(Ok(e)) if e.scale() > 2 || e > Decimal::from(MAX_EFFORT) => {
                errors.push((
                    "effort_weeks",
                    "The effort takes at most 2 decimals, like 3 or 2.5 team-weeks".to_string(),
                ));
                None
            }
            Some(Ok(e)) => Some(e),
            Some(Err(message)) => {
                errors.push(("effort_weeks", message));
                None
            }
            None => None,
        };
        if errors.is_empty() {
            Ok(Priority {
                value,
                value_label: label.to_string(),
                confidence,
                effort,
            })
        } else {
            Err(errors)
        }
    }

    /// Anticipated value × confidence ÷ 10 ÷ effort, when all three are known.
    pub fn score(&self) -> Option<Decimal> {
        let (value, confidence, effort) = (self.value?, self.confidence?, self.effort?);
        Some(value * Decimal::from(confidence) / Decimal::TEN / effort)
    }

    /// The inputs still unknown, as people name them.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.value.is_none() {
            missing.push("anticipated value");
        }
        if self.confidence.is_none() {
            missing.push("confidence");
        }
        if self.effort.is_none() {
            missing.push("effort");
        }
        missing
    }

    /// The score with its parts: "120 × 7 ÷ 10 ÷ 4 = 21".
    pub fn explained(&self) -> Option<String> {
        let score = self.score()?;
        Some(format!(
            "{} × {} ÷ 10 ÷ {} = {}",
            self.value?.normalize(),
            self.confidence?,
            self.effort?.normalize(),
            score.round_dp(2).normalize()
        ))
    }
}

/// Confidence 0–10 as a select's options, with DOMAIN.md's bands.
pub fn confidence_options() -> Vec<(String, String)> {
    (0..=10)
        .map(|c| {
            let band = match c {
                0..=3 => "low",
                4..=6 => "medium",
                _ => "high",
            };
            (c.to_string(), format!("{c} ({band})"))
        })
        .collect()
}

#[cfg(test)]
mod priority_tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_score_is_value_times_confidence_over_ten_over_effort() {
        let p = Priority::parse("120", "revenue per quarter (kEUR)", "7", "4").unwrap();
        assert_eq!(p.score(), Some(d("21")));
        assert_eq!(p.explained().unwrap(), "120 × 7 ÷ 10 ÷ 4 = 21");
        let thirds = Priority::parse("10", "", "10", "3").unwrap();
        assert_eq!(thirds.explained().unwrap(), "10 × 10 ÷ 10 ÷ 3 = 3.33");
    }

    #[test]
    fn an_unknown_input_leaves_no_score_and_is_named() {
        let p = Priority::parse("120", "", "", "4").unwrap();
        assert_eq!(p.score(), None);
        assert_eq!(p.missing(), ["confidence"]);
        assert_eq!(
            Priority::default().missing(),
            ["anticipated value", "confidence", "effort"]
        );
    }

    #[test]
    fn inputs_out_of_range_are_refused_with_the_field_named() {
        let errors = Priority::parse("-5", "", "11", "0").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["value", "confidence", "effort_weeks"]);
        let errors = Priority::parse("ten", "", "7", "2.555").unwrap_err();
        assert_eq!(
            errors[0].1,
            "The anticipated value must be a number, like 70 or 12.5"
        );
        assert_eq!(errors[1].0, "effort_weeks");
    }
}
