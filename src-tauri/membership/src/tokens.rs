//! Random secrets, their hashes, opaque ids and password hashing.
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::{Error, Secret};

pub(crate) fn random_array<const N: usize>() -> [u8; N] {
    random_bytes()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    b
}

/// A new token: 32 random bytes, base64url without padding (43 characters).
pub(crate) fn new_token() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// What is stored instead of a token.
pub(crate) fn token_hash(token: &Secret) -> Vec<u8> {
    Sha256::digest(token.expose().as_bytes()).to_vec()
}

/// An opaque id such as `req_3q9f…`: a prefix saying what it is and 16 random bytes.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(random_bytes::<16>()))
}

pub(crate) fn hash_password(password: &Secret) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(Error::internal)?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Checks a password against a stored hash. With no hash (unknown account) it checks against a
/// fixed dummy hash, so an unknown email costs the same time as a wrong password.
pub(crate) fn verify_password(password: &Secret, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password(&new_token()).expect("hashing a random token succeeds"));
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.expose().len(), 43);
        assert!(a
            .expose()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b, "two tokens from the random source must differ");
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), a.expose().as_bytes());
    }

    #[test]
    fn password_hash_verifies_only_the_same_password() {
        let h = hash_password(&Secret::new("correct horse battery")).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(
            &Secret::new("correct horse battery"),
            Some(&h)
        ));
        assert!(!verify_password(
            &Secret::new("correct horse battery!"),
            Some(&h)
        ));
        assert!(!verify_password(&Secret::new("anything"), None));
    }
}
