//! Initiative domain types: the status flow.

text_enum! {
    /// Where an initiative is: proposed → active → done, or cancelled.
    pub enum InitiativeStatus (error = "Choose a status") {
        Proposed = ("proposed", "Proposed"),
        Active = ("active", "Active"),
        Done = ("done", "Done"),
        Cancelled = ("cancelled", "Cancelled"),
    }
}

impl InitiativeStatus {
    /// The statuses a person may move the initiative to from this one.
    pub fn next_steps(self) -> &'static [InitiativeStatus] {
        use InitiativeStatus::*;
        match self {
            Proposed => &[Active, Cancelled],
            Active => &[Done, Proposed, Cancelled],
            Done => &[Active],
            Cancelled => &[Proposed],
        }
    }

    /// What the button that moves an initiative here says.
    pub fn step_label(self) -> &'static str {
        match self {
            InitiativeStatus::Proposed => "Back to proposed",
            InitiativeStatus::Active => "Start",
            InitiativeStatus::Done => "Mark done",
            InitiativeStatus::Cancelled => "Cancel initiative",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_initiative_is_started_finished_or_cancelled_and_can_be_taken_back() {
        use InitiativeStatus::*;
        assert_eq!(Proposed.next_steps(), &[Active, Cancelled]);
        assert!(Active.next_steps().contains(&Done));
        assert!(!Done.next_steps().contains(&Cancelled));
        assert_eq!(Cancelled.next_steps(), &[Proposed]);
    }
}
