//! tmpfs option strings (moby `ConvertTmpfsOptions` and moby/sys `MergeTmpfsOptions`).

use crate::config::TmpfsOptions;
use crate::error::SpecError;

/// The conflict group of each flag option: later options replace earlier ones of the
/// same group (`exec` after `noexec` wins); all propagation modes are one group.
fn flag_group(option: &str) -> Option<&'static str> {
    Some(match option {
        "ro" | "rw" => "rdonly",
        "suid" | "nosuid" => "nosuid",
        "dev" | "nodev" => "nodev",
        "exec" | "noexec" => "noexec",
        "sync" | "async" => "sync",
        "dirsync" => "dirsync",
        "remount" => "remount",
        "mand" | "nomand" => "mand",
        "atime" | "noatime" => "noatime",
        "diratime" | "nodiratime" => "nodiratime",
        "bind" => "bind",
        "rbind" => "rbind",
        "relatime" | "norelatime" => "relatime",
        "strictatime" | "nostrictatime" => "strictatime",
        "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
        | "runbindable" => "propagation",
        _ => return None,
    })
}

const DATA_KEYS: [&str; 8] = [
    "",
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// Drops duplicates, keeping the last of each flag group or data key, in order.
pub(crate) fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, SpecError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        if option == "defaults" {
            continue;
        }
        let key = match flag_group(option) {
            Some(group) => group,
            None => match option.split_once('=') {
                Some((k, _)) if DATA_KEYS.contains(&k) => k,
                _ => {
                    return Err(SpecError::invalid(format!(
                        "invalid tmpfs option {option:?}"
                    )))
                }
            },
        };
        if !seen.contains(&key) {
            seen.push(key);
            out.insert(0, option.clone());
        }
    }
    Ok(out)
}

/// The options of a tmpfs mount with `data` (`size=64m,mode=1777`): Docker's
/// `noexec,nosuid,nodev,rprivate` first, then the user's, merged.
pub(crate) fn tmpfs_mount_options(data: &str) -> Result<Vec<String>, SpecError> {
    let mut options: Vec<String> = ["noexec", "nosuid", "nodev", "rprivate"]
        .map(String::from)
        .into();
    options.extend(data.split(',').filter(|s| !s.is_empty()).map(String::from));
    merge_tmpfs_options(&options)
}

/// `--mount type=tmpfs` options as a data string (`ro,mode=1777,size=64m`).
pub(crate) fn convert_tmpfs_options(
    opt: Option<&TmpfsOptions>,
    read_only: bool,
) -> Result<String, SpecError> {
    let mut raw: Vec<String> = Vec::new();
    if read_only {
        raw.push("ro".into());
    }
    if let Some(opt) = opt {
        if opt.mode != 0 {
            raw.push(format!("mode={:o}", opt.mode));
        }
        if opt.size_bytes < 0 {
            return Err(SpecError::invalid(
                "invalid mount config for type \"tmpfs\": invalid tmpfs size",
            ));
        }
        if opt.size_bytes != 0 {
            let size = opt.size_bytes;
            let (n, suffix) = [(1_i64 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")]
                .into_iter()
                .find(|(d, _)| size % d == 0)
                .map_or((size, ""), |(d, s)| (size / d, s));
            raw.push(format!("size={n}{suffix}"));
        }
        for o in &opt.options {
            match o.as_slice() {
                [flag] => raw.push(flag.clone()),
                [k, v] => raw.push(format!("{k}={v}")),
                _ => {
                    return Err(SpecError::invalid(format!(
                        "invalid mount config for type \"tmpfs\": invalid option {o:?}"
                    )))
                }
            }
        }
    }
    Ok(raw.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_user_data() {
        assert_eq!(
            tmpfs_mount_options("").unwrap(),
            vec!["noexec", "nosuid", "nodev", "rprivate"]
        );
        assert_eq!(
            tmpfs_mount_options("size=64m,mode=1777").unwrap(),
            vec![
                "noexec",
                "nosuid",
                "nodev",
                "rprivate",
                "size=64m",
                "mode=1777"
            ]
        );
        // A later flag of the same group replaces the default.
        assert_eq!(
            tmpfs_mount_options("exec,size=1m,size=2m,shared").unwrap(),
            vec!["nosuid", "nodev", "exec", "size=2m", "shared"]
        );
        let err = tmpfs_mount_options("bogus=1").unwrap_err();
        assert_eq!(err.to_string(), "invalid tmpfs option \"bogus=1\"");
        assert!(tmpfs_mount_options("nonsense").is_err());
    }

    #[test]
    fn api_tmpfs_options() {
        let opt = TmpfsOptions {
            size_bytes: 64 << 20,
            mode: 0o1777,
            options: vec![vec!["exec".into()], vec!["nr_inodes".into(), "100".into()]],
        };
        assert_eq!(
            convert_tmpfs_options(Some(&opt), true).unwrap(),
            "ro,mode=1777,size=64m,exec,nr_inodes=100"
        );
        let odd = TmpfsOptions {
            size_bytes: 1000,
            ..Default::default()
        };
        assert_eq!(
            convert_tmpfs_options(Some(&odd), false).unwrap(),
            "size=1000"
        );
        assert_eq!(convert_tmpfs_options(None, false).unwrap(), "");
    }
}
