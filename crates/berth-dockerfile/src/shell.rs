//! Docker's word expansion for Dockerfile arguments (`shell/lex.go`): variables, quotes
//! and the escape character — not a shell: no commands, globs or arithmetic.
//!
//! - `$VAR`, `${VAR}`; unset variables expand to nothing.
//! - `${VAR:-word}` (unset or empty → word), `${VAR-word}` (unset → word),
//!   `${VAR:+word}` (set and non-empty → word), `${VAR+word}` (set → word),
//!   `${VAR:?msg}` / `${VAR?msg}` (an error when unset/empty); `word` is expanded too.
//! - `'...'` is literal; `"..."` expands variables, and the escape character there only
//!   escapes `"`, `$` and itself; outside quotes it escapes any character.
//! - Quotes are removed. [`Expander::words`] also splits on blanks outside quotes, the
//!   results of unquoted variables included.

/// An expansion error, in Docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExpandError(pub String);

/// Expands words against a variable lookup.
pub struct Expander<'a> {
    escape: char,
    vars: &'a dyn Fn(&str) -> Option<String>,
}

/// A lookup over `KEY=value` entries (the last of a name wins, like a process environment
/// built by appending).
pub fn env_lookup(env: &[String]) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        env.iter().rev().find_map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            (k == name).then(|| v.to_string())
        })
    }
}

impl<'a> Expander<'a> {
    pub fn new(escape: char, vars: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { escape, vars }
    }

    /// One word, quotes removed, no splitting.
    pub fn word(&self, s: &str) -> Result<String, ExpandError> {
        let mut out = Fields::new(false);
        self.process(&s.chars().collect::<Vec<_>>(), &mut out)?;
        Ok(out.into_vec().concat())
    }

    /// Words split on blanks outside quotes.
    pub fn words(&self, s: &str) -> Result<Vec<String>, ExpandError> {
        let mut out = Fields::new(true);
        self.process(&s.chars().collect::<Vec<_>>(), &mut out)?;
        Ok(out.into_vec())
    }

    fn process(&self, c: &[char], out: &mut Fields) -> Result<(), ExpandError> {
        let mut i = 0;
        while i < c.len() {
            let ch = c[i];
            if ch == '\'' {
                let end = c[i + 1..].iter().position(|&x| x == '\'').ok_or_else(|| {
                    ExpandError(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                })?;
                out.quoted(&c[i + 1..i + 1 + end].iter().collect::<String>());
                i += end + 2;
            } else if ch == '"' {
                i = self.double_quoted(c, i + 1, out)?;
            } else if ch == self.escape {
                match c.get(i + 1) {
                    Some(&n) => out.quoted(&n.to_string()),
                    None => out.literal(ch),
                }
                i += 2;
            } else if ch == '$' {
                let (value, next) = self.dollar(c, i)?;
                match value {
                    Some(v) => out.unquoted(&v),
                    None => out.literal('$'),
                }
                i = next;
            } else {
                out.literal(ch);
                i += 1;
            }
        }
        Ok(())
    }

    /// From just after an opening `"`; returns the index after the closing one.
    fn double_quoted(
        &self,
        c: &[char],
        mut i: usize,
        out: &mut Fields,
    ) -> Result<usize, ExpandError> {
        let mut s = String::new();
        loop {
            let Some(&ch) = c.get(i) else {
                return Err(ExpandError(
                    "unexpected end of statement while looking for matching double-quote".into(),
                ));
            };
            if ch == '"' {
                out.quoted(&s);
                return Ok(i + 1);
            }
            if ch == self.escape {
                match c.get(i + 1) {
                    Some(&n) if n == '"' || n == '$' || n == self.escape => {
                        s.push(n);
                        i += 2;
                    }
                    _ => {
                        s.push(ch);
                        i += 1;
                    }
                }
                continue;
            }
            if ch == '$' {
                let (value, next) = self.dollar(c, i)?;
                match value {
                    Some(v) => s.push_str(&v),
                    None => s.push('$'),
                }
                i = next;
                continue;
            }
            s.push(ch);
            i += 1;
        }
    }

    /// At a `$`: the expansion (None: a literal `$`) and the index after it.
    fn dollar(&self, c: &[char], i: usize) -> Result<(Option<String>, usize), ExpandError> {
        let lookup = |name: &str| (self.vars)(name);
        match c.get(i + 1) {
            Some('{') => self.braced(c, i + 2),
            Some(&d) if d.is_ascii_digit() => {
                Ok((Some(lookup(&d.to_string()).unwrap_or_default()), i + 2))
            }
            Some(&f) if f.is_ascii_alphabetic() || f == '_' => {
                let end = c[i + 1..]
                    .iter()
                    .position(|x| !(x.is_ascii_alphanumeric() || *x == '_'))
                    .map(|n| i + 1 + n)
                    .unwrap_or(c.len());
                let name: String = c[i + 1..end].iter().collect();
                Ok((Some(lookup(&name).unwrap_or_default()), end))
            }
            _ => Ok((None, i + 1)),
        }
    }

    /// From just after `${`.
    fn braced(&self, c: &[char], start: usize) -> Result<(Option<String>, usize), ExpandError> {
        let name_end = c[start..]
            .iter()
            .position(|x| !(x.is_ascii_alphanumeric() || *x == '_'))
            .map(|n| start + n)
            .unwrap_or(c.len());
        let name: String = c[start..name_end].iter().collect();
        let Some(&next) = c.get(name_end) else {
            return Err(ExpandError("missing '}'".into()));
        };
        if name.is_empty() {
            return Err(ExpandError("bad substitution".into()));
        }
        let value = (self.vars)(&name);
        if next == '}' {
            return Ok((Some(value.unwrap_or_default()), name_end + 1));
        }
        let (colon, op_at) = if next == ':' {
            (true, name_end + 1)
        } else {
            (false, name_end)
        };
        let Some(&op) = c.get(op_at) else {
            return Err(ExpandError("missing '}'".into()));
        };
        if !matches!(op, '-' | '+' | '?') {
            return Err(ExpandError(format!(
                "unsupported modifier ({}{op}) in substitution",
                if colon { ":" } else { "" }
            )));
        }
        // The word runs to the matching `}` (nested `${...}` allowed).
        let word_start = op_at + 1;
        let mut depth = 0;
        let mut j = word_start;
        let word_end = loop {
            match c.get(j) {
                None => return Err(ExpandError("missing '}'".into())),
                Some(&e) if e == self.escape => j += 2,
                Some('$') if c.get(j + 1) == Some(&'{') => {
                    depth += 1;
                    j += 2;
                }
                Some('}') if depth == 0 => break j,
                Some('}') => {
                    depth -= 1;
                    j += 1;
                }
                Some(_) => j += 1,
            }
        };
        let raw: String = c[word_start..word_end].iter().collect();
        let set = value.is_some();
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let present = if colon { non_empty } else { set };
        let result = match op {
            '-' if present => value.unwrap_or_default(),
            '-' => self.word(&raw)?,
            '+' if present => self.word(&raw)?,
            '+' => String::new(),
            _ if present => value.unwrap_or_default(),
            _ => {
                let msg = self.word(&raw)?;
                return Err(ExpandError(if msg.is_empty() {
                    format!("{name}: parameter null or not set")
                } else {
                    format!("{name}: {msg}")
                }));
            }
        };
        Ok((Some(result), word_end + 1))
    }
}

/// The words being built; with `split`, unquoted blanks end a word.
struct Fields {
    split: bool,
    words: Vec<String>,
    cur: String,
    /// The current word exists even if empty (`""`).
    started: bool,
}

impl Fields {
    fn new(split: bool) -> Self {
        Self {
            split,
            words: Vec::new(),
            cur: String::new(),
            started: false,
        }
    }

    fn end_word(&mut self) {
        if self.started {
            self.words.push(std::mem::take(&mut self.cur));
            self.started = false;
        }
    }

    fn literal(&mut self, c: char) {
        if self.split && (c == ' ' || c == '\t' || c == '\n') {
            self.end_word();
        } else {
            self.cur.push(c);
            self.started = true;
        }
    }

    fn unquoted(&mut self, s: &str) {
        for c in s.chars() {
            self.literal(c);
        }
    }

    fn quoted(&mut self, s: &str) {
        self.cur.push_str(s);
        self.started = true;
    }

    fn into_vec(mut self) -> Vec<String> {
        self.end_word();
        self.words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<String> {
        ["A=1", "B=two words", "EMPTY=", "A=one"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn word(s: &str) -> Result<String, ExpandError> {
        let env = env();
        let lookup = env_lookup(&env);
        Expander::new('\\', &lookup).word(s)
    }

    fn words(s: &str) -> Vec<String> {
        let env = env();
        let lookup = env_lookup(&env);
        Expander::new('\\', &lookup).words(s).unwrap()
    }

    #[test]
    fn variables() {
        assert_eq!(word("$A").unwrap(), "one", "the last definition wins");
        assert_eq!(word("${A}x").unwrap(), "onex");
        assert_eq!(word("$Ax").unwrap(), "", "$Ax is the variable Ax");
        assert_eq!(word("a$NOPE-b").unwrap(), "a-b");
        assert_eq!(word("$").unwrap(), "$");
        assert_eq!(word("$ x").unwrap(), "$ x");
        assert_eq!(word("5$%").unwrap(), "5$%");
        assert_eq!(word("$1x").unwrap(), "x");
    }

    #[test]
    fn modifiers() {
        assert_eq!(word("${NOPE:-def}").unwrap(), "def");
        assert_eq!(word("${EMPTY:-def}").unwrap(), "def");
        assert_eq!(word("${EMPTY-def}").unwrap(), "");
        assert_eq!(word("${NOPE-def}").unwrap(), "def");
        assert_eq!(word("${A:-def}").unwrap(), "one");
        assert_eq!(word("${A:+alt}").unwrap(), "alt");
        assert_eq!(word("${EMPTY:+alt}").unwrap(), "");
        assert_eq!(word("${EMPTY+alt}").unwrap(), "alt");
        assert_eq!(word("${NOPE:+alt}").unwrap(), "");
        assert_eq!(word("${NOPE:-${A}-x}").unwrap(), "one-x", "nested");
        assert_eq!(
            word("${NOPE:-'q}'}").unwrap_err().0,
            "unexpected end of statement while looking for matching single-quote"
        );
        assert_eq!(word("${NOPE:-a b}").unwrap(), "a b");
        assert_eq!(
            word("${NOPE:?is required}").unwrap_err().0,
            "NOPE: is required"
        );
        assert_eq!(word("${A:?x}").unwrap(), "one");
        assert_eq!(word("${A").unwrap_err().0, "missing '}'");
        assert_eq!(word("${A:-x").unwrap_err().0, "missing '}'");
        assert_eq!(word("${}").unwrap_err().0, "bad substitution");
        assert!(word("${A%%x}")
            .unwrap_err()
            .0
            .contains("unsupported modifier"));
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(word("'$A'").unwrap(), "$A");
        assert_eq!(word("\"$A\"").unwrap(), "one");
        assert_eq!(word("\"a\\\"b\\$A\\\\c\\d\"").unwrap(), "a\"b$A\\c\\d");
        assert_eq!(word("\\$A").unwrap(), "$A");
        assert_eq!(word("a\\ b").unwrap(), "a b");
        assert_eq!(word("x\\").unwrap(), "x\\");
        assert!(word("\"open").is_err());
        assert!(word("'open").is_err());
        // Backtick as the escape character: backslashes are text.
        let env = env();
        let lookup = env_lookup(&env);
        let e = Expander::new('`', &lookup);
        assert_eq!(e.word("c:\\dir `$A").unwrap(), "c:\\dir $A");
    }

    #[test]
    fn field_splitting() {
        assert_eq!(words("a  b"), ["a", "b"]);
        assert_eq!(words("$B x"), ["two", "words", "x"]);
        assert_eq!(words("\"$B\" x"), ["two words", "x"]);
        assert_eq!(words("'' x"), ["", "x"]);
        assert_eq!(words("pre$B"), ["pretwo", "words"]);
        assert_eq!(words("$NOPE"), Vec::<String>::new());
        assert_eq!(word("$B").unwrap(), "two words");
    }
}
