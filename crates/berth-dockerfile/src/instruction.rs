//! Typed instructions: a [`Node`]'s flags and arguments checked and split the way Docker
//! splits them, but not yet expanded (`$VAR` stays as written).

use crate::error::ParseError;
use crate::parser::{heredoc_word, parse_line, Heredoc, Node};

/// Every instruction keyword, lowercase.
pub const KNOWN_INSTRUCTIONS: [&str; 18] = [
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// A command in JSON (exec) form or shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// `["executable", "arg"]`: run as is.
    Exec(Vec<String>),
    /// `executable arg`: run through the `SHELL`.
    Shell(String),
}

/// `FROM [--platform=P] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromArgs {
    pub image: String,
    /// The stage name, lowercase.
    pub name: Option<String>,
    pub platform: Option<String>,
}

/// `RUN [--mount=...] [--network=...] [--security=...] command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// The command; a lone heredoc (`RUN <<EOF`) is its body, a heredoc used by a longer
    /// command (`RUN python3 <<EOF`) is appended to it for the shell to read.
    pub command: CommandForm,
    pub mounts: Vec<String>,
    pub network: Option<String>,
    pub security: Option<String>,
    pub heredocs: Vec<Heredoc>,
}

/// `COPY`/`ADD` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    /// Sources as written (heredoc sources are in `heredocs` instead).
    pub sources: Vec<String>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
    /// ADD only.
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    /// Files made from heredocs, in order; each is named after its terminator.
    pub heredocs: Vec<Heredoc>,
}

/// `HEALTHCHECK`: `test` is `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`;
/// durations in nanoseconds (0: inherit).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub start_interval: i64,
    pub retries: i64,
}

/// One checked instruction, arguments unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    From(FromArgs),
    Run(RunArgs),
    Cmd(CommandForm),
    Entrypoint(CommandForm),
    /// `KEY=value` pairs (legacy `ENV KEY value` gives one pair).
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    /// `NAME[=default]`.
    Arg(Vec<(String, Option<String>)>),
    Expose(Vec<String>),
    Volume(Vec<String>),
    Copy(CopyArgs),
    Add(CopyArgs),
    Workdir(String),
    User(String),
    Shell(Vec<String>),
    StopSignal(String),
    Healthcheck(Healthcheck),
    /// The trigger instruction's text, checked to be a valid instruction.
    Onbuild(String),
    Maintainer(String),
}

impl Instruction {
    /// Checks a node and splits its arguments.
    pub fn from_node(node: &Node) -> Result<Instruction, ParseError> {
        let name = node.keyword.to_uppercase();
        let esc = node.escape;
        let args = node.args.as_str();
        let at_least_one = || {
            if args.is_empty() && node.heredocs.is_empty() {
                Err(node.err(format!("{name} requires at least one argument")))
            } else {
                Ok(())
            }
        };
        let exactly_one = |what: &str| -> Result<String, ParseError> {
            let w = split_words(args, esc);
            match w.len() {
                1 => Ok(w.into_iter().next().unwrap_or_default()),
                0 => Err(node.err(format!("{name} requires exactly one argument"))),
                _ => Err(node.err(format!(
                    "{name} requires exactly one argument ({what}), got {}",
                    w.len()
                ))),
            }
        };
        let mut flags = Flags::parse(node)?;
        let instruction = match node.keyword.as_str() {
            "from" => {
                let platform = flags.string("platform");
                let w = split_words(args, esc);
                let (image, name) = match w.as_slice() {
                    [image] => (image.clone(), None),
                    [image, as_, stage] if as_.eq_ignore_ascii_case("as") => {
                        let lower = stage.to_ascii_lowercase();
                        if !valid_stage_name(&lower) {
                            return Err(node.err(format!(
                                "invalid name for build stage: {stage:?}, name can't start with a number or contain symbols"
                            )));
                        }
                        (image.clone(), Some(lower))
                    }
                    _ => return Err(node.err("FROM requires either one or three arguments")),
                };
                Instruction::From(FromArgs {
                    image,
                    name,
                    platform,
                })
            }
            "run" => {
                at_least_one()?;
                let mounts = flags.strings("mount");
                let network = flags.string("network");
                let security = flags.string("security");
                let command = match maybe_json(args) {
                    Some(v) => CommandForm::Exec(v),
                    None => CommandForm::Shell(run_script(args, &node.heredocs, esc)),
                };
                Instruction::Run(RunArgs {
                    command,
                    mounts,
                    network,
                    security,
                    heredocs: node.heredocs.clone(),
                })
            }
            "cmd" | "entrypoint" => {
                let form = match maybe_json(args) {
                    Some(v) => CommandForm::Exec(v),
                    None => CommandForm::Shell(args.to_string()),
                };
                if node.keyword == "cmd" {
                    Instruction::Cmd(form)
                } else {
                    Instruction::Entrypoint(form)
                }
            }
            "env" | "label" => {
                at_least_one()?;
                let pairs = name_values(node, &name)?;
                if node.keyword == "env" {
                    Instruction::Env(pairs)
                } else {
                    Instruction::Label(pairs)
                }
            }
            "arg" => {
                at_least_one()?;
                let mut out = Vec::new();
                for w in split_words(args, esc) {
                    let (k, v) = match w.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (w.clone(), None),
                    };
                    if k.is_empty() {
                        return Err(node.err("ARG names can not be blank"));
                    }
                    out.push((k, v));
                }
                Instruction::Arg(out)
            }
            "expose" => {
                at_least_one()?;
                Instruction::Expose(split_words(args, esc))
            }
            "volume" => {
                at_least_one()?;
                let list = maybe_json(args).unwrap_or_else(|| split_words(args, esc));
                if list.iter().any(|v| v.trim().is_empty()) {
                    return Err(node.err("VOLUME specified can not be an empty string"));
                }
                Instruction::Volume(list)
            }
            "copy" | "add" => {
                let mut c = CopyArgs {
                    chown: flags.string("chown"),
                    chmod: flags.string("chmod"),
                    link: flags.bool("link"),
                    exclude: flags.strings("exclude"),
                    ..Default::default()
                };
                if node.keyword == "copy" {
                    c.from = flags.string("from");
                    c.parents = flags.bool("parents");
                } else {
                    c.checksum = flags.string("checksum");
                    c.keep_git_dir = flags.bool("keep-git-dir");
                }
                let mut words = maybe_json(args).unwrap_or_else(|| split_words(args, esc));
                if words.len() < 2 {
                    return Err(node.err(format!(
                        "{name} requires at least two arguments, but only one was provided. Destination could not be determined."
                    )));
                }
                c.dest = words.pop().unwrap_or_default();
                let mut heredocs = node.heredocs.iter();
                for w in words {
                    if heredoc_word(&w).is_some() {
                        if let Some(h) = heredocs.next() {
                            c.heredocs.push(h.clone());
                            continue;
                        }
                    }
                    c.sources.push(w);
                }
                if node.keyword == "copy" {
                    Instruction::Copy(c)
                } else {
                    Instruction::Add(c)
                }
            }
            "workdir" => {
                at_least_one()?;
                Instruction::Workdir(args.to_string())
            }
            "user" => Instruction::User(exactly_one("the user")?),
            "stopsignal" => Instruction::StopSignal(exactly_one("the signal")?),
            "maintainer" => {
                at_least_one()?;
                Instruction::Maintainer(args.to_string())
            }
            "shell" => {
                at_least_one()?;
                match maybe_json(args) {
                    Some(v) if !v.is_empty() => Instruction::Shell(v),
                    _ => {
                        return Err(node.err(
                            "SHELL requires the arguments to be in JSON form, like SHELL [\"/bin/sh\", \"-c\"]",
                        ))
                    }
                }
            }
            "healthcheck" => Instruction::Healthcheck(healthcheck(node, &mut flags)?),
            "onbuild" => {
                at_least_one()?;
                let trigger = parse_line(args, node.line, esc)?;
                match trigger.keyword.as_str() {
                    "onbuild" => {
                        return Err(node.err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"))
                    }
                    "from" | "maintainer" => {
                        return Err(node.err(format!(
                            "{} isn't allowed as an ONBUILD trigger",
                            trigger.keyword.to_uppercase()
                        )))
                    }
                    _ => {}
                }
                Instruction::from_node(&trigger)?;
                Instruction::Onbuild(args.to_string())
            }
            other => return Err(node.err(format!("unknown instruction: {other}"))),
        };
        flags.finish(node)?;
        Ok(instruction)
    }
}

/// Stage names: `[a-z][a-z0-9-_.]*`.
fn valid_stage_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// The script a RUN shell form runs: the line itself, or a lone heredoc's body, or the
/// line followed by its heredocs (the shell reads them like any heredoc).
fn run_script(args: &str, heredocs: &[Heredoc], escape: char) -> String {
    if heredocs.is_empty() {
        return args.to_string();
    }
    let words = split_words(args, escape);
    if heredocs.len() == 1 && words.len() == 1 && heredoc_word(&words[0]).is_some() {
        return heredocs[0].content.clone();
    }
    let mut s = args.to_string();
    s.push('\n');
    for h in heredocs {
        s.push_str(&h.content);
        s.push_str(&h.name);
        s.push('\n');
    }
    s
}

/// The JSON form: a JSON array of strings; anything else is `None` (shell form).
fn maybe_json(args: &str) -> Option<Vec<String>> {
    if !args.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(args).ok()
}

/// Splits on unquoted blanks, keeping quotes and escapes in the words (expansion removes
/// them later).
pub(crate) fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                } else if c == escape && q == '"' {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
            }
            None if c == ' ' || c == '\t' || c == '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                in_word = true;
                cur.push(c);
                if c == '"' || c == '\'' {
                    quote = Some(c);
                } else if c == escape {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// `ENV`/`LABEL`: `k=v k2="v 2"`, or the legacy `k v with spaces`.
fn name_values(node: &Node, name: &str) -> Result<Vec<(String, String)>, ParseError> {
    let words = split_words(&node.args, node.escape);
    let Some(first) = words.first() else {
        return Err(node.err(format!("{name} requires at least one argument")));
    };
    if !first.contains('=') {
        // Legacy form: the name, then everything else is the value.
        let value = node.args[node.args.find(first.as_str()).unwrap_or(0) + first.len()..]
            .trim_matches([' ', '\t']);
        if value.is_empty() {
            return Err(node.err(format!("{name} must have two arguments")));
        }
        return Ok(vec![(first.clone(), value.to_string())]);
    }
    let mut out = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(node.err(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            )));
        };
        if k.is_empty() {
            return Err(node.err(format!("{name} names can not be blank")));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

fn healthcheck(node: &Node, flags: &mut Flags) -> Result<Healthcheck, ParseError> {
    let args = node.args.as_str();
    let (kind, rest) = args
        .split_once([' ', '\t'])
        .map(|(k, r)| (k, r.trim_start()))
        .unwrap_or((args, ""));
    let mut h = Healthcheck::default();
    match kind.to_uppercase().as_str() {
        "" => return Err(node.err("HEALTHCHECK requires at least one argument")),
        "NONE" => {
            if !rest.is_empty() {
                return Err(node.err("HEALTHCHECK NONE takes no arguments"));
            }
            h.test = vec!["NONE".into()];
            return Ok(h);
        }
        "CMD" => {}
        other => return Err(node.err(format!("Unknown type {other:?} in HEALTHCHECK (try CMD)"))),
    }
    h.test = match maybe_json(rest) {
        Some(v) if !v.is_empty() => std::iter::once("CMD".to_string()).chain(v).collect(),
        Some(_) => return Err(node.err("Missing command after HEALTHCHECK CMD")),
        None if rest.is_empty() => return Err(node.err("Missing command after HEALTHCHECK CMD")),
        None => vec!["CMD-SHELL".into(), rest.to_string()],
    };
    let dur = |flags: &mut Flags, name: &str| -> Result<i64, ParseError> {
        match flags.string(name) {
            None => Ok(0),
            Some(v) => {
                let d = parse_duration(&v)
                    .ok_or_else(|| node.err(format!("time: invalid duration {v:?}")))?;
                if d != 0 && d < 1_000_000 {
                    return Err(node.err(format!("Interval {name:?} cannot be less than 1ms")));
                }
                Ok(d)
            }
        }
    };
    h.interval = dur(flags, "interval")?;
    h.timeout = dur(flags, "timeout")?;
    h.start_period = dur(flags, "start-period")?;
    h.start_interval = dur(flags, "start-interval")?;
    if let Some(r) = flags.string("retries") {
        h.retries = r
            .parse()
            .map_err(|_| node.err(format!("invalid value {r:?} for --retries")))?;
        if h.retries < 0 {
            return Err(node.err("--retries cannot be negative"));
        }
    }
    Ok(h)
}

/// A Go duration (`30s`, `1m30s`, `500ms`, `1.5h`) in nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        total += n * match &rest[..u_end] {
            "h" => 3.6e12,
            "m" => 6e10,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return None,
        };
        rest = &rest[u_end..];
    }
    (!s.is_empty()).then_some(total as i64)
}

/// An instruction's `--flags`, consumed by name; leftovers are errors.
struct Flags {
    items: Vec<(String, Option<String>)>,
}

impl Flags {
    fn parse(node: &Node) -> Result<Self, ParseError> {
        let mut items = Vec::new();
        for f in &node.flags {
            let (k, v) = match f.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(unquote(v))),
                None => (f.clone(), None),
            };
            items.push((k, v));
        }
        Ok(Self { items })
    }

    fn take(&mut self, name: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        self.items.retain(|(k, v)| {
            if k == name {
                out.push(v.clone());
                false
            } else {
                true
            }
        });
        out
    }

    fn string(&mut self, name: &str) -> Option<String> {
        self.take(name)
            .into_iter()
            .last()
            .map(Option::unwrap_or_default)
    }

    fn strings(&mut self, name: &str) -> Vec<String> {
        self.take(name)
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect()
    }

    fn bool(&mut self, name: &str) -> bool {
        match self.take(name).into_iter().last() {
            None => false,
            Some(None) => true,
            Some(Some(v)) => !matches!(v.as_str(), "false" | "0"),
        }
    }

    fn finish(self, node: &Node) -> Result<(), ParseError> {
        match self.items.first() {
            None => Ok(()),
            Some((k, _)) => Err(ParseError::new(
                node.line,
                node.column,
                format!("unknown flag: {k}"),
            )),
        }
    }
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn one(text: &str) -> Result<Instruction, ParseError> {
        let d = parse(text)?;
        Instruction::from_node(d.nodes.last().expect("a node"))
    }

    #[test]
    fn from_forms() {
        assert_eq!(
            one("FROM --platform=linux/arm64 busybox:1 AS Build").unwrap(),
            Instruction::From(FromArgs {
                image: "busybox:1".into(),
                name: Some("build".into()),
                platform: Some("linux/arm64".into()),
            })
        );
        assert!(matches!(one("FROM scratch").unwrap(), Instruction::From(f) if f.name.is_none()));
        let e = one("FROM a b").unwrap_err();
        assert_eq!(e.message, "FROM requires either one or three arguments");
        let e = one("FROM a AS 1x").unwrap_err();
        assert!(e.message.contains("invalid name for build stage"), "{e}");
        let e = one("FROM --bogus=1 a").unwrap_err();
        assert_eq!(e.message, "unknown flag: bogus");
    }

    #[test]
    fn json_and_shell_forms() {
        assert_eq!(
            one("CMD [\"echo\", \"a b\"]").unwrap(),
            Instruction::Cmd(CommandForm::Exec(vec!["echo".into(), "a b".into()]))
        );
        // Not valid JSON: shell form, as written.
        assert_eq!(
            one("ENTRYPOINT [echo, hi]").unwrap(),
            Instruction::Entrypoint(CommandForm::Shell("[echo, hi]".into()))
        );
        assert_eq!(
            one("RUN --network=none echo $HOME").unwrap(),
            Instruction::Run(RunArgs {
                command: CommandForm::Shell("echo $HOME".into()),
                mounts: vec![],
                network: Some("none".into()),
                security: None,
                heredocs: vec![],
            })
        );
        let Instruction::Run(r) =
            one("RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t x").unwrap()
        else {
            panic!()
        };
        assert_eq!(r.mounts, ["type=cache,target=/c", "type=tmpfs,target=/t"]);
        assert_eq!(
            one("SHELL [\"/bin/bash\", \"-c\"]").unwrap(),
            Instruction::Shell(vec!["/bin/bash".into(), "-c".into()])
        );
        assert!(one("SHELL /bin/bash -c").is_err());
        let e = one("FROM x\nRUN").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "RUN requires at least one argument")
        );
    }

    #[test]
    fn run_heredocs_become_scripts() {
        let Instruction::Run(r) = one("RUN <<EOF\necho a\necho b\nEOF").unwrap() else {
            panic!()
        };
        assert_eq!(r.command, CommandForm::Shell("echo a\necho b\n".into()));
        let Instruction::Run(r) = one("RUN cat <<A > /x\nhello\nA").unwrap() else {
            panic!()
        };
        assert_eq!(
            r.command,
            CommandForm::Shell("cat <<A > /x\nhello\nA\n".into())
        );
    }

    #[test]
    fn env_and_label_pairs() {
        assert_eq!(
            one("ENV A=1 B=\"two words\" C=x\\ y").unwrap(),
            Instruction::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"two words\"".into()),
                ("C".into(), "x\\ y".into()),
            ])
        );
        assert_eq!(
            one("ENV NAME  some value here ").unwrap(),
            Instruction::Env(vec![("NAME".into(), "some value here".into())])
        );
        assert!(one("ENV A").is_err());
        let e = one("LABEL a=1 b").unwrap_err();
        assert!(e.message.contains("can't find = in \"b\""), "{e}");
        assert!(one("LABEL =x").is_err());
        assert_eq!(
            one("ARG A B=2 C=").unwrap(),
            Instruction::Arg(vec![
                ("A".into(), None),
                ("B".into(), Some("2".into())),
                ("C".into(), Some(String::new())),
            ])
        );
    }

    #[test]
    fn copy_and_add() {
        assert_eq!(
            one("COPY --from=build --chown=app:app --chmod=0755 a b* /dst/").unwrap(),
            Instruction::Copy(CopyArgs {
                sources: vec!["a".into(), "b*".into()],
                dest: "/dst/".into(),
                from: Some("build".into()),
                chown: Some("app:app".into()),
                chmod: Some("0755".into()),
                ..Default::default()
            })
        );
        let Instruction::Copy(c) = one("COPY [\"a b\", \"/c d/\"]").unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.sources, c.dest),
            (vec!["a b".to_string()], "/c d/".to_string())
        );
        let Instruction::Copy(c) = one("COPY <<EOF /etc/x\nhi\nEOF").unwrap() else {
            panic!()
        };
        assert!(c.sources.is_empty());
        assert_eq!(c.heredocs[0].content, "hi\n");
        let e = one("COPY onlyone").unwrap_err();
        assert!(e.message.contains("at least two arguments"), "{e}");
        assert!(one("ADD --from=x a b").is_err(), "ADD has no --from");
        let Instruction::Add(a) = one("ADD --link --chown=1 a.tar /").unwrap() else {
            panic!()
        };
        assert!(a.link);
    }

    #[test]
    fn simple_ones() {
        assert_eq!(
            one("USER app:app").unwrap(),
            Instruction::User("app:app".into())
        );
        assert!(one("USER a b").is_err());
        assert_eq!(
            one("WORKDIR /a b").unwrap(),
            Instruction::Workdir("/a b".into())
        );
        assert_eq!(
            one("EXPOSE 80/tcp 443").unwrap(),
            Instruction::Expose(vec!["80/tcp".into(), "443".into()])
        );
        assert_eq!(
            one("VOLUME [\"/a\", \"/b\"]").unwrap(),
            Instruction::Volume(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(
            one("VOLUME /a /b").unwrap(),
            Instruction::Volume(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(
            one("STOPSIGNAL SIGKILL").unwrap(),
            Instruction::StopSignal("SIGKILL".into())
        );
        assert_eq!(
            one("ONBUILD RUN echo hi").unwrap(),
            Instruction::Onbuild("RUN echo hi".into())
        );
        assert!(one("ONBUILD ONBUILD RUN x").is_err());
        assert!(one("ONBUILD FROM x").is_err());
        assert!(one("ONBUILD BOGUS x").is_err());
    }

    #[test]
    fn healthchecks() {
        assert_eq!(
            one("HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/").unwrap(),
            Instruction::Healthcheck(Healthcheck {
                test: vec!["CMD-SHELL".into(), "curl -f http://x/".into()],
                interval: 5_000_000_000,
                retries: 3,
                ..Default::default()
            })
        );
        assert_eq!(
            one("HEALTHCHECK CMD [\"true\"]").unwrap(),
            Instruction::Healthcheck(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                ..Default::default()
            })
        );
        assert!(matches!(
            one("HEALTHCHECK none").unwrap(),
            Instruction::Healthcheck(h) if h.test == ["NONE"]
        ));
        assert!(one("HEALTHCHECK --interval=1us CMD x").is_err());
        assert!(one("HEALTHCHECK FOO x").is_err());
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("5x"), None);
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            split_words(r#"a "b c" 'd e' f\ g "h\"i""#, '\\'),
            ["a", "\"b c\"", "'d e'", "f\\ g", "\"h\\\"i\""]
        );
    }
}
