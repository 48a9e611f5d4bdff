//! Client-side parameter binding.
//!
//! ClickHouse 18.16 has no server-side query parameters, so each `$n`
//! placeholder of a generated statement is replaced here by a literal of its
//! [`Param`]. Only this module turns caller values into SQL text, and it does
//! so for three closed types: text becomes a single-quoted string with every
//! backslash, quote and control character escaped; numbers and instants
//! become decimal integers (instants as microseconds since the epoch, the
//! unit of the `ts` column). Placeholders are found outside quoted strings
//! only, and `$10` is never read as `$1` followed by `0`.

use crate::sql::{Param, Sql};
use std::fmt::Write;

/// Why a statement could not be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// The text names a placeholder with no parameter.
    #[error("placeholder ${0} has no parameter")]
    Missing(usize),
    /// A quoted string in the statement text is not closed.
    #[error("unterminated string in the statement")]
    Unterminated,
}

/// The statement's text with every placeholder replaced by its literal.
pub fn bind(sql: &Sql) -> Result<String, BindError> {
    let text = sql.text.as_bytes();
    let mut out = String::with_capacity(sql.text.len() + 16 * sql.params.len());
    let mut i = 0;
    let mut copied = 0;
    while i < text.len() {
        match text[i] {
            b'\'' => i = skip_string(text, i)?,
            b'$' if text.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push_str(&sql.text[copied..i]);
                let start = i + 1;
                let mut end = start;
                while end < text.len() && text[end].is_ascii_digit() {
                    end += 1;
                }
                let n: usize = sql.text[start..end].parse().unwrap_or(0);
                let p = n
                    .checked_sub(1)
                    .and_then(|k| sql.params.get(k))
                    .ok_or(BindError::Missing(n))?;
                out.push_str(&literal(p));
                i = end;
                copied = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql.text[copied..]);
    Ok(out)
}

/// Index just past the string literal opening at `open`.
fn skip_string(text: &[u8], open: usize) -> Result<usize, BindError> {
    let mut i = open + 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'\'' if text.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(BindError::Unterminated)
}

/// The SQL literal of one parameter.
pub fn literal(p: &Param) -> String {
    match p {
        Param::Text(s) => quote(s),
        Param::Int(n) => int(*n),
        Param::Time(t) => int(t.timestamp_micros()),
    }
}

fn int(n: i64) -> String {
    // In parentheses when negative, so `x - $1` can never become `x --…`.
    if n < 0 {
        format!("({n})")
    } else {
        n.to_string()
    }
}

/// `s` as a ClickHouse string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn sql(text: &str, params: Vec<Param>) -> Sql {
        Sql {
            text: text.into(),
            params,
        }
    }

    #[test]
    fn text_is_quoted_and_escaped() {
        let cases = [
            ("plain", "'plain'"),
            ("'; DROP TABLE events; --", "'\\'; DROP TABLE events; --'"),
            ("back\\slash", "'back\\\\slash'"),
            ("\\'", "'\\\\\\''"),
            ("ends with \\", "'ends with \\\\'"),
            ("line\nbreak\ttab\rret", "'line\\nbreak\\ttab\\rret'"),
            ("nul\0bell\x07del\x7f", "'nul\\0bell\\x07del\\x7f'"),
            ("Ünïcödé ✓ 漢字", "'Ünïcödé ✓ 漢字'"),
            ("$1", "'$1'"),
            ("", "''"),
        ];
        for (value, expected) in cases {
            assert_eq!(quote(value), expected, "{value:?}");
        }
    }

    #[test]
    fn numbers_and_instants_are_decimal() {
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 1).unwrap();
        assert_eq!(literal(&Param::Time(t)), "1772409601000000");
        assert_eq!(literal(&Param::Int(42)), "42");
        assert_eq!(literal(&Param::Int(-3)), "(-3)");
    }

    #[test]
    fn placeholders_are_replaced_by_number_not_prefix() {
        let params: Vec<Param> = (1..=11).map(|i| Param::Int(i * 100)).collect();
        let s = sql("SELECT $1, $10, $11, $2", params);
        assert_eq!(bind(&s).unwrap(), "SELECT 100, 1000, 1100, 200");
    }

    #[test]
    fn placeholders_inside_strings_are_left_alone() {
        let s = sql(
            "SELECT '$1', 'it''s $2', 'a\\'$1' , $1",
            vec![Param::Text("x'y".into())],
        );
        assert_eq!(
            bind(&s).unwrap(),
            "SELECT '$1', 'it''s $2', 'a\\'$1' , 'x\\'y'"
        );
    }

    #[test]
    fn a_value_cannot_start_a_placeholder_or_close_its_string() {
        let s = sql(
            "SELECT $1, $2",
            vec![Param::Text("$2'".into()), Param::Text("z".into())],
        );
        assert_eq!(bind(&s).unwrap(), "SELECT '$2\\'', 'z'");
    }

    #[test]
    fn missing_parameters_and_open_strings_are_errors() {
        assert_eq!(
            bind(&sql("SELECT $2", vec![Param::Int(1)])),
            Err(BindError::Missing(2))
        );
        assert_eq!(bind(&sql("SELECT $0", vec![])), Err(BindError::Missing(0)));
        assert_eq!(
            bind(&sql("SELECT 'a", vec![])),
            Err(BindError::Unterminated)
        );
        assert_eq!(bind(&sql("SELECT $", vec![])).unwrap(), "SELECT $");
    }
}
