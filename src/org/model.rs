//! Org-unit domain types: names, kinds, membership roles, and the tree shape pages render.

use uuid::Uuid;

text_enum! {
    /// The kind of a unit: company → divisions → teams, or something else.
    pub enum UnitKind (error = "Choose what kind of unit this is") {
        Company = ("company", "Company"),
        Division = ("division", "Division"),
        Team = ("team", "Team"),
        Other = ("other", "Other"),
    }
}

text_enum! {
    /// The role a person plays in a unit.
    pub enum MemberRole (error = "Choose the role this person plays in the unit") {
        ProductManager = ("product_manager", "Product manager"),
        TechLead = ("tech_lead", "Tech lead"),
        Engineer = ("engineer", "Engineer"),
        Leader = ("leader", "Leader"),
        Other = ("other", "Other"),
    }
}

/// A required short text (names, titles): trimmed, not empty, at most `max` characters.
pub fn required_text(value: &str, what: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("Enter {what}"));
    }
    if value.chars().count() > max {
        return Err(format!(
            "{} must be {max} characters or fewer",
            capitalise(what)
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{} cannot contain control characters",
            capitalise(what)
        ));
    }
    Ok(value.to_string())
}

fn capitalise(what: &str) -> String {
    let what = what
        .trim_start_matches("a ")
        .trim_start_matches("an ")
        .trim_start_matches("the ");
    let mut chars = what.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// An optional id from a form's select: empty means none.
pub fn optional_id(value: &str, message: &str) -> Result<Option<Uuid>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(value)
        .map(Some)
        .map_err(|_| message.to_string())
}

/// One row of a tree in display order (parents before children), with what the template
/// needs to open and close nested lists without recursion.
#[derive(Debug, Clone)]
pub struct TreeRow<T> {
    pub item: T,
    pub depth: usize,
    /// Opens a nested list for the children that follow.
    pub has_children: bool,
    /// How many nested lists close after this row.
    pub closes: usize,
}

/// Turns rows in depth-first order, each with its depth, into [`TreeRow`]s.
pub fn tree_rows<T>(rows: Vec<(T, usize)>) -> Vec<TreeRow<T>> {
    let depths: Vec<usize> = rows.iter().map(|(_, d)| *d).collect();
    rows.into_iter()
        .enumerate()
        .map(|(i, (item, depth))| {
            let next = depths.get(i + 1).copied();
            let has_children = next.is_some_and(|n| n > depth);
            let next_depth = next.unwrap_or(0).min(depth);
            let closes = if has_children { 0 } else { depth - next_depth };
            TreeRow {
                item,
                depth,
                has_children,
                closes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_empty_or_too_long() {
        assert_eq!(
            required_text("  Search  ", "a name", 120),
            Ok("Search".into())
        );
        assert_eq!(
            required_text("   ", "a name", 120),
            Err("Enter a name".into())
        );
        assert_eq!(
            required_text(&"x".repeat(121), "a name", 120),
            Err("Name must be 120 characters or fewer".into())
        );
        assert!(required_text("a\u{0}b", "a name", 120).is_err());
    }

    #[test]
    fn kinds_and_roles_parse_only_known_values() {
        assert_eq!(UnitKind::parse("team"), Ok(UnitKind::Team));
        assert!(UnitKind::parse("squad").is_err());
        assert_eq!(MemberRole::parse("tech_lead"), Ok(MemberRole::TechLead));
        assert!(MemberRole::parse("").is_err());
    }

    #[test]
    fn tree_rows_open_and_close_nested_lists_in_balance() {
        // company > (division A > (team 1, team 2), division B)
        let rows = tree_rows(vec![("company", 0), ("A", 1), ("1", 2), ("2", 2), ("B", 1)]);
        let shape: Vec<(bool, usize)> = rows.iter().map(|r| (r.has_children, r.closes)).collect();
        assert_eq!(
            shape,
            vec![(true, 0), (true, 0), (false, 0), (false, 1), (false, 1)]
        );
        let opened = rows.iter().filter(|r| r.has_children).count();
        let closed: usize = rows.iter().map(|r| r.closes).sum();
        assert_eq!(opened, closed);
    }
}
