//! Dockerfile word handling: the parser's splitting of `--flags` and of
//! `name=value` words (quotes kept), and the shell-style word processing
//! (quote removal, `\` escapes, `$VAR`/`${VAR:-word}` expansion) that
//! dispatch applies to ENV, LABEL, EXPOSE, USER, VOLUME, WORKDIR and
//! STOPSIGNAL arguments.

use super::ChangeError;

/// Splits leading `--flag[=value]` words off an instruction's arguments,
/// returning the flags (without quotes) and the rest of the line.
pub(super) fn extract_flags(line: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = line.trim_start();
    while rest.starts_with("--") {
        let end = word_end(rest);
        let word = unquote(&rest[..end]);
        rest = rest[end..].trim_start();
        match word.strip_prefix("--") {
            Some("") | None => break,
            Some(flag) => flags.push(flag.to_string()),
        }
    }
    (flags, rest)
}

/// End of the whitespace-delimited word at the start of `s`, honoring quotes
/// and `\` escapes.
fn word_end(s: &str) -> usize {
    let mut quote = None;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                chars.next();
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            (None, c) if c.is_whitespace() => return i,
            _ => {}
        }
    }
    s.len()
}

/// Removes quotes and `\` escapes from a flag word.
fn unquote(word: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => out.extend(chars.next()),
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            _ => out.push(c),
        }
    }
    out
}

/// The parser's `parseWords`: whitespace-separated words, quotes and escapes
/// kept for the later word processing.
pub(super) fn parse_words(rest: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '\\' && q != '\'' {
                if let Some(n) = chars.next() {
                    word.push(c);
                    word.push(n);
                }
                continue;
            }
            word.push(c);
            continue;
        }
        if c.is_whitespace() {
            if in_word && (blank_ok || !word.is_empty()) {
                words.push(std::mem::take(&mut word));
            }
            in_word = false;
            blank_ok = false;
            continue;
        }
        in_word = true;
        if c == '\'' || c == '"' {
            quote = Some(c);
            blank_ok = true;
        }
        if c == '\\' {
            if let Some(n) = chars.next() {
                word.push(c);
                word.push(n);
            }
            continue;
        }
        word.push(c);
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// Shell-style processing of one word against the environment the
/// instruction sees (`KEY=value` entries).
pub(super) struct Expander<'a> {
    env: &'a [String],
}

impl<'a> Expander<'a> {
    pub(super) fn new(env: &'a [String]) -> Self {
        Expander { env }
    }

    /// `ProcessWord`: quotes removed, escapes applied, variables expanded;
    /// whitespace is kept.
    pub(super) fn word(&self, word: &str) -> Result<String, ChangeError> {
        Ok(self.run(word)?.0)
    }

    /// `ProcessWords`: like [`Expander::word`], then split on unquoted
    /// whitespace, including whitespace that came from a variable.
    pub(super) fn words(&self, word: &str) -> Result<Vec<String>, ChangeError> {
        Ok(self.run(word)?.1.finish())
    }

    fn run(&self, word: &str) -> Result<(String, Words), ChangeError> {
        let mut lexer = Lexer {
            chars: word.chars().collect(),
            pos: 0,
            env: self.env,
        };
        lexer.process(None)
    }
}

/// Collects the words of `ProcessWords`.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    word: String,
    in_word: bool,
}

impl Words {
    /// A character that splits words when it is whitespace.
    fn split_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.raw(&c.to_string());
        }
    }

    /// Text that never splits (quoted or escaped).
    fn raw(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if self.in_word {
            self.words.push(self.word);
        }
        self.words
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    env: &'a [String],
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += usize::from(c.is_some());
        c
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        self.env.iter().find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then_some(v)
        })
    }

    /// Processes until `stop` (consumed) or the end of input.
    fn process(&mut self, stop: Option<char>) -> Result<(String, Words), ChangeError> {
        let mut out = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.next();
                return Ok((out, words));
            }
            match c {
                '\'' => {
                    let s = self.single_quoted()?;
                    words.raw(&s);
                    out.push_str(&s);
                }
                '"' => {
                    let s = self.double_quoted()?;
                    words.raw(&s);
                    out.push_str(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    s.chars().for_each(|c| words.split_char(c));
                    out.push_str(&s);
                }
                '\\' => {
                    self.next();
                    let Some(escaped) = self.next() else { break };
                    words.raw(&escaped.to_string());
                    out.push(escaped);
                }
                _ => {
                    self.next();
                    words.split_char(c);
                    out.push(c);
                }
            }
        }
        match stop {
            Some(stop) => Err(syntax(format!(
                "unexpected end of statement while looking for matching {stop}"
            ))),
            None => Ok((out, words)),
        }
    }

    fn single_quoted(&mut self) -> Result<String, ChangeError> {
        self.next();
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(syntax(
                        "unexpected end of statement while looking for matching single-quote",
                    ))
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ChangeError> {
        self.next();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(syntax(
                        "unexpected end of statement while looking for matching double-quote",
                    ))
                }
                Some('"') => {
                    self.next();
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(_) => {
                    let c = self.next().unwrap_or_default();
                    if c == '\\' {
                        match self.peek() {
                            None => continue,
                            Some('"' | '$' | '\\') => {
                                out.extend(self.next());
                                continue;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// A variable name: letters, digits and `_`, or only digits.
    fn name(&mut self) -> String {
        let mut name = String::new();
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                name.push(c);
                self.next();
            }
            return name;
        }
        while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
            name.push(c);
            self.next();
        }
        name
    }

    fn dollar(&mut self) -> Result<String, ChangeError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(self.lookup(&name).unwrap_or_default().to_string());
        }
        self.next();
        match self.peek() {
            None => return Err(syntax("syntax error: missing '}'")),
            Some('{' | '}' | ':') => return Err(syntax("syntax error: bad substitution")),
            Some(_) => {}
        }
        let name = self.name();
        let value = self.lookup(&name).map(str::to_string);
        let missing_brace = || syntax("syntax error: missing '}'");
        let modifier = match self.next() {
            Some('}') => return Ok(value.unwrap_or_default()),
            Some(':') => match self.next() {
                Some(m @ ('-' | '+' | '?')) => (m, true),
                Some(other) => return Err(unsupported_modifier(other)),
                None => return Err(missing_brace()),
            },
            Some(m @ ('-' | '+' | '?')) => (m, false),
            Some(other) => return Err(unsupported_modifier(other)),
            None => return Err(missing_brace()),
        };
        let word = match self.process(Some('}')) {
            Ok((word, _)) => word,
            Err(_) if self.peek().is_none() => return Err(missing_brace()),
            Err(e) => return Err(e),
        };
        // With `:`, an empty value counts as unset.
        let set = match (&value, modifier.1) {
            (Some(v), true) => !v.is_empty(),
            (v, _) => v.is_some(),
        };
        match modifier.0 {
            '-' if set => Ok(value.unwrap_or_default()),
            '-' => Ok(word),
            '+' if set => Ok(word),
            '+' => Ok(String::new()),
            _ if set => Ok(value.unwrap_or_default()),
            _ => {
                let message = match (word.is_empty(), &value) {
                    (false, _) => word,
                    (true, None) => "is not allowed to be unset".to_string(),
                    (true, Some(_)) => "is not allowed to be empty".to_string(),
                };
                Err(syntax(format!("{name}: {message}")))
            }
        }
    }
}

fn syntax(message: impl Into<String>) -> ChangeError {
    ChangeError::Syntax(message.into())
}

fn unsupported_modifier(c: char) -> ChangeError {
    syntax(format!("unsupported modifier ({c}) in substitution"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<String> {
        ["A=1", "B=x y", "EMPTY=", "HOME=/root"]
            .map(String::from)
            .to_vec()
    }

    fn word(s: &str) -> String {
        let env = env();
        Expander::new(&env).word(s).unwrap()
    }

    fn word_err(s: &str) -> String {
        let env = env();
        Expander::new(&env).word(s).unwrap_err().to_string()
    }

    #[test]
    fn flags() {
        assert_eq!(extract_flags("CMD x"), (vec![], "CMD x"));
        assert_eq!(
            extract_flags(" --interval=5s  --retries=\"3\" CMD x --y"),
            (
                vec!["interval=5s".to_string(), "retries=3".to_string()],
                "CMD x --y"
            )
        );
        assert_eq!(
            extract_flags("--a -- --b c"),
            (vec!["a".to_string()], "--b c")
        );
        assert_eq!(extract_flags("--a"), (vec!["a".to_string()], ""));
    }

    #[test]
    fn parser_words_keep_quotes() {
        assert_eq!(
            parse_words(r#"a=1 b="x y" c=a\ b"#),
            [r"a=1", r#"b="x y""#, r"c=a\ b"]
        );
        assert_eq!(parse_words(r#"  'q w'=1   "" "#), [r"'q w'=1", r#""""#]);
        assert_eq!(parse_words(r#"a="x\"y" z"#), [r#"a="x\"y""#, "z"]);
        assert!(parse_words("   ").is_empty());
    }

    #[test]
    fn expansion() {
        assert_eq!(word("$A"), "1");
        assert_eq!(word("${A}x"), "1x");
        assert_eq!(word("$Ax"), "");
        assert_eq!(word("${NOPE:-def}"), "def");
        assert_eq!(word("${EMPTY:-def}"), "def");
        assert_eq!(word("${EMPTY-def}"), "");
        assert_eq!(word("${NOPE-def}"), "def");
        assert_eq!(word("${A:+alt}"), "alt");
        assert_eq!(word("${EMPTY:+alt}"), "");
        assert_eq!(word("${EMPTY+alt}"), "alt");
        assert_eq!(word("${NOPE:-${A}$A}"), "11");
        assert_eq!(word("${A:?}"), "1");
        assert_eq!(word("a$"), "a$");
        assert_eq!(word("$1x"), "x");
        assert_eq!(word("/x:$PATH"), "/x:");
    }

    #[test]
    fn quoting() {
        assert_eq!(word(r#""$HOME"x"#), "/rootx");
        assert_eq!(word("'$HOME'"), "$HOME");
        assert_eq!(word(r"\$A"), "$A");
        assert_eq!(word(r"a\ b"), "a b");
        assert_eq!(word(r#""a\"b\$c\d""#), r#"a"b$c\d"#);
        assert_eq!(word("x y  z"), "x y  z");
        assert_eq!(word("trailing\\"), "trailing");
    }

    #[test]
    fn errors() {
        assert_eq!(word_err("${A"), "syntax error: missing '}'");
        assert_eq!(word_err("${A:"), "syntax error: missing '}'");
        assert_eq!(word_err("${A:-x"), "syntax error: missing '}'");
        assert_eq!(word_err("${}"), "syntax error: bad substitution");
        assert_eq!(word_err("${:a}"), "syntax error: bad substitution");
        assert_eq!(
            word_err("${A:%x}"),
            "unsupported modifier (%) in substitution"
        );
        assert_eq!(word_err("${NOPE?}"), "NOPE: is not allowed to be unset");
        assert_eq!(word_err("${EMPTY:?}"), "EMPTY: is not allowed to be empty");
        assert_eq!(word_err("${NOPE:?set it}"), "NOPE: set it");
        assert_eq!(
            word_err("'open"),
            "unexpected end of statement while looking for matching single-quote"
        );
        assert_eq!(
            word_err("\"open"),
            "unexpected end of statement while looking for matching double-quote"
        );
    }

    #[test]
    fn words_split_on_unquoted_space() {
        let env = env();
        let e = Expander::new(&env);
        assert_eq!(e.words("80 $B").unwrap(), ["80", "x", "y"]);
        assert_eq!(e.words("\"$B\" z").unwrap(), ["x y", "z"]);
        assert_eq!(e.words(r"a\ b").unwrap(), ["a b"]);
    }
}
