//! `--ulimit` to OCI rlimits, never above what the runtime can set on this host.

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use crate::config::Ulimit;
use crate::error::SpecError;
use crate::host::HostFacts;

/// Open files when the container sets no `nofile` (what dockerd's systemd unit gives its
/// containers), capped at what the host allows.
pub const DEFAULT_NOFILE: u64 = 1_048_576;

/// Docker's ulimit names (go-units `ulimitNameMapping`).
fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "as" => RlimitAs,
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        _ => return None,
    })
}

/// -1 is unlimited (`RLIM_INFINITY`); other negative values are invalid.
fn limit_value(name: &str, v: i64) -> Result<u64, SpecError> {
    match v {
        -1 => Ok(u64::MAX),
        v if v >= 0 => Ok(v as u64),
        v => Err(SpecError::invalid(format!("invalid ulimit {name}: {v}"))),
    }
}

fn show(v: u64) -> String {
    if v == u64::MAX {
        "unlimited".to_string()
    } else {
        v.to_string()
    }
}

/// The container's rlimits. A hard limit above the host's ceiling is an error rather than
/// a start failure: without `CAP_SYS_RESOURCE` the runtime cannot raise it.
pub(crate) fn rlimits(
    ulimits: &[Ulimit],
    host: &dyn HostFacts,
) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out: Vec<PosixRlimit> = Vec::new();
    for u in ulimits {
        let typ = rlimit_type(&u.name)
            .ok_or_else(|| SpecError::invalid(format!("invalid ulimit type: {}", u.name)))?;
        let soft = limit_value(&u.name, u.soft)?;
        let hard = limit_value(&u.name, u.hard)?;
        if soft > hard {
            return Err(SpecError::invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                show(soft),
                show(hard)
            )));
        }
        if let Some(ceiling) = host.rlimit_ceiling(typ) {
            if hard > ceiling {
                return Err(SpecError::invalid(format!(
                    "ulimit {}: hard limit {} is above the host's limit of {} \
                     (raising it needs CAP_SYS_RESOURCE)",
                    u.name,
                    show(hard),
                    ceiling
                )));
            }
        }
        // A later entry for the same resource wins.
        out.retain(|r| r.typ() != typ);
        out.push(rlimit(typ, soft, hard)?);
    }
    if !out.iter().any(|r| r.typ() == PosixRlimitType::RlimitNofile) {
        let n = host
            .rlimit_ceiling(PosixRlimitType::RlimitNofile)
            .map_or(DEFAULT_NOFILE, |c| c.min(DEFAULT_NOFILE));
        out.push(rlimit(PosixRlimitType::RlimitNofile, n, n)?);
    }
    Ok(out)
}

fn rlimit(typ: PosixRlimitType, soft: u64, hard: u64) -> Result<PosixRlimit, SpecError> {
    Ok(PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    fn ul(name: &str, soft: i64, hard: i64) -> Ulimit {
        Ulimit {
            name: name.into(),
            soft,
            hard,
        }
    }

    fn triples(list: &[PosixRlimit]) -> Vec<(PosixRlimitType, u64, u64)> {
        list.iter().map(|r| (r.typ(), r.soft(), r.hard())).collect()
    }

    #[test]
    fn default_nofile_capped_by_host() {
        let out = rlimits(&[], &FakeHost::default()).unwrap();
        assert_eq!(
            triples(&out),
            vec![(PosixRlimitType::RlimitNofile, 1_048_576, 1_048_576)]
        );
        let mut low = FakeHost::default();
        low.rlimit_ceilings.insert("RLIMIT_NOFILE".into(), 65536);
        let out = rlimits(&[], &low).unwrap();
        assert_eq!(out[0].hard(), 65536);
        low.rlimit_ceilings.clear();
        assert_eq!(rlimits(&[], &low).unwrap()[0].hard(), DEFAULT_NOFILE);
    }

    #[test]
    fn user_limits() {
        let out = rlimits(
            &[
                ul("nofile", 1024, 2048),
                ul("core", -1, -1),
                ul("nproc", 10, 20),
                ul("nproc", 5, 6),
            ],
            &FakeHost::default(),
        )
        .unwrap();
        assert_eq!(
            triples(&out),
            vec![
                (PosixRlimitType::RlimitNofile, 1024, 2048),
                (PosixRlimitType::RlimitCore, u64::MAX, u64::MAX),
                (PosixRlimitType::RlimitNproc, 5, 6),
            ]
        );
    }

    #[test]
    fn errors() {
        let host = FakeHost::default();
        let err = |u: Ulimit| rlimits(&[u], &host).unwrap_err().to_string();
        assert_eq!(err(ul("bogus", 1, 1)), "invalid ulimit type: bogus");
        assert_eq!(
            err(ul("nofile", 10, 5)),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5"
        );
        // Unlimited hard with a finite soft limit is fine.
        let ok = rlimits(&[ul("nproc", 10, -1)], &host).unwrap();
        assert_eq!(ok[0].hard(), u64::MAX);
        assert_eq!(
            err(ul("nproc", -1, 10)),
            "ulimit soft limit must be less than or equal to hard limit: unlimited > 10"
        );
        let e = err(ul("nofile", 2_000_000, 2_000_000));
        assert!(
            e.starts_with("ulimit nofile: hard limit 2000000 is above the host's limit of 1048576"),
            "{e}"
        );
        assert!(err(ul("core", -5, 1)).starts_with("invalid ulimit core"));
    }
}
