//! A page's lists read within one statement, each as a JSON column.
//!
//! Every statement is a round trip to PostgreSQL: about 0.09 ms of CPU between the server
//! and PostgreSQL even when the statement itself costs nothing (measured with the floor
//! page doing five more trivial statements: 0.42 to 0.87 ms a request). A page that reads
//! a record and its lists in one statement saves that for each list.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The rows of `select`, in its order, as one JSON array (`[]` when none): a column of a
/// page's statement, read with `#[sqlx(json)]` into a `Vec` of a type that derives
/// `Deserialize` with the select's column names. (An aggregate over a sorted subquery keeps
/// its order: nothing is joined or grouped after the sort.)
pub fn rows(select: &str) -> String {
    format!("(SELECT coalesce(json_agg(json_row), '[]') FROM ({select}) json_row)")
}

/// The first row of `select` as a JSON object, or `NULL`: read with
/// `#[sqlx(json(nullable))]` into an `Option`.
pub fn row(select: &str) -> String {
    format!("(SELECT to_json(json_row) FROM ({select}) json_row)")
}

/// A numeric as PostgreSQL wrote it, digits and scale kept: serde_json would read it as a
/// float, which holds 15 digits where `numeric(20, 6)` holds 20. For `#[serde(deserialize_with)]`.
pub fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    raw.get().parse().map_err(serde::de::Error::custom)
}

/// [`decimal`], or `None` for `null`.
pub fn optional_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
    raw.map(|raw| raw.get().parse().map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Values {
        #[serde(deserialize_with = "decimal")]
        exact: Decimal,
        #[serde(deserialize_with = "optional_decimal")]
        maybe: Option<Decimal>,
        #[serde(deserialize_with = "optional_decimal")]
        none: Option<Decimal>,
    }

    #[test]
    fn numerics_keep_every_digit_and_their_scale() {
        let values: Values = serde_json::from_str(
            r#"{"exact": 12345678901234.123456, "maybe": 57.500000, "none": null}"#,
        )
        .unwrap();
        assert_eq!(values.exact.to_string(), "12345678901234.123456");
        assert_eq!(values.maybe.unwrap().to_string(), "57.500000");
        assert_eq!(values.none, None);
    }
}
