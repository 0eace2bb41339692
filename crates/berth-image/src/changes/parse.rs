//! Parsing change lines into instructions, as Docker's Dockerfile parser
//! and instruction parser do (no variable expansion yet: that happens at
//! dispatch, against the environment of the moment).

use super::healthcheck;
use super::words::{extract_flags, parse_words};
use super::ChangeError;
use crate::config::HealthConfig;

/// One parsed change.
#[derive(Debug, PartialEq)]
pub(super) enum Instruction {
    Cmd(CmdLine),
    Entrypoint(CmdLine),
    /// `(name, value)` words, still quoted.
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    /// Port words, still quoted.
    Expose(Vec<String>),
    Healthcheck(HealthConfig),
    /// The trigger expression, verbatim.
    OnBuild(String),
    StopSignal(String),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
}

/// The arguments of CMD, ENTRYPOINT or HEALTHCHECK CMD: JSON (exec) form,
/// or shell form (one string, run through the shell).
#[derive(Debug, PartialEq)]
pub(super) struct CmdLine {
    pub args: Vec<String>,
    pub json: bool,
}

/// Joins lines ending in `\` and drops blank and `#` comment lines.
pub(super) fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut continuing = false;
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match raw.trim_end().strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                continuing = true;
            }
            None => {
                current.push_str(raw);
                lines.push(std::mem::take(&mut current));
                continuing = false;
            }
        }
    }
    if continuing && !current.trim().is_empty() {
        lines.push(current);
    }
    lines
}

/// The instruction keyword of a line, lowercased.
pub(super) fn keyword(line: &str) -> String {
    split_keyword(line).0.to_lowercase()
}

fn split_keyword(line: &str) -> (&str, &str) {
    let line = line.trim();
    line.split_once(char::is_whitespace).unwrap_or((line, ""))
}

/// Parses one logical line whose keyword is an allowed change command.
pub(super) fn parse(line: &str) -> Result<Instruction, ChangeError> {
    let (keyword, after) = split_keyword(line);
    let keyword = keyword.to_uppercase();
    let (flags, rest) = extract_flags(after);
    let rest = rest.trim();
    if keyword == "HEALTHCHECK" {
        return healthcheck::parse(&flags, rest).map(Instruction::Healthcheck);
    }
    let need_args = |exactly_one: bool| -> Result<(), ChangeError> {
        match (rest.is_empty(), exactly_one) {
            (false, _) => Ok(()),
            (true, true) => Err(syntax(format!("{keyword} requires exactly one argument"))),
            (true, false) => Err(syntax(format!("{keyword} requires at least one argument"))),
        }
    };
    let instruction = match keyword.as_str() {
        "CMD" => Instruction::Cmd(maybe_json(rest)?),
        "ENTRYPOINT" => Instruction::Entrypoint(maybe_json(rest)?),
        "ENV" => Instruction::Env(name_values(rest, &keyword)?),
        "LABEL" => Instruction::Label(name_values(rest, &keyword)?),
        "EXPOSE" => {
            need_args(false)?;
            Instruction::Expose(rest.split_whitespace().map(String::from).collect())
        }
        "ONBUILD" => {
            need_args(false)?;
            Instruction::OnBuild(onbuild(rest)?)
        }
        "STOPSIGNAL" => {
            need_args(true)?;
            Instruction::StopSignal(rest.to_string())
        }
        "USER" => {
            need_args(true)?;
            Instruction::User(rest.to_string())
        }
        "VOLUME" => Instruction::Volume(volumes(rest)?),
        "WORKDIR" => {
            need_args(true)?;
            Instruction::Workdir(rest.to_string())
        }
        _ => return Err(ChangeError::NotAllowed(keyword.to_lowercase())),
    };
    reject_flags(&flags)?;
    Ok(instruction)
}

/// Instructions other than HEALTHCHECK take no flags.
fn reject_flags(flags: &[String]) -> Result<(), ChangeError> {
    match flags.first() {
        Some(flag) => {
            let name = flag.split('=').next().unwrap_or_default();
            Err(syntax(format!("unknown flag: --{name}")))
        }
        None => Ok(()),
    }
}

/// `parseMaybeJSON`: a JSON array of strings, or else the shell form.
pub(super) fn maybe_json(rest: &str) -> Result<CmdLine, ChangeError> {
    if rest.is_empty() {
        return Ok(CmdLine {
            args: Vec::new(),
            json: false,
        });
    }
    match json_strings(rest)? {
        Some(args) => Ok(CmdLine { args, json: true }),
        None => Ok(CmdLine {
            args: vec![rest.to_string()],
            json: false,
        }),
    }
}

/// `Some` for a JSON array of strings, `None` when `rest` is not a JSON
/// array, an error for an array with non-strings in it.
fn json_strings(rest: &str) -> Result<Option<Vec<String>>, ChangeError> {
    if !rest.starts_with('[') {
        return Ok(None);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else {
        return Ok(None);
    };
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(syntax(
                "when using JSON array syntax, arrays must be comprised of strings only",
            )),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// `parseNameVal`: `name=value ...`, or the legacy `name value`.
fn name_values(rest: &str, keyword: &str) -> Result<Vec<(String, String)>, ChangeError> {
    let words = parse_words(rest);
    let Some(first) = words.first() else {
        return Err(syntax(format!("{keyword} requires at least one argument")));
    };
    let pairs = if !first.contains('=') {
        let Some((name, value)) = rest.split_once(char::is_whitespace) else {
            return Err(syntax(format!("{keyword} must have two arguments")));
        };
        vec![(name.to_string(), value.trim_start().to_string())]
    } else {
        words
            .iter()
            .map(|word| match word.split_once('=') {
                Some((k, v)) => Ok((k.to_string(), v.to_string())),
                None => Err(syntax(format!(
                    "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    if pairs.iter().any(|(k, _)| k.is_empty()) {
        return Err(syntax(format!("{keyword} names can not be blank")));
    }
    Ok(pairs)
}

/// `VOLUME ["/a", "/b"]` or `VOLUME /a /b`.
fn volumes(rest: &str) -> Result<Vec<String>, ChangeError> {
    let list = match json_strings(rest)? {
        Some(list) => list,
        None => rest.split_whitespace().map(String::from).collect(),
    };
    if list.is_empty() {
        return Err(syntax("VOLUME requires at least one argument"));
    }
    if list.iter().any(|v| v.trim().is_empty()) {
        return Err(syntax("VOLUME specified can not be an empty string"));
    }
    Ok(list.into_iter().map(|v| v.trim().to_string()).collect())
}

/// Validates an ONBUILD trigger and returns the expression to store.
fn onbuild(rest: &str) -> Result<String, ChangeError> {
    let trigger = split_keyword(rest).0.to_uppercase();
    match trigger.as_str() {
        "ONBUILD" => Err(syntax(
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        )),
        "FROM" | "MAINTAINER" => Err(syntax(format!(
            "{trigger} isn't allowed as an ONBUILD trigger"
        ))),
        _ => Ok(rest.to_string()),
    }
}

pub(super) fn syntax(message: impl Into<String>) -> ChangeError {
    ChangeError::Syntax(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn err(line: &str) -> String {
        parse(line).unwrap_err().to_string()
    }

    #[test]
    fn lines() {
        let text = "CMD a\n  # comment\n\nENV A=1 \\\n  B=2\r\nUSER x\\";
        assert_eq!(
            logical_lines(text),
            strings(&["CMD a", "ENV A=1   B=2", "USER x"])
        );
        assert!(logical_lines("# only\n\n").is_empty());
        assert_eq!(keyword("  cmd x"), "cmd");
        assert_eq!(keyword("Healthcheck"), "healthcheck");
    }

    #[test]
    fn cmd_forms() {
        let cmd = |args: &[&str], json| {
            Instruction::Cmd(CmdLine {
                args: strings(args),
                json,
            })
        };
        assert_eq!(
            parse(r#"CMD ["a" ,  "b"]  "#).unwrap(),
            cmd(&["a", "b"], true)
        );
        assert_eq!(parse("cmd echo  hi").unwrap(), cmd(&["echo  hi"], false));
        assert_eq!(parse(r#"CMD ["a","#).unwrap(), cmd(&[r#"["a","#], false));
        assert_eq!(parse("CMD").unwrap(), cmd(&[], false));
        assert_eq!(parse("CMD []").unwrap(), cmd(&[], true));
        assert_eq!(
            err("CMD [1,2]"),
            "when using JSON array syntax, arrays must be comprised of strings only"
        );
        assert_eq!(err("CMD --foo bar"), "unknown flag: --foo");
        assert_eq!(err("ENV --x a=b"), "unknown flag: --x");
    }

    #[test]
    fn env_and_label() {
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            parse(r#"ENV a=1 b="x y" c=a\ b"#).unwrap(),
            Instruction::Env(pairs(&[("a", "1"), ("b", r#""x y""#), ("c", r"a\ b")]))
        );
        assert_eq!(
            parse("ENV A B  C").unwrap(),
            Instruction::Env(pairs(&[("A", "B  C")]))
        );
        assert_eq!(
            parse(r#"LABEL "x y"=z q="#).unwrap(),
            Instruction::Label(pairs(&[(r#""x y""#, "z"), ("q", "")]))
        );
        assert_eq!(err("ENV"), "ENV requires at least one argument");
        assert_eq!(err("ENV A"), "ENV must have two arguments");
        assert_eq!(err("LABEL a"), "LABEL must have two arguments");
        assert_eq!(
            err("ENV a=1 b"),
            r#"Syntax error - can't find = in "b". Must be of the form: name=value"#
        );
        assert_eq!(err("ENV =x"), "ENV names can not be blank");
    }

    #[test]
    fn single_argument_instructions() {
        assert_eq!(parse("USER a b").unwrap(), Instruction::User("a b".into()));
        assert_eq!(
            parse("WORKDIR  /x ").unwrap(),
            Instruction::Workdir("/x".into())
        );
        assert_eq!(
            parse("STOPSIGNAL 9").unwrap(),
            Instruction::StopSignal("9".into())
        );
        assert_eq!(err("USER"), "USER requires exactly one argument");
        assert_eq!(err("WORKDIR"), "WORKDIR requires exactly one argument");
        assert_eq!(
            err("STOPSIGNAL"),
            "STOPSIGNAL requires exactly one argument"
        );
        assert_eq!(err("EXPOSE"), "EXPOSE requires at least one argument");
        assert_eq!(
            parse("EXPOSE 80  53/udp").unwrap(),
            Instruction::Expose(strings(&["80", "53/udp"]))
        );
    }

    #[test]
    fn volume_forms() {
        let vol = |v: &[&str]| Instruction::Volume(strings(v));
        assert_eq!(parse("VOLUME /a /b").unwrap(), vol(&["/a", "/b"]));
        assert_eq!(
            parse(r#"VOLUME ["/c", "/d e"]"#).unwrap(),
            vol(&["/c", "/d e"])
        );
        assert_eq!(err("VOLUME"), "VOLUME requires at least one argument");
        assert_eq!(
            err(r#"VOLUME [" "]"#),
            "VOLUME specified can not be an empty string"
        );
    }

    #[test]
    fn onbuild_triggers() {
        assert_eq!(
            parse("ONBUILD  run  x").unwrap(),
            Instruction::OnBuild("run  x".into())
        );
        assert_eq!(err("ONBUILD"), "ONBUILD requires at least one argument");
        assert_eq!(
            err("ONBUILD onbuild x"),
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        );
        assert_eq!(
            err("ONBUILD from x"),
            "FROM isn't allowed as an ONBUILD trigger"
        );
        assert_eq!(
            err("ONBUILD MAINTAINER me"),
            "MAINTAINER isn't allowed as an ONBUILD trigger"
        );
    }
}
