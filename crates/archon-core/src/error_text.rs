//! How an error reads to a person: its message, then each cause it does not
//! already say. Errors keep their causes as `source` (so a caller can tell a
//! full disk from a bad file by walking the chain) and may also name them in
//! their own message; printing the chain naively would say them twice.

/// `error`'s message followed by every cause whose text it has not said yet,
/// joined with `: ` (the form of `anyhow`'s `{:#}`, without repeats).
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {error}")]
    struct Naming {
        path: String,
        #[source]
        error: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading the session")]
    struct Doing {
        #[source]
        error: Naming,
    }

    #[test]
    fn a_cause_already_said_is_not_repeated() {
        let full = Naming {
            path: "run/a.json".into(),
            error: std::io::Error::from_raw_os_error(28),
        };
        let text = with_causes(&full);
        assert_eq!(text.matches("os error 28").count(), 1, "{text}");
        let text = with_causes(&Doing { error: full });
        assert!(
            text.starts_with("reading the session: run/a.json: "),
            "{text}"
        );
        assert_eq!(text.matches("os error 28").count(), 1, "{text}");
    }
}
