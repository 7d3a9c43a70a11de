//! The injected clock. Stage logic never reads the system time; it receives a [`Clock`].

use chrono::{DateTime, SecondsFormat, Utc};

/// A source of "now". `Fixed` makes runs byte-reproducible (`ARCHON_NOW`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t,
        }
    }

    /// "now" in RFC 3339 with second precision and `Z`, the form every artifact uses.
    pub fn stamp(&self) -> String {
        stamp(self.now())
    }

    /// Parses an `ARCHON_NOW`-style RFC 3339 value.
    pub fn fixed_from_rfc3339(value: &str) -> Result<Clock, String> {
        DateTime::parse_from_rfc3339(value)
            .map(|t| Clock::Fixed(t.with_timezone(&Utc)))
            .map_err(|e| format!("not an RFC 3339 time {value:?}: {e}"))
    }
}

/// Formats a time the way every artifact does.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_is_fixed() {
        let c = Clock::fixed_from_rfc3339("2026-01-15T12:00:00+01:00").unwrap();
        assert_eq!(c.stamp(), "2026-01-15T11:00:00Z");
        assert_eq!(c.now(), c.now());
        assert!(Clock::fixed_from_rfc3339("yesterday").is_err());
    }
}
