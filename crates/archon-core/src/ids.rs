//! Identifiers that become file names must be safe to use as one path component.

use crate::input::InputError;

/// Checks that `id` can be used as a single file-name component: non-empty, at most
/// 200 bytes, no `/` or `\`, not `.` or `..`, no control characters.
pub fn check_file_component(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("identifier is empty".into());
    }
    if id.len() > 200 {
        return Err(format!(
            "identifier is {} bytes long (at most 200)",
            id.len()
        ));
    }
    if id == "." || id == ".." || id.contains("..") {
        return Err(format!("identifier {} contains '..'", quoted(id)));
    }
    if let Some(c) = id
        .chars()
        .find(|c| matches!(c, '/' | '\\') || c.is_control())
    {
        return Err(format!(
            "identifier {} contains the forbidden character {c:?}",
            quoted(id)
        ));
    }
    Ok(())
}

/// Longest text [`quoted`] shows, in characters.
pub const QUOTE_MAX_CHARS: usize = 80;

/// `text` quoted for an error message, cut to [`QUOTE_MAX_CHARS`] characters
/// (a hostile 1 MB value must not become 1 MB of stderr).
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
        None => format!("{text:?}"),
    }
}

/// [`check_file_component`] as an [`InputError`] naming where the identifier came from.
pub fn safe_component(id: &str, source: &str, path: &str) -> Result<(), InputError> {
    check_file_component(id).map_err(|m| InputError::new(source, path, m))
}

/// A lower-case slug usable in file names (`Glasya-Labolas` → `glasya-labolas`).
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_are_refused() {
        for bad in ["", "../x", "a/b", "..", "a\\b", "a\nb", "x..y"] {
            assert!(check_file_component(bad).is_err(), "{bad:?}");
        }
        for good in [
            "mm-001",
            "9fccd22c-6656-47ee-b9db-f977fbcc8951",
            "Glasya-Labolas",
        ] {
            assert!(check_file_component(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn long_values_are_quoted_cut() {
        assert_eq!(quoted("ab"), "\"ab\"");
        let long = "x".repeat(1_000_000);
        let q = quoted(&long);
        assert!(q.len() < 120, "{q}");
        assert!(q.ends_with("… (1000000 bytes)"), "{q}");
        let err = check_file_component(&format!("{long}/")).unwrap_err();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Glasya-Labolas"), "glasya-labolas");
        assert_eq!(slug("  Foo Bar!! "), "foo-bar");
    }
}
