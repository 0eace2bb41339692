//! `.dockerignore`: which files of a build context are left out (Docker's
//! `patternmatcher` and `ignorefile`).
//!
//! - One pattern per line; `#` at the start of a line is a comment; blanks are trimmed;
//!   each pattern is cleaned like a path (`./a//b/` → `a/b`) and a leading `/` dropped.
//! - `*` matches within one path element, `?` one character, `[a-z]` a class,
//!   `**` any number of elements (`**/x`, `a/**`, `a/**/b`), `\` escapes.
//! - A path is excluded when the last pattern that matches it — or one of its parent
//!   directories — is not a `!` exception.

/// A pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid .dockerignore pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

/// The patterns of a `.dockerignore` file, cleaned, in order (`!` kept on exceptions).
pub fn read(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in content.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut p = line.trim();
        if p.is_empty() {
            continue;
        }
        let invert = p.starts_with('!');
        if invert {
            p = p[1..].trim();
        }
        let mut cleaned = String::new();
        if !p.is_empty() {
            cleaned = clean(p);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        out.push(if invert {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    out
}

/// Go's `path.Clean`: lexical, `..` at the root dropped, `""` → `.`.
pub fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(char),
    /// `*`: anything but `/`.
    Star,
    /// `?`: one character but `/`.
    One,
    /// `[...]`: ranges, negated with `^` or `!`.
    Class(Vec<(char, char)>, bool),
    /// `**` followed by more pattern: `(.*/)?`.
    AnyDirs,
    /// `**` at the end: `.*`.
    AnyRest,
}

#[derive(Debug, Clone)]
struct Pattern {
    tokens: Vec<Token>,
    exclusion: bool,
}

/// Compiled patterns.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
}

impl Matcher {
    /// Compiles patterns as [`read`] returns them.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut out = Vec::new();
        for raw in patterns {
            let raw = raw.as_ref();
            if raw.is_empty() {
                continue;
            }
            let (exclusion, body) = match raw.strip_prefix('!') {
                Some("") => {
                    return Err(PatternError {
                        pattern: raw.into(),
                        reason: "illegal exclusion pattern: \"!\"".into(),
                    })
                }
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let body = clean(body);
            out.push(Pattern {
                tokens: compile(&body).map_err(|reason| PatternError {
                    pattern: raw.into(),
                    reason,
                })?,
                exclusion,
            });
        }
        Ok(Self { patterns: out })
    }

    /// Reads and compiles a `.dockerignore` file's content.
    pub fn from_dockerignore(content: &str) -> Result<Self, PatternError> {
        Self::new(&read(content))
    }

    /// Whether any pattern is a `!` exception (then excluded directories must still be
    /// walked: something inside may come back).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path);
        let path = path.trim_start_matches('/');
        let parent = match path.rfind('/') {
            Some(n) => &path[..n],
            None => "",
        };
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut hit = matches(&p.tokens, path);
            if !hit && !parent.is_empty() {
                let mut end = 0;
                for seg in parent.split('/') {
                    end += seg.len();
                    if matches(&p.tokens, &parent[..end]) {
                        hit = true;
                        break;
                    }
                    end += 1;
                }
            }
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }
}

/// Matches one path against one pattern with the same syntax (COPY/ADD source wildcards:
/// `*` stays within a path element).
pub fn glob_match(pattern: &str, path: &str) -> Result<bool, PatternError> {
    let tokens = compile(pattern).map_err(|reason| PatternError {
        pattern: pattern.into(),
        reason,
    })?;
    Ok(matches(&tokens, path))
}

fn compile(p: &str) -> Result<Vec<Token>, String> {
    let c: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '*' if c.get(i + 1) == Some(&'*') => {
                i += 2;
                if c.get(i) == Some(&'/') {
                    i += 1;
                }
                out.push(if i >= c.len() {
                    Token::AnyRest
                } else {
                    Token::AnyDirs
                });
                continue;
            }
            '*' => out.push(Token::Star),
            '?' => out.push(Token::One),
            '\\' => {
                i += 1;
                match c.get(i) {
                    Some(&n) => out.push(Token::Lit(n)),
                    None => return Err("trailing escape".into()),
                }
            }
            '[' => {
                let mut j = i + 1;
                let negated = matches!(c.get(j), Some('^') | Some('!'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let Some(&ch) = c.get(j) else {
                        return Err("unterminated character class".into());
                    };
                    if ch == ']' && !first {
                        break;
                    }
                    first = false;
                    let lo = if ch == '\\' {
                        j += 1;
                        *c.get(j).ok_or("trailing escape")?
                    } else {
                        ch
                    };
                    j += 1;
                    if c.get(j) == Some(&'-') && c.get(j + 1).is_some_and(|n| *n != ']') {
                        let hi = c[j + 1];
                        if hi < lo {
                            return Err("bad character range".into());
                        }
                        ranges.push((lo, hi));
                        j += 2;
                    } else {
                        ranges.push((lo, lo));
                    }
                }
                out.push(Token::Class(ranges, negated));
                i = j;
            }
            ch => out.push(Token::Lit(ch)),
        }
        i += 1;
    }
    Ok(out)
}

fn matches(t: &[Token], s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    match_at(t, &chars)
}

fn match_at(t: &[Token], s: &[char]) -> bool {
    let Some(first) = t.first() else {
        return s.is_empty();
    };
    let rest = &t[1..];
    match first {
        Token::Lit(c) => s.first() == Some(c) && match_at(rest, &s[1..]),
        Token::One => s.first().is_some_and(|c| *c != '/') && match_at(rest, &s[1..]),
        Token::Class(ranges, neg) => {
            s.first().is_some_and(|c| {
                *c != '/' && ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *neg
            }) && match_at(rest, &s[1..])
        }
        Token::Star => {
            for n in 0..=s.len() {
                if match_at(rest, &s[n..]) {
                    return true;
                }
                if n < s.len() && s[n] == '/' {
                    break;
                }
            }
            false
        }
        Token::AnyRest => true,
        // `(.*/)?`: nothing, or anything up to and including a `/`.
        Token::AnyDirs => {
            if match_at(rest, s) {
                return true;
            }
            (0..s.len()).any(|n| s[n] == '/' && match_at(rest, &s[n + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str]) -> Matcher {
        Matcher::new(patterns).unwrap()
    }

    #[test]
    fn reading_cleans_patterns() {
        let p = read("# comment\n\n  *.log  \n!keep.log\n/abs/./x/\n ! spaced\n./a/../b\n#x\n");
        assert_eq!(
            p,
            ["*.log", "!keep.log", "abs/x", "!spaced", "b", "#x"][..5]
        );
        assert_eq!(clean("a//b/./c/.."), "a/b");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn stars_and_classes() {
        let x = m(&["*.go"]);
        assert!(x.excludes("main.go"));
        assert!(!x.excludes("cmd/main.go"), "* stays in one element");
        let x = m(&["**/*.go"]);
        assert!(x.excludes("main.go") && x.excludes("a/b/main.go"));
        let x = m(&["a/**/b"]);
        assert!(x.excludes("a/b") && x.excludes("a/x/y/b") && !x.excludes("ab"));
        let x = m(&["a/**"]);
        assert!(x.excludes("a/x/y") && !x.excludes("b/a"));
        let x = m(&["file?.txt", "[a-c]*.md", "[^x]y"]);
        assert!(x.excludes("file1.txt") && !x.excludes("file12.txt"));
        assert!(x.excludes("b.md") && !x.excludes("d.md"));
        assert!(x.excludes("zy") && !x.excludes("xy"));
        let x = m(&["\\*"]);
        assert!(x.excludes("*") && !x.excludes("a"));
        assert!(Matcher::new(&["[a"]).is_err());
        assert!(Matcher::new(&["!"]).is_err());
        assert!(glob_match("src/*.rs", "src/main.rs").unwrap());
        assert!(!glob_match("*.rs", "src/main.rs").unwrap());
    }

    #[test]
    fn parents_and_exceptions() {
        let x = m(&["node_modules"]);
        assert!(
            x.excludes("node_modules/a/b.js"),
            "a matching parent excludes"
        );
        assert!(!x.excludes("src/node_modules"), "patterns are anchored");
        let x = m(&["*.md", "!README.md"]);
        assert!(x.excludes("CHANGES.md"));
        assert!(!x.excludes("README.md"));
        // The last match wins.
        let x = m(&["!README.md", "*.md"]);
        assert!(x.excludes("README.md"));
        let x = m(&["docs", "!docs/keep"]);
        assert!(x.excludes("docs/a"));
        assert!(!x.excludes("docs/keep") && !x.excludes("docs/keep/inner"));
        assert!(x.has_exceptions());
        let x = m(&["*", "!src"]);
        assert!(x.excludes("Dockerfile") && !x.excludes("src/main.rs"));
        let x = Matcher::from_dockerignore("/build/\n").unwrap();
        assert!(x.excludes("build/out") && x.excludes("./build"));
    }
}
