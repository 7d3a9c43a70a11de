//! The one retry policy: which failures are worth another attempt, and how
//! long to wait before it. Nothing else in archon retries a model call.

use std::time::Duration;

use archon_core::seed::Seed;

/// Retry limits and delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base: Duration,
    /// Longest wait, `Retry-After` included.
    pub cap: Duration,
}

/// 429 (rate limited), 408 (request timeout) and 5xx are transient; any other
/// status is the request's own fault and fails at once.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || status == 408 || (500..=599).contains(&status)
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: backoff applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based) of the exchange named by
    /// `exchange_key`. The server's `Retry-After` wins when given; otherwise
    /// exponential backoff scaled by a jitter in [0.5, 1) that is a pure function
    /// of the exchange, so concurrent retries spread out yet runs stay reproducible.
    pub fn delay(&self, retry: u32, exchange_key: &str, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.cap);
        }
        let doubling = 2u32.saturating_pow(retry.saturating_sub(1).min(16));
        let backoff = self.base.saturating_mul(doubling);
        let jitter = 0.5 + 0.5 * Seed(u64::from(retry)).unit(&["retry-jitter", exchange_key]);
        backoff.mul_f64(jitter).min(self.cap)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(2),
    };

    #[test]
    fn classifies_statuses() {
        for s in [429, 408, 500, 502, 503, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_doubles_with_deterministic_jitter_and_a_cap() {
        for retry in 1..=4 {
            let d = POLICY.delay(retry, "k", None);
            let full = Duration::from_millis(100 * 2u64.pow(retry - 1));
            assert!(d >= full / 2 && d < full, "{retry}: {d:?}");
            assert_eq!(d, POLICY.delay(retry, "k", None));
        }
        assert_ne!(POLICY.delay(1, "a", None), POLICY.delay(1, "b", None));
        assert_eq!(POLICY.delay(30, "k", None), POLICY.cap);
    }

    #[test]
    fn retry_after_wins_within_the_cap() {
        assert_eq!(parse_retry_after(" 1 "), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-3"), None);
        let after = Some(Duration::from_secs(1));
        assert_eq!(POLICY.delay(1, "k", after), Duration::from_secs(1));
        assert_eq!(
            POLICY.delay(1, "k", Some(Duration::from_secs(3600))),
            POLICY.cap
        );
    }
}
