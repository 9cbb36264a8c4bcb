//! Field checks shared by the handlers; each failure names its field.

use crate::error::ApiError;

/// The trimmed text, if its length (in characters) is within bounds.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::invalid(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    Ok(value.to_string())
}

/// A field a create call cannot do without.
pub fn required<'a, T>(field: &str, value: &'a Option<T>) -> Result<&'a T, ApiError> {
    value
        .as_ref()
        .ok_or_else(|| ApiError::invalid(field, "is required"))
}

/// Trims an optional text in place, checking its bounds when present.
pub fn optional_text(
    field: &str,
    value: &mut Option<String>,
    min: usize,
    max: usize,
) -> Result<(), ApiError> {
    if let Some(v) = value {
        *v = text(field, v, min, max)?;
    }
    Ok(())
}

pub fn range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: Option<T>,
    min: T,
    max: T,
) -> Result<(), ApiError> {
    match value {
        Some(v) if v < min || v > max => Err(ApiError::invalid(
            field,
            format!("must be from {min} to {max}"),
        )),
        _ => Ok(()),
    }
}

pub fn email(value: &str) -> Result<String, ApiError> {
    let email = text("email", value, 3, 254)?.to_lowercase();
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(ApiError::invalid("email", "is not an email address")),
    }
}

/// One of a fixed set of words (`ringside_actors::vocabulary`).
pub fn one_of<V: ringside_actors::vocabulary::Vocabulary>(
    field: &str,
    value: &str,
) -> Result<V, ApiError> {
    V::parse(value).ok_or_else(|| ApiError::invalid(field, V::expected()))
}
