//! OKR domain types and maths (DOMAIN.md, Rules): objective status, where a key result's
//! progress comes from, the confidence bands, progress rolled up through the cascade, and
//! when a check-in is due.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

text_enum! {
    /// Where an objective is: drafted, worked on during its period, closed with the period.
    pub enum ObjectiveStatus (error = "Choose a status") {
        Draft = ("draft", "Draft"),
        Active = ("active", "Active"),
        Closed = ("closed", "Closed"),
    }
}

text_enum! {
    /// Where a key result's current value and progress come from.
    pub enum ProgressSource (error = "Choose where the key result's progress comes from") {
        CheckIns = ("check_ins", "Its own check-ins"),
        RollUp = ("roll_up", "Rolled up from the objectives cascaded from it"),
        Outcome = ("outcome", "The latest measurement of a linked anticipated outcome"),
    }
}

/// DOMAIN.md's one confidence scale, 0–10, in three bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfidenceBand {
    OffTrack,
    AtRisk,
    OnTrack,
}

impl ConfidenceBand {
    /// 0–3 off track, 4–6 at risk, 7–10 on track.
    pub fn of(confidence: i16) -> ConfidenceBand {
        match confidence {
            i16::MIN..=3 => ConfidenceBand::OffTrack,
            4..=6 => ConfidenceBand::AtRisk,
            _ => ConfidenceBand::OnTrack,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConfidenceBand::OffTrack => "Off track",
            ConfidenceBand::AtRisk => "At risk",
            ConfidenceBand::OnTrack => "On track",
        }
    }

    /// The CSS class that colours it (with text, never colour alone).
    pub fn class(self) -> &'static str {
        match self {
            ConfidenceBand::OffTrack => "confidence-off",
            ConfidenceBand::AtRisk => "confidence-risk",
            ConfidenceBand::OnTrack => "confidence-on",
        }
    }
}

/// A key result as the roll-up sees it.
#[derive(Debug, Clone)]
pub struct KrNode {
    pub id: Uuid,
    pub objective_id: Uuid,
    pub weight: Decimal,
    pub rolled_up: bool,
    /// Progress from its own source (check-ins or a linked outcome), 0–1; None before any
    /// value is known.
    pub own: Option<Decimal>,
}

/// Progress of every objective and key result given, computed bottom-up through the
/// cascade: a rolled-up key result takes the mean progress of the objectives cascaded from
/// it (its own value when none is); an objective takes the weighted mean of its key
/// results (0 without any). `parents` maps each objective to the key result it was
/// cascaded from.
#[derive(Debug, Default)]
pub struct Progress {
    pub objectives: HashMap<Uuid, Decimal>,
    pub key_results: HashMap<Uuid, Decimal>,
}

impl Progress {
    pub fn compute(objectives: &[(Uuid, Option<Uuid>)], key_results: &[KrNode]) -> Progress {
        Progress::compute_with(HashMap::new(), objectives, key_results)
    }

    /// As `compute`, with the progress of some objectives already `known` (kept by the
    /// dashboard's roll-up): their key results and what is cascaded beneath them are not
    /// needed.
    pub fn compute_with(
        known: HashMap<Uuid, Decimal>,
        objectives: &[(Uuid, Option<Uuid>)],
        key_results: &[KrNode],
    ) -> Progress {
        let mut by_objective: HashMap<Uuid, Vec<&KrNode>> = HashMap::new();
        for kr in key_results {
            by_objective.entry(kr.objective_id).or_default().push(kr);
        }
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (objective, parent) in objectives {
            if let Some(parent) = parent {
                children.entry(*parent).or_default().push(*objective);
            }
        }
        let mut progress = Progress {
            objectives: known,
            key_results: HashMap::new(),
        };
        let mut visiting = HashSet::new();
        for (objective, _) in objectives {
            progress.objective(*objective, &by_objective, &children, &mut visiting);
        }
        progress
    }

    fn objective(
        &mut self,
        id: Uuid,
        by_objective: &HashMap<Uuid, Vec<&KrNode>>,
        children: &HashMap<Uuid, Vec<Uuid>>,
        visiting: &mut HashSet<Uuid>,
    ) -> Decimal {
        if let Some(done) = self.objectives.get(&id) {
            return *done;
        }
        // A loop cannot be stored; should one appear, it counts as no progress.
        if !visiting.insert(id) {
            return Decimal::ZERO;
        }
        let mut weighted = Decimal::ZERO;
        let mut weights = Decimal::ZERO;
        for kr in by_objective.get(&id).map(Vec::as_slice).unwrap_or_default() {
            let p = self.key_result(kr, by_objective, children, visiting);
            weighted += p * kr.weight;
            weights += kr.weight;
        }
        let result = if weights.is_zero() {
            Decimal::ZERO
        } else {
            weighted / weights
        };
        visiting.remove(&id);
        self.objectives.insert(id, result);
        result
    }

    fn key_result(
        &mut self,
        kr: &KrNode,
        by_objective: &HashMap<Uuid, Vec<&KrNode>>,
        children: &HashMap<Uuid, Vec<Uuid>>,
        visiting: &mut HashSet<Uuid>,
    ) -> Decimal {
        if let Some(done) = self.key_results.get(&kr.id) {
            return *done;
        }
        let cascaded = children.get(&kr.id).map(Vec::as_slice).unwrap_or_default();
        let result = if kr.rolled_up && !cascaded.is_empty() {
            let sum: Decimal = cascaded
                .iter()
                .map(|o| self.objective(*o, by_objective, children, visiting))
                .sum();
            sum / Decimal::from(cascaded.len())
        } else {
            kr.own.unwrap_or_default()
        };
        self.key_results.insert(kr.id, result);
        result
    }

    pub fn of_objective(&self, id: &Uuid) -> Decimal {
        self.objectives.get(id).copied().unwrap_or_default()
    }

    pub fn of_key_result(&self, id: &Uuid) -> Decimal {
        self.key_results.get(id).copied().unwrap_or_default()
    }
}

/// A 0–1 progress as a whole percentage: "42%".
pub fn percent(progress: Decimal) -> String {
    format!("{}%", (progress * Decimal::ONE_HUNDRED).round())
}

/// Whether a key result is due for a check-in: its last check-in (or, before any, the day
/// it was set) is more than `cadence_days` before today.
pub fn check_in_due(since: NaiveDate, today: NaiveDate, cadence_days: i32) -> bool {
    (today - since).num_days() > i64::from(cadence_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn kr(id: u128, objective: u128, weight: &str, rolled_up: bool, own: Option<&str>) -> KrNode {
        KrNode {
            id: Uuid::from_u128(id),
            objective_id: Uuid::from_u128(objective),
            weight: d(weight),
            rolled_up,
            own: own.map(d),
        }
    }

    #[test]
    fn confidence_bands_follow_the_one_scale() {
        assert_eq!(ConfidenceBand::of(0), ConfidenceBand::OffTrack);
        assert_eq!(ConfidenceBand::of(3), ConfidenceBand::OffTrack);
        assert_eq!(ConfidenceBand::of(4), ConfidenceBand::AtRisk);
        assert_eq!(ConfidenceBand::of(6), ConfidenceBand::AtRisk);
        assert_eq!(ConfidenceBand::of(7), ConfidenceBand::OnTrack);
        assert_eq!(ConfidenceBand::of(10).label(), "On track");
    }

    #[test]
    fn an_objective_is_the_weighted_mean_of_its_key_results() {
        let o = Uuid::from_u128(1);
        let progress = Progress::compute(
            &[(o, None)],
            &[
                kr(10, 1, "1", false, Some("1")),
                kr(11, 1, "3", false, Some("0.2")),
                kr(12, 1, "1", false, None),
            ],
        );
        // (1 × 1 + 0.2 × 3 + 0 × 1) ÷ 5 = 0.32
        assert_eq!(progress.of_objective(&o), d("0.32"));
        assert_eq!(percent(progress.of_objective(&o)), "32%");
    }

    #[test]
    fn a_rolled_up_key_result_follows_the_objectives_cascaded_from_it_three_levels_down() {
        // Company objective 1 ← KR 10 (rolled up) ← division objectives 2 and 3;
        // objective 2 ← KR 20 (rolled up) ← team objective 4 with KR 40 at 0.9.
        let (company, division_a, division_b, team) = (1, 2, 3, 4);
        let ids = |n: u128| Uuid::from_u128(n);
        let progress = Progress::compute(
            &[
                (ids(company), None),
                (ids(division_a), Some(ids(10))),
                (ids(division_b), Some(ids(10))),
                (ids(team), Some(ids(20))),
            ],
            &[
                kr(10, company, "1", true, Some("0")),
                kr(20, division_a, "1", true, None),
                kr(30, division_b, "1", false, Some("0.5")),
                kr(40, team, "1", false, Some("0.9")),
            ],
        );
        assert_eq!(progress.of_key_result(&ids(20)), d("0.9"));
        assert_eq!(progress.of_objective(&ids(division_a)), d("0.9"));
        // (0.9 + 0.5) ÷ 2
        assert_eq!(progress.of_key_result(&ids(10)), d("0.7"));
        assert_eq!(progress.of_objective(&ids(company)), d("0.7"));
    }

    #[test]
    fn a_rolled_up_key_result_without_cascades_keeps_its_own_value() {
        let progress = Progress::compute(
            &[(Uuid::from_u128(1), None)],
            &[kr(10, 1, "1", true, Some("0.4"))],
        );
        assert_eq!(progress.of_key_result(&Uuid::from_u128(10)), d("0.4"));
    }

    #[test]
    fn a_check_in_is_due_once_the_cadence_has_passed() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
        assert!(
            !check_in_due(day(1), day(8), 7),
            "exactly a week is not late"
        );
        assert!(check_in_due(day(1), day(9), 7));
    }
}
