//! Escaping: every string that comes from the configuration or the audit
//! log is untrusted text on a public page, so it goes through one of these.

/// Escapes text for HTML element content and quoted attribute values, so an
/// organisation called `<script>` is shown as that text and never run.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters are
/// kept), so a site name in a link cannot add parameters or break the URL.
pub fn url_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A link target that is safe to put in `href`: `http(s)` URLs as given,
/// e-mail addresses as `mailto:`; anything else (`javascript:`, `data:`,
/// plain words) is not a link. Not yet escaped.
pub(crate) fn link_target(target: &str) -> Option<String> {
    let t = target.trim();
    if t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Some(t.to_string());
    }
    let addr = if lower.starts_with("mailto:") {
        &t[7..]
    } else if !t.contains(':') {
        t
    } else {
        return None;
    };
    let ok = addr.contains('@') && !addr.contains(['<', '>', '"', '\'', '/']);
    ok.then(|| format!("mailto:{addr}"))
}

/// [`link_target`], HTML-escaped for an `href` attribute.
pub(crate) fn safe_href(target: &str) -> Option<String> {
    link_target(target).map(|t| escape(&t))
}

/// Escapes text for CommonMark inline content: backslash before characters
/// that could start emphasis, links, code, HTML, tables or entity references,
/// and line breaks folded to spaces, so configuration text cannot change the
/// structure of the document around it.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut at_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let c = if c == '\n' || c == '\r' || c == '\t' {
            ' '
        } else {
            c
        };
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if at_start => {
                out.push('\\');
                out.push(c);
            }
            '0'..='9' if at_start => {
                // "1. " or "1) " at the start would begin an ordered list.
                out.push(c);
                while let Some(&d) = chars.peek() {
                    if d.is_ascii_digit() {
                        out.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if let Some(&p) = chars.peek() {
                    if p == '.' || p == ')' {
                        out.push('\\');
                        out.push(p);
                        chars.next();
                    }
                }
            }
            _ => out.push(c),
        }
        at_start = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("GOV.UK"), "GOV.UK");
    }

    #[test]
    fn only_web_and_mail_addresses_become_links() {
        assert_eq!(
            safe_href("https://example.org/a?b=1&c=2").unwrap(),
            "https://example.org/a?b=1&amp;c=2"
        );
        assert_eq!(
            safe_href("dpo@example.org").unwrap(),
            "mailto:dpo@example.org"
        );
        assert_eq!(
            safe_href("mailto:dpo@example.org").unwrap(),
            "mailto:dpo@example.org"
        );
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href("JAVASCRIPT:alert('a@b')"), None);
        assert_eq!(safe_href("Write to the DPO"), None);
        assert_eq!(
            safe_href("https://x.org/\"onmouseover=\"a"),
            Some("https://x.org/&quot;onmouseover=&quot;a".into())
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url_component("www.gov.uk"), "www.gov.uk");
        assert_eq!(url_component("a&b=c d"), "a%26b%3Dc%20d");
    }

    #[test]
    fn markdown_structure_cannot_be_injected() {
        assert_eq!(
            markdown("a|b *c* [d](e) <x>"),
            "a\\|b \\*c\\* \\[d\\](e) \\<x\\>"
        );
        assert_eq!(markdown("1. first"), "1\\. first");
        assert_eq!(markdown("- item\n# heading"), "\\- item \\# heading");
        assert_eq!(markdown("2025-01-01"), "2025-01-01");
    }
}
