//! People's domain types.

/// An email address, trimmed, checked for the shape `local@domain.tld`. Compared without
/// regard to case (the database's unique index is on `lower(email)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Email, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("Enter an email address".into());
        }
        let shape = "Enter an email address in the form name@example.com";
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(shape.into());
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(shape.into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || !domain_ok {
            return Err(shape.into());
        }
        Ok(Email(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_address_is_accepted_and_trimmed() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.org ")
                .unwrap()
                .as_str(),
            "Ada.Lovelace@Example.org"
        );
    }

    #[test]
    fn addresses_without_a_proper_domain_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "ada@.org",
            "ada@example.",
            "a b@example.org",
            "ada@ex..org",
            "a@b@c.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
