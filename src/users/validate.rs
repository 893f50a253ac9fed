//! Input rules for accounts; each error names the GraphQL field at fault.

use crate::error::{AppError, AppResult};

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_LENGTH: usize = 8;
/// Longest accepted password, in bytes (argon2 would take more; nobody needs it).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Username length bounds, in characters.
pub const USERNAME_LENGTH: std::ops::RangeInclusive<usize> = 3..=32;
/// Longest accepted email address.
pub const MAX_EMAIL_LENGTH: usize = 254;

/// 3–32 characters of `[A-Za-z0-9_.-]`.
pub fn username(field: &str, value: &str) -> AppResult<String> {
    let length = value.chars().count();
    if !USERNAME_LENGTH.contains(&length) {
        return Err(AppError::bad_input(
            field,
            "username must be 3 to 32 characters long",
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(AppError::bad_input(
            field,
            "username may contain only letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(value.to_owned())
}

/// A syntactically valid address; returned lower-cased, as it is stored.
pub fn email(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    let valid = value.len() <= MAX_EMAIL_LENGTH
        && value
            .parse::<email_address::EmailAddress>()
            .is_ok_and(|address| address.domain().contains('.'));
    if !valid {
        return Err(AppError::bad_input(field, "not a valid email address"));
    }
    Ok(value.to_lowercase())
}

/// At least 8 characters, at most 1 KiB.
pub fn password(field: &str, value: &str) -> AppResult<()> {
    if value.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("password must be at least {MIN_PASSWORD_LENGTH} characters long"),
        ));
    }
    if value.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::bad_input(field, "password is too long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: AppError) -> String {
        match error {
            AppError::BadInput { field, .. } => field,
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn usernames() {
        assert_eq!(username("u", "ada.l-1_x").unwrap(), "ada.l-1_x");
        for bad in ["ab", &"a".repeat(33), "has space", "ünï", "semi;colon"] {
            assert_eq!(field_of(username("u", bad).unwrap_err()), "u", "{bad}");
        }
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(email("e", " Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@c.de",
        ] {
            assert_eq!(field_of(email("e", bad).unwrap_err()), "e", "{bad}");
        }
    }

    #[test]
    fn passwords() {
        password("p", "12345678").unwrap();
        assert_eq!(field_of(password("p", "1234567").unwrap_err()), "p");
        assert_eq!(field_of(password("p", &"x".repeat(2000)).unwrap_err()), "p");
    }
}
