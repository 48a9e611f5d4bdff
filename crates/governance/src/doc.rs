//! A very small document model, rendered to CommonMark (with pipe tables)
//! and to a GOV.UK Design System HTML fragment, so the DPIA is written once
//! and both forms say exactly the same thing.
//!
//! All text in the model is plain text; each renderer escapes it for its
//! own format, so configuration strings can never inject structure.

use crate::escape::{escape, link_target, markdown, safe_href};

/// A run of inline content.
#[derive(Debug, Clone)]
pub(crate) enum Inline {
    Text(String),
    Strong(String),
    Code(String),
    Link { text: String, href: String },
}

/// A block of the document.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// Level 1 is the title; 2 are the ICO sections; 3 subsections.
    Heading(u8, String),
    Para(Vec<Inline>),
    List(Vec<Vec<Inline>>),
    Table {
        caption: String,
        head: Vec<String>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    /// A part only a person can write: marked in Markdown, a warning in HTML.
    ToComplete(String),
}

pub(crate) fn t(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

pub(crate) fn b(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}

pub(crate) fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

pub(crate) fn para(parts: Vec<Inline>) -> Block {
    Block::Para(parts)
}

pub(crate) fn text(s: impl Into<String>) -> Block {
    Block::Para(vec![t(s)])
}

/// The marker that starts every part a person must write.
pub(crate) const TO_COMPLETE: &str = "To be completed by a person:";

pub(crate) fn to_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, s) => {
                out.push_str(&"#".repeat(usize::from(*level)));
                out.push(' ');
                out.push_str(&markdown(s));
                out.push('\n');
            }
            Block::Para(parts) => {
                out.push_str(&inline_md(parts, false));
                out.push('\n');
            }
            Block::List(items) => {
                for item in items {
                    out.push_str("- ");
                    out.push_str(&inline_md(item, false));
                    out.push('\n');
                }
            }
            Block::Table {
                caption,
                head,
                rows,
            } => {
                out.push_str(&format!("*{}*\n\n", markdown(caption)));
                let cells: Vec<String> = head.iter().map(|h| markdown(h)).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
                out.push_str(&format!("|{}\n", " --- |".repeat(head.len())));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| inline_md(c, true)).collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
            }
            Block::ToComplete(s) => {
                out.push_str(&format!("> **{}** {}\n", TO_COMPLETE, markdown(s)));
            }
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn inline_md(parts: &[Inline], in_table: bool) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Inline::Text(s) => out.push_str(&markdown(s)),
            Inline::Strong(s) => out.push_str(&format!("**{}**", markdown(s))),
            Inline::Code(s) => {
                let s = s.replace(['\n', '\r'], " ");
                // Pipes must be escaped inside code spans in table cells too.
                let s = if in_table { s.replace('|', "\\|") } else { s };
                let longest = longest_run(&s, '`');
                let fence = "`".repeat(longest + 1);
                let pad = if s.starts_with('`') || s.ends_with('`') {
                    " "
                } else {
                    ""
                };
                out.push_str(&format!("{fence}{pad}{s}{pad}{fence}"));
            }
            Inline::Link { text, href } => {
                let target = link_target(href)
                    .or_else(|| href.starts_with('/').then(|| href.clone()))
                    .filter(|h| !h.contains(['(', ')', ' ', '<', '>']));
                if let Some(target) = target {
                    out.push_str(&format!("[{}]({target})", markdown(text)));
                } else {
                    out.push_str(&markdown(text));
                }
            }
        }
    }
    out
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        if x == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

pub(crate) fn to_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, s) => {
                let class = match level {
                    1 => "govuk-heading-xl",
                    2 => "govuk-heading-l",
                    _ => "govuk-heading-m",
                };
                out.push_str(&format!(
                    "<h{level} class=\"{class}\">{}</h{level}>\n",
                    escape(s)
                ));
            }
            Block::Para(parts) => {
                out.push_str(&format!(
                    "<p class=\"govuk-body\">{}</p>\n",
                    inline_html(parts)
                ));
            }
            Block::List(items) => {
                out.push_str("<ul class=\"govuk-list govuk-list--bullet\">\n");
                for item in items {
                    out.push_str(&format!("<li>{}</li>\n", inline_html(item)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table {
                caption,
                head,
                rows,
            } => {
                out.push_str("<table class=\"govuk-table\">\n");
                out.push_str(&format!(
                    "<caption class=\"govuk-table__caption govuk-table__caption--m\">{}</caption>\n",
                    escape(caption)
                ));
                out.push_str("<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">");
                for h in head {
                    out.push_str(&format!(
                        "<th scope=\"col\" class=\"govuk-table__header\">{}</th>",
                        escape(h)
                    ));
                }
                out.push_str("</tr></thead>\n<tbody class=\"govuk-table__body\">\n");
                for row in rows {
                    out.push_str("<tr class=\"govuk-table__row\">");
                    for (i, cell) in row.iter().enumerate() {
                        if i == 0 {
                            out.push_str(&format!(
                                "<th scope=\"row\" class=\"govuk-table__header\">{}</th>",
                                inline_html(cell)
                            ));
                        } else {
                            out.push_str(&format!(
                                "<td class=\"govuk-table__cell\">{}</td>",
                                inline_html(cell)
                            ));
                        }
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::ToComplete(s) => out.push_str(&warning(&format!(
                "<strong>{}</strong> {}",
                TO_COMPLETE,
                escape(s)
            ))),
        }
    }
    out
}

/// A GOV.UK warning text around already-escaped HTML.
pub(crate) fn warning(inner_html: &str) -> String {
    format!(
        "<div class=\"govuk-warning-text\">\n<span class=\"govuk-warning-text__icon\" aria-hidden=\"true\">!</span>\n<strong class=\"govuk-warning-text__text\"><span class=\"govuk-visually-hidden\">Warning</span> {inner_html}</strong>\n</div>\n"
    )
}

fn inline_html(parts: &[Inline]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Inline::Text(s) => out.push_str(&escape(s)),
            Inline::Strong(s) => out.push_str(&format!("<strong>{}</strong>", escape(s))),
            Inline::Code(s) => out.push_str(&format!("<code>{}</code>", escape(s))),
            Inline::Link { text, href } => {
                match safe_href(href).or_else(|| href.starts_with('/').then(|| escape(href))) {
                    Some(h) => out.push_str(&format!(
                        "<a class=\"govuk-link\" href=\"{h}\">{}</a>",
                        escape(text)
                    )),
                    None => out.push_str(&escape(text)),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_a_separator_row_and_escaped_cells() {
        let md = to_markdown(&[Block::Table {
            caption: "C".into(),
            head: vec!["a".into(), "b".into()],
            rows: vec![vec![vec![t("x|y")], vec![code("p|q")]]],
        }]);
        assert_eq!(md, "*C*\n\n| a | b |\n| --- | --- |\n| x\\|y | `p\\|q` |\n");
    }

    #[test]
    fn person_parts_are_marked_in_both_forms() {
        let blocks = [Block::ToComplete("the DPO's advice".into())];
        assert!(
            to_markdown(&blocks).starts_with("> **To be completed by a person:** the DPO's advice")
        );
        let html = to_html(&blocks);
        assert!(
            html.contains("govuk-warning-text") && html.contains("To be completed by a person:")
        );
    }
}
