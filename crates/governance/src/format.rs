//! Dates and numbers as people read them.

use chrono::{DateTime, NaiveDate, Utc};

/// `1 April 2025`.
pub(crate) fn date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// `2 March 2026 at 14:05 UTC`.
pub(crate) fn date_time(t: DateTime<Utc>) -> String {
    t.format("%-d %B %Y at %H:%M UTC").to_string()
}

/// `1,234,567`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 day`, `30 days`.
pub(crate) fn days(n: u32) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{} days", count(u64::from(n)))
    }
}

/// An ε value without trailing noise: `2`, `0.5`.
pub(crate) fn epsilon(e: f64) -> String {
    format!("{e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(days(1), "1 day");
        assert_eq!(days(761), "761 days");
        assert_eq!(epsilon(2.0), "2");
        assert_eq!(epsilon(0.5), "0.5");
    }
}
