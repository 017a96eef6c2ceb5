//! Proto comments as rustdoc: the lines of `#[doc = "…"]` attributes.
//!
//! Proto comments are written for people reading a `.proto` file, not for
//! rustdoc, so a few things are rewritten to keep `cargo doc` and `cargo test`
//! of the crate that includes the generated code quiet:
//!
//! - code blocks (fenced without a language, fenced as `rust`, or indented)
//!   become `text` blocks, so they are not compiled as doctests;
//! - `[` and `]` that do not form a link are escaped, so they are not read as
//!   broken intra-doc links;
//! - bare URLs are put in `<…>`, and other `<` are escaped, so they are not
//!   read as HTML tags.

use proc_macro2::TokenStream;
use prost_build::Comments;
use quote::quote;

/// The `#[doc]` attributes for a proto item: its own comments if it has any,
/// `fallback` otherwise.
pub(crate) fn attributes(comments: &Comments, fallback: &str) -> TokenStream {
    let mut lines = lines(comments);
    if lines.is_empty() {
        lines.push(format!(" {fallback}"));
    }
    quote! { #(#[doc = #lines])* }
}

/// The doc lines of a proto comment (leading, then trailing), each ready to
/// be the value of a `#[doc]` attribute. Empty when there is no comment.
pub(crate) fn lines(comments: &Comments) -> Vec<String> {
    let mut raw: Vec<&str> = comments.leading.iter().map(String::as_str).collect();
    if !comments.leading.is_empty() && !comments.trailing.is_empty() {
        raw.push("");
    }
    raw.extend(comments.trailing.iter().map(String::as_str));
    while raw.last().is_some_and(|line| line.trim().is_empty()) {
        raw.pop();
    }
    while raw.first().is_some_and(|line| line.trim().is_empty()) {
        raw.remove(0);
    }

    let indent = raw
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| leading_spaces(line))
        .min()
        .unwrap_or(0);
    let unindented = raw.iter().map(|line| {
        if line.trim().is_empty() {
            ""
        } else {
            &line[indent..]
        }
    });

    rewrite_markdown(unindented)
        .into_iter()
        .map(|line| {
            if line.is_empty() {
                line
            } else {
                format!(" {line}")
            }
        })
        .collect()
}

/// Number of leading ASCII spaces (tabs count as one column each, which is
/// enough to strip a common indentation).
fn leading_spaces(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// Walks the lines as markdown blocks: code blocks become `text` blocks,
/// everything else is escaped for rustdoc.
fn rewrite_markdown<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    let mut in_indented_code = false;
    let mut previous_blank = true;
    let mut in_list = false;

    for line in lines {
        let trimmed = line.trim_start();

        if let Some(marker) = fence {
            if trimmed.starts_with(marker) && trimmed[marker.len()..].trim().is_empty() {
                fence = None;
            }
            out.push(line.to_owned());
            previous_blank = false;
            continue;
        }

        if in_indented_code {
            if line.is_empty() || leading_spaces(line) >= 4 {
                out.push(line.get(4..).unwrap_or("").to_owned());
                continue;
            }
            // Blank lines read as part of the block belong after it.
            let mut blanks = 0;
            while out.last().is_some_and(String::is_empty) {
                out.pop();
                blanks += 1;
            }
            out.push("```".to_owned());
            out.extend(std::iter::repeat_n(String::new(), blanks));
            in_indented_code = false;
            previous_blank = blanks > 0;
        }

        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            let info = trimmed[marker.len()..].trim();
            let prefix = &line[..line.len() - trimmed.len()];
            let info = if info.is_empty() || info == "rust" {
                "text"
            } else {
                info
            };
            out.push(format!("{prefix}{marker}{info}"));
            fence = Some(marker);
            previous_blank = false;
            continue;
        }

        if line.is_empty() {
            out.push(String::new());
            previous_blank = true;
            continue;
        }

        if leading_spaces(line) >= 4 && previous_blank && !in_list {
            out.push("```text".to_owned());
            out.push(line[4..].to_owned());
            in_indented_code = true;
            continue;
        }

        if leading_spaces(line) == 0 {
            in_list = starts_list_item(line);
        }
        out.push(escape_inline(line));
        previous_blank = false;
    }

    if in_indented_code {
        while out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        out.push("```".to_owned());
    }
    if fence.is_some() {
        out.push("```".to_owned());
    }
    out
}

/// Whether a line opens a markdown list item (`- `, `* `, `+ `, `1. `, `1) `).
fn starts_list_item(line: &str) -> bool {
    if ["- ", "* ", "+ "].iter().any(|m| line.starts_with(m)) {
        return true;
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
}

/// Escapes brackets that are not links, wraps bare URLs in `<…>` and escapes
/// other `<`, leaving inline code spans untouched.
fn escape_inline(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '`' => {
                // Copy a code span verbatim, up to its closing run of backticks.
                let run = chars[i..].iter().take_while(|&&c| c == '`').count();
                let body_start = i + run;
                let close = (body_start..chars.len()).find(|&j| {
                    chars[j..].iter().take_while(|&&c| c == '`').count() == run
                        && (j == 0 || chars[j - 1] != '`')
                });
                let end = close.map_or(body_start, |j| j + run);
                out.extend(&chars[i..end]);
                i = end;
            }
            '\\' if i + 1 < chars.len() => {
                out.push(c);
                out.push(chars[i + 1]);
                i += 2;
            }
            '[' => {
                let close = (i + 1..chars.len()).find(|&j| chars[j] == ']');
                match close {
                    Some(j) if chars.get(j + 1) == Some(&'(') => {
                        // A markdown link: keep it, escape its text.
                        out.push('[');
                        out.push_str(&escape_inline(&chars[i + 1..j].iter().collect::<String>()));
                        out.push(']');
                        let target_end = (j + 1..chars.len())
                            .find(|&k| chars[k] == ')')
                            .map_or(chars.len(), |k| k + 1);
                        out.extend(&chars[j + 1..target_end]);
                        i = target_end;
                    }
                    _ => {
                        out.push_str("\\[");
                        i += 1;
                    }
                }
            }
            ']' => {
                out.push_str("\\]");
                i += 1;
            }
            '<' => {
                let rest: String = chars[i + 1..].iter().collect();
                if rest.starts_with("http://") || rest.starts_with("https://") {
                    // Already an autolink.
                    let end = (i + 1..chars.len())
                        .find(|&k| chars[k] == '>')
                        .map_or(chars.len(), |k| k + 1);
                    out.extend(&chars[i..end]);
                    i = end;
                } else {
                    out.push_str("\\<");
                    i += 1;
                }
            }
            'h' if starts_url(&chars[i..]) => {
                let mut end = (i..chars.len())
                    .find(|&k| chars[k].is_whitespace() || matches!(chars[k], '>' | ')' | '"'))
                    .unwrap_or(chars.len());
                while end > i && matches!(chars[end - 1], '.' | ',' | ';' | ':' | '!' | '?') {
                    end -= 1;
                }
                out.push('<');
                out.extend(&chars[i..end]);
                out.push('>');
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn starts_url(chars: &[char]) -> bool {
    let head: String = chars.iter().take(8).collect();
    head.starts_with("http://") || head.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(leading: &[&str], trailing: &[&str]) -> Vec<String> {
        lines(&Comments {
            leading_detached: Vec::new(),
            leading: leading.iter().map(|s| s.to_string()).collect(),
            trailing: trailing.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn each_comment_line_becomes_a_doc_line_with_one_leading_space() {
        assert_eq!(
            doc(&[" Replies once.", " Then stops."], &[]),
            [" Replies once.", " Then stops."]
        );
        assert_eq!(doc(&["No space."], &[]), [" No space."]);
    }

    #[test]
    fn leading_and_trailing_comments_are_separated_by_a_blank_line() {
        assert_eq!(
            doc(&[" Before."], &[" After."]),
            [" Before.", "", " After."]
        );
    }

    #[test]
    fn no_comment_gives_no_lines() {
        assert!(doc(&[], &[]).is_empty());
        assert!(doc(&["", "  "], &[]).is_empty());
    }

    #[test]
    fn brackets_that_are_not_links_are_escaped() {
        assert_eq!(
            doc(&[" A list [a, b] and a [link](https://example.com)."], &[]),
            [" A list \\[a, b\\] and a [link](https://example.com)."]
        );
    }

    #[test]
    fn bare_urls_are_wrapped_and_other_angle_brackets_escaped() {
        assert_eq!(
            doc(&[" See https://example.com/x. A map<string, int>."], &[]),
            [" See <https://example.com/x>. A map\\<string, int>."]
        );
        assert_eq!(
            doc(&[" Already <https://example.com>."], &[]),
            [" Already <https://example.com>."]
        );
    }

    #[test]
    fn inline_code_is_left_untouched() {
        assert_eq!(
            doc(&[" Replies `repeat` times, see `a[0] < b`."], &[]),
            [" Replies `repeat` times, see `a[0] < b`."]
        );
    }

    #[test]
    fn code_blocks_become_text_blocks() {
        assert_eq!(
            doc(&[" Example:", " ```", " let x = 1;", " ```"], &[]),
            [" Example:", " ```text", " let x = 1;", " ```"]
        );
        assert_eq!(
            doc(&[" Example:", "", "     x = [1]", "", " Done."], &[]),
            [
                " Example:",
                "",
                " ```text",
                " x = [1]",
                " ```",
                "",
                " Done."
            ]
        );
    }

    #[test]
    fn indented_list_continuations_are_not_code() {
        assert_eq!(
            doc(&[" - item", "", "     more about the item"], &[]),
            [" - item", "", "     more about the item"]
        );
    }
}
