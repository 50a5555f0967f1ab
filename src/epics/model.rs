//! Epic domain types: work types, the status flow, and the definition of ready.

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
