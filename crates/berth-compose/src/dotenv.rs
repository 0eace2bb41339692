//! `.env` files (the project's, `--env-file`, a service's `env_file`): `KEY=VALUE` lines,
//! `#` comments, an optional `export `, single quotes (literal), double quotes (with `\n`,
//! `\t`, `\"`, `\\` escapes, may span lines), unquoted values trimmed and cut at ` #`.
//! `${VAR}` in unquoted and double-quoted values is interpolated from the variables above it
//! and then from `outer`; a line with a bare `KEY` takes `KEY` from `outer` (or is dropped).

use std::collections::BTreeMap;

use crate::interpolate::interpolate;

/// Parses `text`; errors name the line.
pub fn parse(
    text: &str,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let trimmed = trimmed
            .strip_prefix("export ")
            .unwrap_or(trimmed)
            .trim_start();
        let Some((key, raw)) = trimmed.split_once('=') else {
            if trimmed
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                if let Some(v) = outer(trimmed) {
                    vars.insert(trimmed.to_string(), v);
                }
                continue;
            }
            return Err(format!(
                "line {}: expected KEY=VALUE, got {trimmed:?}",
                n + 1
            ));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("line {}: invalid variable name {key:?}", n + 1));
        }
        let raw = raw.trim_start();
        let (value, expand) = if let Some(rest) = raw.strip_prefix('\'') {
            let Some(end) = rest.find('\'') else {
                return Err(format!("line {}: unterminated single quote", n + 1));
            };
            (rest[..end].to_string(), false)
        } else if let Some(rest) = raw.strip_prefix('"') {
            let mut body = rest.to_string();
            loop {
                if let Some(end) = closing_double_quote(&body) {
                    body.truncate(end);
                    break;
                }
                match lines.next() {
                    Some((_, more)) => {
                        body.push('\n');
                        body.push_str(more);
                    }
                    None => return Err(format!("line {}: unterminated double quote", n + 1)),
                }
            }
            (unescape(&body), true)
        } else {
            let v = match raw.find(" #") {
                Some(p) => &raw[..p],
                None => raw,
            };
            (v.trim().to_string(), true)
        };
        let value = if expand && value.contains('$') {
            let lookup = |name: &str| vars.get(name).cloned().or_else(|| outer(name));
            interpolate(&value, &lookup)
                .map_err(|e| format!("line {}: {e}", n + 1))?
                .text
        } else {
            value
        };
        vars.insert(key.to_string(), value);
    }
    Ok(vars)
}

fn closing_double_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outer(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/root".to_string())
    }

    #[test]
    fn the_forms_of_a_line() {
        let text = "# comment\n\nA=1\nexport B = two \nC='lit $HOME'\nD=\"x\\ny\"\nE=plain # note\nF=${HOME}/x\nG=${A}${A}\nHOME\nMISSING\nH=\"multi\nline\"\nI=a#b\n";
        let v = parse(text, &outer).unwrap();
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "two");
        assert_eq!(v["C"], "lit $HOME");
        assert_eq!(v["D"], "x\ny");
        assert_eq!(v["E"], "plain");
        assert_eq!(v["F"], "/root/x");
        assert_eq!(v["G"], "11");
        assert_eq!(v["HOME"], "/root");
        assert!(!v.contains_key("MISSING"));
        assert_eq!(v["H"], "multi\nline");
        assert_eq!(v["I"], "a#b");
    }

    #[test]
    fn bad_lines_name_their_number() {
        let e = parse("A=1\nnot a pair\n", &outer).unwrap_err();
        assert!(e.starts_with("line 2"), "{e}");
        let e = parse("A=\"open\n", &outer).unwrap_err();
        assert!(e.contains("unterminated"), "{e}");
    }
}
