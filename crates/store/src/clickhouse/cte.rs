//! Common table expressions rewritten as nested sub-queries.
//!
//! The statements of `sql.rs` and `journeys.rs` name their steps with
//! `WITH a AS (SELECT …), b AS (SELECT … FROM a …) SELECT … FROM b`.
//! ClickHouse accepts that form only from 20.x on, so every statement is
//! rewritten here into `SELECT … FROM (SELECT … FROM (SELECT …) AS a …) AS b`,
//! which every version runs (current ClickHouse inlines CTEs the same way).
//!
//! A name is replaced where it is used as a table: right after `FROM` or
//! `JOIN`. Qualified columns (`a.x`), text in quotes and the statement's
//! other words are left as they are. The rewrite runs before parameters are
//! bound, so it only ever sees text that glasshouse wrote.

/// Why a statement could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CteError {
    /// The `WITH` list is not `name AS (…)`, separated by commas.
    #[error("malformed WITH clause at byte {0}")]
    Malformed(usize),
    /// A parenthesis or quote is not closed.
    #[error("unbalanced parentheses or quotes")]
    Unbalanced,
}

/// Words after a table that are not its alias.
const NOT_ALIAS: [&str; 26] = [
    "WHERE", "PREWHERE", "JOIN", "LEFT", "RIGHT", "INNER", "FULL", "CROSS", "OUTER", "ANY", "ALL",
    "SEMI", "ANTI", "ASOF", "GLOBAL", "ARRAY", "ON", "USING", "GROUP", "ORDER", "LIMIT", "UNION",
    "HAVING", "FINAL", "SAMPLE", "SETTINGS",
];

/// `sql` with its leading `WITH` list inlined; unchanged when it has none.
pub fn inline(sql: &str) -> Result<String, CteError> {
    let b = sql.as_bytes();
    let mut i = skip_ws(b, 0);
    match word_at(b, i) {
        Some(w) if w.eq_ignore_ascii_case("with") => i += w.len(),
        _ => return Ok(sql.to_string()),
    }
    let mut defined: Vec<(String, String)> = Vec::new();
    loop {
        i = skip_ws(b, i);
        let name = word_at(b, i).ok_or(CteError::Malformed(i))?;
        i = skip_ws(b, i + name.len());
        match word_at(b, i) {
            Some(w) if w.eq_ignore_ascii_case("as") => i = skip_ws(b, i + 2),
            _ => return Err(CteError::Malformed(i)),
        }
        if b.get(i) != Some(&b'(') {
            return Err(CteError::Malformed(i));
        }
        let close = matching_paren(b, i)?;
        let body = replace_refs(&sql[i + 1..close], &defined)?;
        defined.push((name.to_string(), body));
        i = skip_ws(b, close + 1);
        if b.get(i) == Some(&b',') {
            i += 1;
        } else {
            break;
        }
    }
    replace_refs(&sql[i..], &defined)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The identifier or keyword starting at `i`, if one does.
fn word_at(b: &[u8], i: usize) -> Option<&str> {
    if !b.get(i).copied().is_some_and(is_word_start) {
        return None;
    }
    let mut end = i;
    while end < b.len() && is_word_char(b[end]) {
        end += 1;
    }
    std::str::from_utf8(&b[i..end]).ok()
}

/// Index just past the quoted text opening at `open` (`'…'`, `"…"` or `` `…` ``).
fn skip_quoted(b: &[u8], open: usize) -> Result<usize, CteError> {
    let q = b[open];
    let mut i = open + 1;
    while i < b.len() {
        // A backslash escape, or a doubled quote, stands for one character.
        if b[i] == b'\\' || (b[i] == q && b.get(i + 1) == Some(&q)) {
            i += 2;
        } else if b[i] == q {
            return Ok(i + 1);
        } else {
            i += 1;
        }
    }
    Err(CteError::Unbalanced)
}

/// Index of the parenthesis closing the one at `open`.
fn matching_paren(b: &[u8], open: usize) -> Result<usize, CteError> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                i = skip_quoted(b, i)?;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(CteError::Unbalanced)
}

/// `text` with each table use of a `defined` name replaced by its body.
fn replace_refs(text: &str, defined: &[(String, String)]) -> Result<String, CteError> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut previous = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' || c == b'`' {
            let end = skip_quoted(b, i)?;
            out.push_str(&text[i..end]);
            previous.clear();
            i = end;
        } else if is_word_start(c) && (i == 0 || !is_word_char(b[i - 1])) {
            let w = word_at(b, i).unwrap_or_default();
            let end = i + w.len();
            let as_table = previous == "FROM" || previous == "JOIN";
            match defined.iter().find(|(name, _)| name == w) {
                Some((name, body)) if as_table && b.get(end) != Some(&b'.') => {
                    out.push('(');
                    out.push_str(body);
                    out.push(')');
                    let next = word_at(b, skip_ws(b, end)).map(str::to_ascii_uppercase);
                    let aliased = next
                        .as_deref()
                        .is_some_and(|n| n == "AS" || !NOT_ALIAS.contains(&n));
                    if !aliased {
                        out.push_str(" AS ");
                        out.push_str(name);
                    }
                }
                _ => out.push_str(w),
            }
            previous = w.to_ascii_uppercase();
            i = end;
        } else {
            if !c.is_ascii_whitespace() {
                previous.clear();
            }
            // Copy whole characters, so multi-byte text stays intact.
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + len]);
            i += len;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_without_with_are_unchanged() {
        let s = "SELECT count() FROM events WHERE name = 'WITH a AS (x)'";
        assert_eq!(inline(s).unwrap(), s);
    }

    #[test]
    fn one_cte_becomes_a_named_subquery() {
        assert_eq!(
            inline("WITH e AS (SELECT a FROM events WHERE f(x) > 1) SELECT count() FROM e WHERE m")
                .unwrap(),
            "SELECT count() FROM (SELECT a FROM events WHERE f(x) > 1) AS e WHERE m"
        );
    }

    #[test]
    fn later_ctes_see_earlier_ones_and_aliases_are_kept() {
        let s = "WITH a AS (SELECT j FROM events), st AS (SELECT a.j AS j FROM events e JOIN a ON e.j = a.j) \
                 SELECT x.j FROM st x JOIN st AS y ON x.j = y.j LEFT JOIN a ON a.j = x.j";
        assert_eq!(
            inline(s).unwrap(),
            "SELECT x.j FROM (SELECT a.j AS j FROM events e JOIN (SELECT j FROM events) AS a ON e.j = a.j) x \
             JOIN (SELECT a.j AS j FROM events e JOIN (SELECT j FROM events) AS a ON e.j = a.j) AS y ON x.j = y.j \
             LEFT JOIN (SELECT j FROM events) AS a ON a.j = x.j"
        );
    }

    #[test]
    fn names_are_replaced_only_as_tables() {
        let s = "WITH g AS (SELECT dim FROM t) SELECT g.dim, e.g, g FROM t2 WHERE dim IN (SELECT dim FROM g)";
        assert_eq!(
            inline(s).unwrap(),
            "SELECT g.dim, e.g, g FROM t2 WHERE dim IN (SELECT dim FROM (SELECT dim FROM t) AS g)"
        );
    }

    #[test]
    fn quotes_and_nested_parentheses_are_respected() {
        let s = "WITH s1 AS (SELECT ')' AS p, (1 + (2)) AS q, 'it''s (' AS r, 'a\\'(' AS t FROM e WHERE x IN (1, 2)) \
                 SELECT * FROM s1 UNION ALL SELECT 'FROM s1' FROM s1 GROUP BY p";
        assert_eq!(
            inline(s).unwrap(),
            "SELECT * FROM (SELECT ')' AS p, (1 + (2)) AS q, 'it''s (' AS r, 'a\\'(' AS t FROM e WHERE x IN (1, 2)) AS s1 \
             UNION ALL SELECT 'FROM s1' FROM (SELECT ')' AS p, (1 + (2)) AS q, 'it''s (' AS r, 'a\\'(' AS t FROM e WHERE x IN (1, 2)) AS s1 GROUP BY p"
        );
    }

    #[test]
    fn a_name_that_only_starts_like_a_cte_is_not_replaced() {
        let s = "WITH s1 AS (SELECT 1) SELECT * FROM s10, s1x";
        assert_eq!(inline(s).unwrap(), "SELECT * FROM s10, s1x");
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert_eq!(
            inline("WITH a (SELECT 1) SELECT 1"),
            Err(CteError::Malformed(7))
        );
        assert_eq!(
            inline("WITH a AS (SELECT (1) SELECT 1"),
            Err(CteError::Unbalanced)
        );
        assert_eq!(
            inline("WITH a AS (SELECT ')') SELECT 'x"),
            Err(CteError::Unbalanced)
        );
    }
}
