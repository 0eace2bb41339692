//! Dockerfile text → parser directives and one [`Node`] per instruction.
//!
//! The rules (Docker's, BuildKit's parser):
//! - Parser directives (`# syntax=...`, `# escape=...`, `# check=...`) are only read at the
//!   very top; the first line that is not a directive (a comment, a blank line, an
//!   instruction) ends them. A repeated directive is an error; `escape` is `\` or `` ` ``.
//! - A line whose last non-blank character is the escape character continues on the next
//!   line; comment lines and blank lines inside a continuation are skipped.
//! - Lines whose first non-blank character is `#` are comments (`#` elsewhere is text).
//! - `RUN`, `COPY` and `ADD` may name heredocs (`<<EOF`, `<<-EOF` strips leading tabs,
//!   `<<"EOF"` / `<<'EOF'` turns expansion off); their bodies are the lines after the
//!   instruction up to the terminator line.

use crate::error::ParseError;
use crate::instruction::KNOWN_INSTRUCTIONS;

/// Parser directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub syntax: Option<String>,
    pub check: Option<String>,
    /// The escape character: `\` (default) or `` ` ``.
    pub escape: char,
}

impl Default for Directives {
    fn default() -> Self {
        Self {
            syntax: None,
            check: None,
            escape: '\\',
        }
    }
}

/// A heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word (quotes removed).
    pub name: String,
    /// The body, each line ending in `\n`.
    pub content: String,
    /// False when the terminator was quoted: no variable expansion in the body.
    pub expand: bool,
    /// `<<-`: leading tabs were stripped from the body and terminator.
    pub chomp: bool,
}

/// One instruction as written: keyword, flags and the rest of its (logical) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Lowercase keyword (`run`, `copy`...).
    pub keyword: String,
    /// `--name=value` flags before the arguments, without the leading `--`.
    pub flags: Vec<String>,
    /// The arguments after keyword and flags, trimmed.
    pub args: String,
    /// The logical line (continuations joined), trimmed: what `docker history` shows.
    pub original: String,
    /// First and last source line (1-based), heredoc bodies included in `end_line`.
    pub line: usize,
    pub end_line: usize,
    /// Column of the keyword and of the arguments on the first line (1-based).
    pub column: usize,
    pub args_column: usize,
    pub heredocs: Vec<Heredoc>,
    /// The escape character in effect.
    pub escape: char,
}

impl Node {
    pub(crate) fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line, self.args_column, message)
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dockerfile {
    pub directives: Directives,
    pub nodes: Vec<Node>,
}

/// Instructions that take `--flags` before their arguments.
const FLAGGED: [&str; 5] = ["from", "run", "copy", "add", "healthcheck"];
/// Instructions whose arguments may name heredocs.
const HEREDOCS: [&str; 3] = ["run", "copy", "add"];

/// Parses a whole Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let (directives, mut i) = read_directives(&lines)?;
    let escape = directives.escape;
    let mut nodes = Vec::new();
    while i < lines.len() {
        let raw = lines[i];
        let t = trim_start(raw);
        if t.is_empty() || t.starts_with('#') {
            i += 1;
            continue;
        }
        let line = i + 1;
        let column = raw[..raw.len() - t.len()].chars().count() + 1;
        let mut logical = String::new();
        let mut cur = t;
        loop {
            match continuation(cur, escape) {
                Some(part) => {
                    logical.push_str(part);
                    i += 1;
                    while i < lines.len() && {
                        let n = trim_start(lines[i]);
                        n.is_empty() || n.starts_with('#')
                    } {
                        i += 1;
                    }
                    if i >= lines.len() {
                        break;
                    }
                    cur = lines[i];
                }
                None => {
                    logical.push_str(cur);
                    i += 1;
                    break;
                }
            }
        }
        let mut node = split_node(&logical, line, column, escape)?;
        if HEREDOCS.contains(&node.keyword.as_str()) {
            for (name, expand, chomp) in heredoc_words(&node.args, escape) {
                let start = i;
                let mut content = String::new();
                let mut found = false;
                while i < lines.len() {
                    let l = lines[i];
                    i += 1;
                    let l = if chomp { l.trim_start_matches('\t') } else { l };
                    if l == name {
                        found = true;
                        break;
                    }
                    content.push_str(l);
                    content.push('\n');
                }
                if !found {
                    return Err(ParseError::new(
                        start,
                        1,
                        format!("unterminated heredoc: no line {name:?} ends it"),
                    ));
                }
                node.heredocs.push(Heredoc {
                    name,
                    content,
                    expand,
                    chomp,
                });
            }
        }
        node.end_line = i.max(line);
        nodes.push(node);
    }
    Ok(Dockerfile { directives, nodes })
}

/// Parses one instruction line (an `ONBUILD` trigger, a `--change`): no heredocs.
pub(crate) fn parse_line(text: &str, line: usize, escape: char) -> Result<Node, ParseError> {
    let t = trim_start(text);
    let column = text.len() - t.len() + 1;
    split_node(t.trim_end(), line, column, escape)
}

fn trim_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// The line without its trailing escape character when it continues on the next one.
fn continuation(line: &str, escape: char) -> Option<&str> {
    let t = line.trim_end_matches([' ', '\t']);
    t.strip_suffix(escape)
}

fn read_directives(lines: &[&str]) -> Result<(Directives, usize), ParseError> {
    let mut d = Directives::default();
    let mut seen: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((key, value)) = directive(lines[i]) else {
            break;
        };
        let lower = key.to_ascii_lowercase();
        if !["syntax", "escape", "check"].contains(&lower.as_str()) {
            // Unknown directives are comments, and end the directives.
            break;
        }
        if seen.contains(&lower) {
            return Err(ParseError::new(
                i + 1,
                1,
                format!("only one {lower} parser directive can be used"),
            ));
        }
        seen.push(lower.clone());
        match lower.as_str() {
            "syntax" => d.syntax = Some(value.to_string()),
            "check" => d.check = Some(value.to_string()),
            _ => {
                d.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(ParseError::new(
                            i + 1,
                            1,
                            format!("invalid escape token '{other}' does not match ` or \\"),
                        ))
                    }
                }
            }
        }
        i += 1;
    }
    Ok((d, i))
}

/// `# key=value` → (key, value).
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = trim_start(line).strip_prefix('#')?;
    let (key, value) = rest.split_once('=')?;
    let key = key.trim_matches([' ', '\t']);
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((key, value.trim_matches([' ', '\t'])))
}

fn split_node(logical: &str, line: usize, column: usize, escape: char) -> Result<Node, ParseError> {
    let logical = logical.trim_end_matches([' ', '\t']);
    let (word, rest) = match logical.find([' ', '\t']) {
        Some(n) => (&logical[..n], &logical[n..]),
        None => (logical, ""),
    };
    let keyword = word.to_ascii_lowercase();
    if !KNOWN_INSTRUCTIONS.contains(&keyword.as_str()) {
        return Err(ParseError::new(
            line,
            column,
            format!("unknown instruction: {}", word.to_uppercase()),
        ));
    }
    let mut args = trim_start(rest);
    let mut flags = Vec::new();
    if FLAGGED.contains(&keyword.as_str()) {
        while let Some(after) = args.strip_prefix("--") {
            let end = flag_end(after, escape);
            if end == 0 {
                break;
            }
            flags.push(after[..end].to_string());
            args = trim_start(&after[end..]);
        }
    }
    let consumed = logical.len() - args.len();
    let first_line_len = logical.len();
    let args_column = column + logical[..consumed.min(first_line_len)].chars().count();
    Ok(Node {
        keyword,
        flags,
        args: args.to_string(),
        original: logical.to_string(),
        line,
        end_line: line,
        column,
        args_column,
        heredocs: Vec::new(),
        escape,
    })
}

/// Where a flag word ends: at unquoted whitespace.
fn flag_end(s: &str, escape: char) -> usize {
    let mut quote: Option<char> = None;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == escape => {
                chars.next();
            }
            None if c == ' ' || c == '\t' => return i,
            None => {}
        }
    }
    s.len()
}

/// The heredocs an instruction's arguments name, in order: (name, expand, chomp).
pub(crate) fn heredoc_words(args: &str, escape: char) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    for word in crate::instruction::split_words(args, escape) {
        if let Some(h) = heredoc_word(&word) {
            out.push(h);
        }
    }
    out
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF` → (name, expand, chomp); `<<<` is not one.
pub(crate) fn heredoc_word(word: &str) -> Option<(String, bool, bool)> {
    let w = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = w.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.starts_with('<') {
        return None;
    }
    let end = rest
        .find([';', '|', '&', '<', '>', '(', ')'])
        .unwrap_or(rest.len());
    let raw = &rest[..end];
    let quoted = raw.contains(['"', '\'']);
    let name: String = raw.chars().filter(|c| *c != '"' && *c != '\'').collect();
    if name.is_empty() {
        return None;
    }
    Some((name, !quoted, chomp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(text: &str) -> Vec<Node> {
        parse(text).unwrap().nodes
    }

    #[test]
    fn directives_only_at_the_top() {
        let d = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n").unwrap();
        assert_eq!(d.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(d.directives.escape, '`');
        // After a comment, a directive is just a comment.
        let d = parse("# hello\n# escape=`\nFROM x\n").unwrap();
        assert_eq!(d.directives.escape, '\\');
        // An unknown directive ends them too.
        let d = parse("# foo=bar\n# escape=`\nFROM x\n").unwrap();
        assert_eq!(d.directives.escape, '\\');
        // After a blank line as well.
        let d = parse("\n# escape=`\nFROM x\n").unwrap();
        assert_eq!(d.directives.escape, '\\');
        // Case and spaces.
        let d = parse("#  ESCAPE = ` \nFROM x\n").unwrap();
        assert_eq!(d.directives.escape, '`');
        let e = parse("# escape=\\\n# escape=`\nFROM x").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.message.contains("only one escape"), "{e}");
        let e = parse("# escape=x\nFROM x").unwrap_err();
        assert!(e.message.contains("invalid escape token"), "{e}");
    }

    #[test]
    fn continuations_and_comments() {
        let n = nodes(
            "FROM busybox\n\n# a comment\n  RUN echo a \\\n# inside\n\n    b \\\n  c\nCMD x # not a comment\n",
        );
        assert_eq!(n.len(), 3);
        assert_eq!(n[1].keyword, "run");
        assert_eq!(n[1].args, "echo a     b   c");
        assert_eq!((n[1].line, n[1].column, n[1].end_line), (4, 3, 8));
        assert_eq!(n[2].args, "x # not a comment");
        assert_eq!(n[2].line, 9);
        // Backtick escape: backslashes are plain text.
        let n = nodes("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo hi\n");
        assert_eq!(n[1].args, "dir c:\\   && echo hi");
        // A continuation at the end of the file.
        let n = nodes("FROM x\nRUN a \\");
        assert_eq!(n[1].args, "a");
        // CRLF line ends.
        let n = nodes("FROM x\r\nRUN a \\\r\n b\r\n");
        assert_eq!(n[1].args, "a  b");
    }

    #[test]
    fn keywords_and_flags() {
        let n =
            nodes("from --platform=linux/amd64 busybox AS b\ncopy --from=b --chown=1:1 /a /b\n");
        assert_eq!(n[0].keyword, "from");
        assert_eq!(n[0].flags, ["platform=linux/amd64"]);
        assert_eq!(n[0].args, "busybox AS b");
        assert_eq!(n[0].args_column, 29);
        assert_eq!(n[1].flags, ["from=b", "chown=1:1"]);
        // Flags only for the instructions that take them.
        let n = nodes("FROM x\nCMD --help\n");
        assert!(n[1].flags.is_empty());
        assert_eq!(n[1].args, "--help");
        let e = parse("FROM x\n\n  FOO bar\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3));
        assert_eq!(e.message, "unknown instruction: FOO");
        assert_eq!(
            e.to_string(),
            "Dockerfile parse error line 3, column 3: unknown instruction: FOO"
        );
    }

    #[test]
    fn heredocs() {
        let n = nodes(
            "FROM x\nRUN <<EOF\necho hi\n  echo $A\nEOF\nCOPY <<-'END' <<two /dst/\n\tline\n\tEND\nsecond\ntwo\nCMD x\n",
        );
        assert_eq!(n.len(), 4);
        assert_eq!(
            n[1].heredocs,
            [Heredoc {
                name: "EOF".into(),
                content: "echo hi\n  echo $A\n".into(),
                expand: true,
                chomp: false
            }]
        );
        assert_eq!(n[1].end_line, 5);
        assert_eq!(n[2].heredocs.len(), 2);
        assert_eq!(n[2].heredocs[0].content, "line\n");
        assert!(!n[2].heredocs[0].expand && n[2].heredocs[0].chomp);
        assert_eq!(n[2].heredocs[1].name, "two");
        assert_eq!(n[2].heredocs[1].content, "second\n");
        assert_eq!(n[3].keyword, "cmd");
        assert_eq!(n[3].line, 11);
        // Not heredocs: a here-string, or a heredoc in CMD.
        let n = nodes("FROM x\nRUN cat <<<word\nCMD cat <<EOF\n");
        assert!(n[1].heredocs.is_empty() && n[2].heredocs.is_empty());
        // Quoted `<<` is text.
        let n = nodes("FROM x\nRUN echo '<<EOF'\n");
        assert!(n[1].heredocs.is_empty());
        let e = parse("FROM x\nRUN <<EOF\necho\n").unwrap_err();
        assert!(e.message.contains("unterminated heredoc"), "{e}");
        assert_eq!(
            heredoc_word("3<<EOF>out"),
            Some(("EOF".into(), true, false))
        );
    }
}
