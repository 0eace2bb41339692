//! `HostConfig.SecurityOpt` (moby `daemon.parseSecurityOpt`).

use crate::error::SpecError;

/// Which seccomp filter a container asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeccompChoice {
    /// Docker's default profile (also `seccomp=builtin`).
    #[default]
    Default,
    /// `seccomp=unconfined`.
    Unconfined,
    /// `seccomp=<profile JSON>` (the docker CLI sends the file's content).
    Custom(String),
}

/// The security options that shape the spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityOptions {
    pub seccomp: SeccompChoice,
    pub no_new_privileges: bool,
    /// `writable-cgroups=true`: `/sys/fs/cgroup` mounted read-write.
    pub writable_cgroups: bool,
    /// `systempaths=unconfined` (the CLI normally turns this into empty MaskedPaths and
    /// ReadonlyPaths itself; accepted here too).
    pub unconfined_system_paths: bool,
}

/// Parses Docker's `--security-opt` values. `label=...` and `apparmor=...` are accepted and
/// ignored: berth applies no SELinux labels or AppArmor profiles, which is what Docker does
/// on a host where those LSMs are off.
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOptions, SpecError> {
    let mut out = SecurityOptions::default();
    for opt in opts {
        match opt.as_str() {
            "no-new-privileges" => {
                out.no_new_privileges = true;
                continue;
            }
            "disable" => continue,
            _ => {}
        }
        let (key, value) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .ok_or_else(|| SpecError::invalid(format!("invalid --security-opt 1: {opt:?}")))?;
        let bad = || SpecError::invalid(format!("invalid --security-opt 2: {opt:?}"));
        match key {
            "label" | "apparmor" => {}
            "seccomp" => {
                out.seccomp = match value {
                    "unconfined" => SeccompChoice::Unconfined,
                    "builtin" | "" => SeccompChoice::Default,
                    json => SeccompChoice::Custom(json.to_string()),
                }
            }
            "no-new-privileges" => out.no_new_privileges = parse_go_bool(value).ok_or_else(bad)?,
            "writable-cgroups" => out.writable_cgroups = parse_go_bool(value).ok_or_else(bad)?,
            "systempaths" if value == "unconfined" => out.unconfined_system_paths = true,
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> Result<SecurityOptions, SpecError> {
        parse_security_opts(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn no_new_privileges_forms() {
        assert!(parse(&["no-new-privileges"]).unwrap().no_new_privileges);
        assert!(
            parse(&["no-new-privileges:true"])
                .unwrap()
                .no_new_privileges
        );
        assert!(parse(&["no-new-privileges=1"]).unwrap().no_new_privileges);
        assert!(
            !parse(&["no-new-privileges=false"])
                .unwrap()
                .no_new_privileges
        );
        let err = parse(&["no-new-privileges=maybe"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid --security-opt 2: \"no-new-privileges=maybe\""
        );
    }

    #[test]
    fn seccomp_forms() {
        assert_eq!(parse(&[]).unwrap().seccomp, SeccompChoice::Default);
        assert_eq!(
            parse(&["seccomp=unconfined"]).unwrap().seccomp,
            SeccompChoice::Unconfined
        );
        assert_eq!(
            parse(&["seccomp:unconfined"]).unwrap().seccomp,
            SeccompChoice::Unconfined
        );
        assert_eq!(
            parse(&["seccomp=builtin"]).unwrap().seccomp,
            SeccompChoice::Default
        );
        let json = r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#;
        assert_eq!(
            parse(&[json]).unwrap().seccomp,
            SeccompChoice::Custom(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#.into())
        );
    }

    #[test]
    fn ignored_and_unknown() {
        assert_eq!(
            parse(&["label=disable", "apparmor=unconfined", "disable"]).unwrap(),
            SecurityOptions::default()
        );
        assert!(parse(&["writable-cgroups=true"]).unwrap().writable_cgroups);
        assert!(
            parse(&["systempaths=unconfined"])
                .unwrap()
                .unconfined_system_paths
        );
        assert_eq!(
            parse(&["bogus"]).unwrap_err().to_string(),
            "invalid --security-opt 1: \"bogus\""
        );
        assert_eq!(
            parse(&["foo=bar"]).unwrap_err().to_string(),
            "invalid --security-opt 2: \"foo=bar\""
        );
    }
}
