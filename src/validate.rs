//! Field checks shared by the handlers; each failure names its field.
//!
//! Every text a client sends goes through one of these before it is used:
//! control characters are refused here (PostgreSQL refuses NUL in `text` and
//! in `jsonb`, and the rest has no business in a name or a title), so bad
//! input answers 400 naming the field instead of failing in the database.

use serde_json::Value;

use crate::error::ApiError;

/// Free-form text (comments, descriptions, messages, reasons): trimmed,
/// within bounds (in characters), no control characters but line breaks
/// (`\n`, `\r`) and tabs.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    bounded(field, value, min, max, |c| {
        c.is_control() && !matches!(c, '\n' | '\r' | '\t')
    })
}

/// One line (names, titles of records, tokens, ids, URLs): as [`text`], but
/// no control characters at all.
pub fn line(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    bounded(field, value, min, max, char::is_control)
}

fn bounded(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    refused: fn(char) -> bool,
) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().any(refused) {
        return Err(control_characters(field));
    }
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::invalid(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    Ok(value.to_string())
}

/// A value used as given (a password, a lookup key): no control characters.
pub fn plain(field: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().any(char::is_control) {
        return Err(control_characters(field));
    }
    Ok(())
}

/// A secret checked against a stored one (a password at sign-in): only
/// NUL is refused, so a password set before control characters were
/// refused still signs in.
pub fn no_nul(field: &str, value: &str) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(control_characters(field));
    }
    Ok(())
}

fn control_characters(field: &str) -> ApiError {
    ApiError::invalid(field, "must not contain control characters")
}

/// A client's JSON kept as given (stored as `jsonb`): no NUL in any string
/// or key, which `jsonb` cannot hold. The rest is the client's own; `field`
/// names where in it the NUL was (`data.notes[2]`).
pub fn json(field: &str, value: &Value) -> Result<(), ApiError> {
    fn walk(path: &mut String, value: &Value) -> Result<(), String> {
        match value {
            Value::String(s) if s.contains('\0') => Err(path.clone()),
            Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(path, item)?;
                path.truncate(len);
                Ok(())
            }),
            Value::Object(map) => map.iter().try_for_each(|(key, item)| {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                if key.contains('\0') {
                    return Err(path.clone());
                }
                walk(path, item)?;
                path.truncate(len);
                Ok(())
            }),
            _ => Ok(()),
        }
    }
    let mut path = field.to_string();
    walk(&mut path, value).map_err(|at| {
        // `details` names the top-level field (clients key on it); the
        // message says where inside it.
        ApiError::BadRequest {
            message: format!("{field}: {at} must not contain NUL (\\u0000)"),
            details: Some(
                serde_json::json!({ field: format!("{at} must not contain NUL (\\u0000)") }),
            ),
        }
    })
}

/// A field a create call cannot do without.
pub fn required<'a, T>(field: &str, value: &'a Option<T>) -> Result<&'a T, ApiError> {
    value
        .as_ref()
        .ok_or_else(|| ApiError::invalid(field, "is required"))
}

/// Trims an optional one-line text in place, checking it when present.
pub fn optional_line(
    field: &str,
    value: &mut Option<String>,
    min: usize,
    max: usize,
) -> Result<(), ApiError> {
    if let Some(v) = value {
        *v = line(field, v, min, max)?;
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
    let email = line("email", value, 3, 254)?.to_lowercase();
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

pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 128;

/// A new password: printable, 8 to 128 characters.
pub fn password(password: &str) -> Result<(), ApiError> {
    plain("password", password)?;
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(ApiError::invalid(
            "password",
            format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// One of a fixed set of words (`ringside_actors::vocabulary`).
pub fn one_of<V: ringside_actors::vocabulary::Vocabulary>(
    field: &str,
    value: &str,
) -> Result<V, ApiError> {
    V::parse(value).ok_or_else(|| ApiError::invalid(field, V::expected()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(e: ApiError) -> Value {
        match e {
            ApiError::BadRequest { details, .. } => details.unwrap_or(Value::Null),
            other => panic!("not a bad request: {other:?}"),
        }
    }

    #[test]
    fn free_text_keeps_line_breaks_and_tabs_but_refuses_other_controls() {
        assert_eq!(
            text("c", " a\nb\r\n\tc ", 1, 10).ok().as_deref(),
            Some("a\nb\r\n\tc")
        );
        for bad in ["a\0b", "a\u{7}b", "a\u{1b}[31m", "a\u{85}b", "a\u{7f}"] {
            let details = field_of(text("content", bad, 1, 10).expect_err(bad));
            assert!(details["content"].is_string(), "{bad:?}: {details}");
        }
    }

    #[test]
    fn one_line_refuses_every_control() {
        assert!(line("name", "a\nb", 1, 10).is_err());
        assert!(line("name", "a\tb", 1, 10).is_err());
        assert!(line("name", "a\0", 1, 10).is_err());
        assert_eq!(line("name", " Ana ", 1, 10).ok().as_deref(), Some("Ana"));
        assert!(email("a\0@b.example").is_err());
        assert!(plain("password", "pass\u{0}word").is_err());
        assert!(no_nul("password", "tab\tok").is_ok());
        assert!(no_nul("password", "nul\0").is_err());
    }

    #[test]
    fn json_names_where_the_nul_is() {
        assert!(json("data", &json!({"a": [1, "ok\n", {"b": null}]})).is_ok());
        let e = json("data", &json!({"a": [1, {"b": "x\u{0}"}]})).expect_err("nul");
        assert!(e.to_string().contains("data.a[1].b"), "{e}");
        assert!(field_of(e)["data"].is_string());
        assert!(json("data", &json!({"k\u{0}": 1})).is_err());
        assert!(json("settings", &json!("\u{0}")).is_err());
    }
}
