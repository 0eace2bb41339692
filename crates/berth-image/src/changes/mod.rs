//! `--change` / `-c` instructions of `docker import` and `docker commit`
//! (Docker's `BuildFromConfig`): a few Dockerfile instructions applied to
//! an image's container config.
//!
//! Allowed: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,
//! STOPSIGNAL, USER, VOLUME, WORKDIR (case-insensitive). Arguments of ENV,
//! LABEL, EXPOSE, USER, VOLUME, WORKDIR and STOPSIGNAL see `$VAR`s from the
//! config's `Env` as it is before each instruction. As in Docker, an
//! ENTRYPOINT clears `Cmd` unless a CMD came earlier in the same changes.
//! Merging the result with the container's config (what `docker commit`
//! does next) is the caller's job.

mod healthcheck;
mod parse;
mod words;

use crate::config::{ContainerConfig, EmptyObject};
use parse::{syntax, CmdLine, Instruction};
use words::Expander;

/// Why a set of changes cannot be applied. Messages are Docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// Changes were given but all were blank or comments.
    #[error("file with no instructions")]
    Empty,
    /// An instruction `docker commit`/`import` does not accept (`FROM`,
    /// `RUN`, `COPY`, ...), lowercased as Docker reports it.
    #[error("{0} is not a valid change command")]
    NotAllowed(String),
    /// A malformed instruction, with Docker's wording of the problem.
    #[error("{0}")]
    Syntax(String),
}

const ALLOWED: [&str; 11] = [
    "cmd",
    "entrypoint",
    "env",
    "expose",
    "healthcheck",
    "label",
    "onbuild",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// Applies `changes` to `cfg` in order. On error `cfg` is left unchanged.
/// Each change is one instruction line (`"ENV A=1"`); as in Docker they are
/// joined with newlines first, so a change may also hold several lines.
pub fn apply_changes<S: AsRef<str>>(
    cfg: &mut ContainerConfig,
    changes: &[S],
) -> Result<(), ChangeError> {
    if changes.is_empty() {
        return Ok(());
    }
    let text = changes
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("\n");
    let lines = parse::logical_lines(&text);
    if lines.is_empty() {
        return Err(ChangeError::Empty);
    }
    for line in &lines {
        let keyword = parse::keyword(line);
        if !ALLOWED.contains(&keyword.as_str()) {
            return Err(ChangeError::NotAllowed(keyword));
        }
    }
    let instructions = lines
        .iter()
        .map(|line| parse::parse(line))
        .collect::<Result<Vec<_>, _>>()?;
    let mut next = cfg.clone();
    let mut cmd_set = false;
    for instruction in instructions {
        dispatch(&mut next, instruction, &mut cmd_set)?;
    }
    *cfg = next;
    Ok(())
}

fn dispatch(
    cfg: &mut ContainerConfig,
    instruction: Instruction,
    cmd_set: &mut bool,
) -> Result<(), ChangeError> {
    let env = cfg.env.clone().unwrap_or_default();
    let expand = Expander::new(&env);
    match instruction {
        Instruction::Cmd(line) => {
            if !line.args.is_empty() {
                *cmd_set = true;
                cfg.args_escaped = None;
            }
            cfg.cmd = Some(resolve_cmd_line(cfg, line));
        }
        Instruction::Entrypoint(line) => {
            if !line.args.is_empty() {
                cfg.args_escaped = None;
            }
            cfg.entrypoint = Some(resolve_cmd_line(cfg, line));
            if !*cmd_set {
                cfg.cmd = None;
            }
        }
        Instruction::Env(pairs) => {
            let vars = cfg.env.get_or_insert_default();
            for (name, value) in pairs {
                let (name, value) = (expand.word(&name)?, expand.word(&value)?);
                let entry = format!("{name}={value}");
                let existing = vars
                    .iter_mut()
                    .find(|e| e.split('=').next() == Some(name.as_str()));
                match existing {
                    Some(e) => *e = entry,
                    None => vars.push(entry),
                }
            }
        }
        Instruction::Label(pairs) => {
            let labels = cfg.labels.get_or_insert_default();
            for (name, value) in pairs {
                labels.insert(expand.word(&name)?, expand.word(&value)?);
            }
        }
        Instruction::Expose(ports) => {
            let exposed = cfg.exposed_ports.get_or_insert_default();
            for word in ports {
                for spec in expand.words(&word)? {
                    for port in port_spec(&spec)? {
                        exposed.insert(port, EmptyObject {});
                    }
                }
            }
        }
        Instruction::Healthcheck(health) => cfg.healthcheck = Some(health),
        Instruction::OnBuild(expression) => cfg.on_build.get_or_insert_default().push(expression),
        Instruction::StopSignal(signal) => {
            let signal = expand.word(&signal)?;
            if !valid_signal(&signal) {
                return Err(syntax(format!("Invalid signal: {signal}")));
            }
            cfg.stop_signal = Some(signal);
        }
        Instruction::User(user) => cfg.user = Some(expand.word(&user)?),
        Instruction::Volume(volumes) => {
            let map = cfg.volumes.get_or_insert_default();
            for volume in volumes {
                let volume = expand.word(&volume)?;
                if volume.is_empty() {
                    return Err(syntax("VOLUME specified can not be an empty string"));
                }
                map.insert(volume, EmptyObject {});
            }
        }
        Instruction::Workdir(dir) => {
            let dir = expand.word(&dir)?;
            let current = cfg.working_dir.as_deref().unwrap_or_default();
            cfg.working_dir = Some(normalize_workdir(current, &dir)?);
        }
    }
    Ok(())
}

/// The shell form runs through the config's `Shell` (default `/bin/sh -c`).
fn resolve_cmd_line(cfg: &ContainerConfig, line: CmdLine) -> Vec<String> {
    if line.args.is_empty() || line.json {
        return line.args;
    }
    let mut cmd = match &cfg.shell {
        Some(shell) => shell.clone(),
        None => DEFAULT_SHELL.map(String::from).to_vec(),
    };
    cmd.extend(line.args);
    cmd
}

/// `[ip:][hostPort:]containerPort[-end][/proto]` → `port/proto` keys.
fn port_spec(raw: &str) -> Result<Vec<String>, ChangeError> {
    let container = raw.rsplit(':').next().unwrap_or(raw);
    let mut parts = container.split('/');
    let port = parts.next().unwrap_or_default();
    let proto = match parts.next() {
        None | Some("") => "tcp",
        Some(p) => p,
    };
    if port.is_empty() {
        return Err(syntax(format!("No port specified: {raw}<empty>")));
    }
    let (start, end) =
        port_range(port).ok_or_else(|| syntax(format!("Invalid containerPort: {port}")))?;
    let proto_lower = proto.to_lowercase();
    if !matches!(proto_lower.as_str(), "tcp" | "udp" | "sctp") {
        return Err(syntax(format!("Invalid proto: {proto}")));
    }
    Ok((start..=end)
        .map(|p| format!("{p}/{proto_lower}"))
        .collect())
}

fn port_range(s: &str) -> Option<(u16, u16)> {
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u16>().ok())
            .flatten()
    };
    let (start, end) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(s)?, num(s)?),
    };
    (start <= end).then_some((start, end))
}

/// Signal names Docker accepts on Linux, without the `SIG` prefix.
const SIGNALS: [&str; 34] = [
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
];

/// Docker's `signal.ParseSignal`: a non-zero number, or a name with or
/// without `SIG`, any case, including `RTMIN+n` / `RTMAX-n`.
fn valid_signal(s: &str) -> bool {
    if let Ok(n) = s.parse::<i64>() {
        return n != 0;
    }
    let upper = s.to_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let realtime = |prefix: &str, max: u8| {
        name.strip_prefix(prefix)
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=max).contains(&n))
    };
    SIGNALS.contains(&name)
        || name == "RTMIN"
        || name == "RTMAX"
        || realtime("RTMIN+", 15)
        || realtime("RTMAX-", 14)
}

/// A relative WORKDIR is joined to the current one and cleaned; an absolute
/// one is kept as given.
fn normalize_workdir(current: &str, requested: &str) -> Result<String, ChangeError> {
    if requested.is_empty() {
        return Err(syntax("cannot normalize nothing"));
    }
    if requested.starts_with('/') {
        return Ok(requested.to_string());
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in current.split('/').chain(requested.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn apply(base: &ContainerConfig, changes: &[&str]) -> Result<ContainerConfig, String> {
        let mut cfg = base.clone();
        apply_changes(&mut cfg, changes).map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    fn strs(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    fn keys<V>(m: &Option<BTreeMap<String, V>>) -> Vec<&str> {
        m.iter()
            .flat_map(|m| m.keys().map(String::as_str))
            .collect()
    }

    #[test]
    fn nothing_to_do() {
        let base = ContainerConfig::default();
        assert_eq!(apply(&base, &[]).unwrap(), base);
        assert_eq!(
            apply(&base, &["", "# c"]).unwrap_err(),
            "file with no instructions"
        );
    }

    #[test]
    fn only_commit_instructions_are_allowed() {
        let base = ContainerConfig::default();
        for (change, msg) in [
            ("FOO bar", "foo is not a valid change command"),
            ("FROM x", "from is not a valid change command"),
            ("run x", "run is not a valid change command"),
            (
                "SHELL [\"/bin/bash\"]",
                "shell is not a valid change command",
            ),
            ("ADD a b", "add is not a valid change command"),
            ("ARG a", "arg is not a valid change command"),
            ("MAINTAINER me", "maintainer is not a valid change command"),
        ] {
            assert_eq!(apply(&base, &[change]).unwrap_err(), msg);
        }
        // The name check runs over all changes before any is parsed.
        assert_eq!(
            apply(&base, &["ENV", "COPY a b"]).unwrap_err(),
            "copy is not a valid change command"
        );
    }

    #[test]
    fn cmd_and_entrypoint() {
        let base = ContainerConfig {
            cmd: strs(&["/bin/sh"]),
            ..Default::default()
        };
        let c = apply(&base, &["cmd echo hi"]).unwrap();
        assert_eq!(c.cmd, strs(&["/bin/sh", "-c", "echo hi"]));
        let c = apply(&base, &[r#"ENTRYPOINT ["/e"]"#]).unwrap();
        assert_eq!((c.entrypoint, c.cmd), (strs(&["/e"]), None));
        let c = apply(&base, &[r#"CMD ["/c"]"#, "ENTRYPOINT a b"]).unwrap();
        assert_eq!(c.entrypoint, strs(&["/bin/sh", "-c", "a b"]));
        assert_eq!(c.cmd, strs(&["/c"]));
        let c = apply(&base, &["ENTRYPOINT"]).unwrap();
        assert_eq!((c.entrypoint, c.cmd), (strs(&[]), None));
        let shell = ContainerConfig {
            shell: strs(&["/bin/bash", "-xc"]),
            ..Default::default()
        };
        assert_eq!(
            apply(&shell, &["CMD x"]).unwrap().cmd,
            strs(&["/bin/bash", "-xc", "x"])
        );
    }

    #[test]
    fn env_expansion_uses_previous_env() {
        let base = ContainerConfig {
            env: strs(&["PATH=/bin", "FOO=bar"]),
            ..Default::default()
        };
        let c = apply(
            &base,
            &[
                "ENV A=1",
                "ENV A=2 B=$A C=${FOO}/y D='$A' E=\"x y\"",
                "ENV PATH=/x:$PATH",
                "ENV LEGACY some value",
            ],
        )
        .unwrap();
        assert_eq!(
            c.env,
            strs(&[
                "PATH=/x:/bin",
                "FOO=bar",
                "A=2",
                "B=1",
                "C=bar/y",
                "D=$A",
                "E=x y",
                "LEGACY=some value"
            ])
        );
    }

    #[test]
    fn labels_user_workdir() {
        let base = ContainerConfig {
            env: strs(&["U=app"]),
            working_dir: Some("/data".into()),
            ..Default::default()
        };
        let c = apply(
            &base,
            &[
                r#"LABEL "x y"=z q=r"#,
                "USER ${U}:${G:-staff}",
                "WORKDIR sub",
                "WORKDIR ../other/./d",
            ],
        )
        .unwrap();
        assert_eq!(keys(&c.labels), ["q", "x y"]);
        assert_eq!(c.user.as_deref(), Some("app:staff"));
        assert_eq!(c.working_dir.as_deref(), Some("/data/other/d"));
        let c = apply(
            &ContainerConfig::default(),
            &["WORKDIR a/../../b/", "WORKDIR c"],
        )
        .unwrap();
        assert_eq!(c.working_dir.as_deref(), Some("/b/c"));
        let c = apply(&base, &["WORKDIR /a/../b/"]).unwrap();
        assert_eq!(c.working_dir.as_deref(), Some("/a/../b/"));
        assert_eq!(
            apply(&base, &["WORKDIR $NOPE"]).unwrap_err(),
            "cannot normalize nothing"
        );
    }

    #[test]
    fn expose() {
        let base = ContainerConfig {
            env: strs(&["PORTS=443 8443/udp"]),
            ..Default::default()
        };
        let c = apply(
            &base,
            &["EXPOSE 8000-8002 53/udp 80/TCP 1.2.3.4:9:81/sctp $PORTS"],
        )
        .unwrap();
        assert_eq!(
            keys(&c.exposed_ports),
            [
                "443/tcp", "53/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp", "81/sctp",
                "8443/udp"
            ]
        );
        for (change, msg) in [
            ("EXPOSE abc", "Invalid containerPort: abc"),
            ("EXPOSE 80-78", "Invalid containerPort: 80-78"),
            ("EXPOSE 70000", "Invalid containerPort: 70000"),
            ("EXPOSE +80", "Invalid containerPort: +80"),
            ("EXPOSE 80/foo", "Invalid proto: foo"),
            ("EXPOSE /udp", "No port specified: /udp<empty>"),
        ] {
            assert_eq!(apply(&base, &[change]).unwrap_err(), msg);
        }
    }

    #[test]
    fn volumes_onbuild_healthcheck_stopsignal() {
        let base = ContainerConfig {
            env: strs(&["HOME=/root"]),
            ..Default::default()
        };
        let c = apply(
            &base,
            &[
                "VOLUME /a $HOME",
                r#"VOLUME ["/c"]"#,
                "ONBUILD RUN echo hi",
                "HEALTHCHECK --interval=5s CMD true",
                "STOPSIGNAL sigusr1",
            ],
        )
        .unwrap();
        assert_eq!(keys(&c.volumes), ["/a", "/c", "/root"]);
        assert_eq!(c.on_build, strs(&["RUN echo hi"]));
        assert_eq!(c.healthcheck.unwrap().interval, Some(5_000_000_000));
        assert_eq!(c.stop_signal.as_deref(), Some("sigusr1"));
        assert_eq!(
            apply(&base, &["VOLUME $NOPE"]).unwrap_err(),
            "VOLUME specified can not be an empty string"
        );
        for ok in ["9", "KILL", "SIGRTMIN+3", "rtmax-14", "RTMAX"] {
            assert!(valid_signal(ok), "{ok}");
        }
        for bad in ["0", "FOO", "SIGRTMIN+16", "RTMAX-0", ""] {
            assert!(!valid_signal(bad), "{bad}");
        }
        assert_eq!(
            apply(&base, &["STOPSIGNAL NOPE"]).unwrap_err(),
            "Invalid signal: NOPE"
        );
    }

    #[test]
    fn errors_leave_config_unchanged() {
        let mut cfg = ContainerConfig::default();
        let err = apply_changes(&mut cfg, &["ENV A=1".to_string(), "EXPOSE x".to_string()]);
        assert_eq!(err.unwrap_err().to_string(), "Invalid containerPort: x");
        assert_eq!(cfg, ContainerConfig::default());
    }
}
