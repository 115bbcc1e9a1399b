//! Reading a Rust source file for the layering check: the `crate::…` paths it names, with
//! comments, string and char literals, and `#[cfg(test)]` modules left out.

/// Every `crate::…` path in `source` with its line, each cut to its first two segments;
/// grouped imports (`crate::{a::b, c}`) give one path per branch.
pub(super) fn crate_paths(source: &str) -> Vec<(usize, Vec<String>)> {
    let code = without_tests(&code_only(source));
    let tokens = tokens(&code);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let prev_is_path = i > 0 && tokens[i - 1].text == "::";
        if tokens[i].text == "crate"
            && !prev_is_path
            && tokens.get(i + 1).is_some_and(|t| t.text == "::")
        {
            let mut paths = Vec::new();
            i = use_tree(&tokens, i + 2, Vec::new(), &mut paths);
            found.extend(paths);
        } else {
            i += 1;
        }
    }
    found
}

/// Parses one use tree at `i` (`a::b::C`, `a::{b, c::d}`, `*`) below `prefix`; returns the index
/// after it.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(usize, Vec<String>)>,
) -> usize {
    let line = tokens.get(i).map_or(0, |t| t.line);
    loop {
        match tokens.get(i).map(|t| t.text.as_str()) {
            Some("{") => {
                i += 1;
                loop {
                    match tokens.get(i).map(|t| t.text.as_str()) {
                        None => return i,
                        Some("}") => return i + 1,
                        Some(",") => i += 1,
                        Some(_) => {
                            let next = use_tree(tokens, i, prefix.clone(), out);
                            i = next.max(i + 1);
                        }
                    }
                }
            }
            Some(word) if is_ident(word) => {
                if prefix.len() < 2 {
                    prefix.push(word.to_owned());
                }
                i += 1;
                if tokens.get(i).is_some_and(|t| t.text == "::") {
                    i += 1;
                    continue;
                }
            }
            Some("*") => i += 1,
            _ => {}
        }
        if !prefix.is_empty() {
            out.push((line, prefix));
        }
        // Skip an `as name` rename so the caller sees the next `,` or `}`.
        if tokens.get(i).is_some_and(|t| t.text == "as") {
            i += 2;
        }
        return i;
    }
}

fn is_ident(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

#[derive(Debug)]
struct Token {
    text: String,
    line: usize,
}

/// Identifiers, `::` and single punctuation characters, with their line numbers.
fn tokens(code: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token {
                text: chars[start..i].iter().collect(),
                line,
            });
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    out
}

/// `source` with comments, string and char literals blanked out (newlines kept, so line numbers
/// stay right).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br#"…"#: ends at a quote followed by the same number of hashes.
            let mut j = i + hashes.1;
            let closing: String = std::iter::once('"')
                .chain("#".repeat(hashes.0).chars())
                .collect();
            let closing: Vec<char> = closing.chars().collect();
            while j < chars.len() && !chars[j..].starts_with(&closing) {
                blank(&mut out, chars[j]);
                j += 1;
            }
            i = j + closing.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a: no closing quote).
            let end = if next == Some('\\') {
                // The escaped character itself may be a quote: the closing one comes after it.
                chars
                    .get(i + 3..)
                    .and_then(|rest| rest.iter().position(|&ch| ch == '\''))
                    .map(|p| i + 3 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => i = end + 1,
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At a raw string literal's start: its number of `#`s and the length of its opening.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if prev_ident {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    (chars.get(j) == Some(&'"')).then_some((hashes, j + 1 - i))
}

/// `code` with every `#[cfg(test)]` module's body blanked: tests may reach across layers.
fn without_tests(code: &str) -> String {
    let mut out = code.to_owned();
    let mut from = 0;
    while let Some(pos) = out[from..].find("#[cfg(test)]") {
        let attr = from + pos;
        let after = attr + "#[cfg(test)]".len();
        let rest = out[after..].trim_start();
        from = after;
        if !(rest.starts_with("mod ") || rest.starts_with("pub mod ")) {
            continue;
        }
        let Some(open) = out[after..].find(['{', ';']).map(|p| after + p) else {
            break;
        };
        if out.as_bytes()[open] == b';' {
            continue;
        }
        let mut depth = 0;
        let mut end = out.len();
        for (k, b) in out.bytes().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        let blanked: String = out[attr..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(attr..end, &blanked);
        from = attr + blanked.len();
    }
    out
}
