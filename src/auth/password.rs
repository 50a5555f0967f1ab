//! Passwords: Argon2id (19 MiB, 2 passes, 1 lane — OWASP's minimum), hashed and verified on
//! the blocking pool so sign-ins never stall the async runtime.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// A new password that meets the rules: 12 to 128 characters.
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl NewPassword {
    pub fn parse(
        password: &str,
        confirmation: &str,
    ) -> Result<NewPassword, (&'static str, String)> {
        let length = password.chars().count();
        if length == 0 {
            return Err(("password", "Enter a password".into()));
        }
        if length < 12 {
            return Err((
                "password",
                "Use at least 12 characters: a few words you can remember work well".into(),
            ));
        }
        if length > 128 {
            return Err(("password", "Use 128 characters or fewer".into()));
        }
        if password != confirmation {
            return Err(("confirmation", "The two passwords are not the same".into()));
        }
        Ok(NewPassword(password.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` (e.g. `$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Hashes without the runtime (CLI, demo).
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    Ok(hash.to_string())
}

/// A hash of nothing anyone knows: verified against when the email is unknown, so an
/// unknown email takes as long to refuse as a wrong password.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7cbrkzwiYf1l6TjN0IjEu7FkVvhAHwAPczwsx0wOPGk";

/// Whether `password` matches `stored` (or, with no stored hash, spends the same time and
/// says no).
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_string();
    let stored = stored.unwrap_or(DECOY).to_string();
    let known = stored != DECOY;
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_twelve_characters_and_a_matching_confirmation() {
        assert!(NewPassword::parse("correct horse battery", "correct horse battery").is_ok());
        assert_eq!(NewPassword::parse("", "").unwrap_err().0, "password");
        assert!(
            NewPassword::parse("short", "short")
                .unwrap_err()
                .1
                .contains("at least 12")
        );
        assert_eq!(
            NewPassword::parse("correct horse battery", "correct horse")
                .unwrap_err()
                .0,
            "confirmation"
        );
        assert!(
            format!(
                "{:?}",
                NewPassword::parse("correct horse battery", "correct horse battery").unwrap()
            )
            .contains('…')
        );
    }

    #[test]
    fn hashes_are_argon2id_with_19_mib_and_two_passes() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[tokio::test]
    async fn verification_accepts_the_password_only() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(verify("correct horse battery", Some(&hash)).await);
        assert!(!verify("correct horse batteries", Some(&hash)).await);
        assert!(!verify("correct horse battery", None).await);
        assert!(
            PasswordHash::new(DECOY).is_ok(),
            "the decoy is a real hash, so it costs as much"
        );
    }
}
