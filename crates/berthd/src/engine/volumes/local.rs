//! The `local` driver's options (moby `volume/local`): a plain directory by default, or a
//! filesystem mounted on the volume's `_data` while containers use it, as `mount -t <type>
//! -o <o> <device>` would (`type=tmpfs,device=tmpfs,o=size=100m`,
//! `type=none,o=bind,device=/srv/data`, NFS, ...).

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use nix::mount::MsFlags;

const OPTIONS: &[&str] = &["type", "device", "o", "size"];
/// An option that needs others (moby's `mandatoryOpts`).
const REQUIRES: &[(&str, &[&str])] = &[
    ("device", &["type"]),
    ("type", &["device"]),
    ("o", &["device", "type"]),
];

/// Docker's checks of the local driver's options, with its messages.
pub fn check_options(opts: &BTreeMap<String, String>) -> Result<(), String> {
    if let Some(bad) = opts.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(format!("invalid option key: {bad:?}"));
    }
    if opts.contains_key("size") {
        return Err("quota size requested but no quota support".into());
    }
    for (opt, needs) in REQUIRES {
        if opts.contains_key(*opt) {
            if let Some(missing) = needs.iter().find(|n| !opts.contains_key(**n)) {
                return Err(format!("missing required option: {missing:?}"));
            }
        }
    }
    Ok(())
}

pub fn create_dir(data: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(data)
}

fn has_mount(opts: &BTreeMap<String, String>) -> bool {
    opts.contains_key("type") && opts.contains_key("device")
}

/// `o` split into mount flags and the filesystem's data string (moby/sys `parseOptions`).
fn parse_o(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in o.split(',').filter(|s| !s.is_empty()) {
        let (clear, flag) = match opt {
            "defaults" => (false, MsFlags::empty()),
            "ro" => (false, MsFlags::MS_RDONLY),
            "rw" => (true, MsFlags::MS_RDONLY),
            "suid" => (true, MsFlags::MS_NOSUID),
            "nosuid" => (false, MsFlags::MS_NOSUID),
            "dev" => (true, MsFlags::MS_NODEV),
            "nodev" => (false, MsFlags::MS_NODEV),
            "exec" => (true, MsFlags::MS_NOEXEC),
            "noexec" => (false, MsFlags::MS_NOEXEC),
            "sync" => (false, MsFlags::MS_SYNCHRONOUS),
            "async" => (true, MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (false, MsFlags::MS_DIRSYNC),
            "atime" => (true, MsFlags::MS_NOATIME),
            "noatime" => (false, MsFlags::MS_NOATIME),
            "diratime" => (true, MsFlags::MS_NODIRATIME),
            "nodiratime" => (false, MsFlags::MS_NODIRATIME),
            "relatime" => (false, MsFlags::MS_RELATIME),
            "norelatime" => (true, MsFlags::MS_RELATIME),
            "strictatime" => (false, MsFlags::MS_STRICTATIME),
            "bind" => (false, MsFlags::MS_BIND),
            "rbind" => (false, MsFlags::MS_BIND | MsFlags::MS_REC),
            other => {
                data.push(other.to_string());
                continue;
            }
        };
        if clear {
            flags.remove(flag);
        } else {
            flags.insert(flag);
        }
    }
    (flags, data.join(","))
}

/// Whether `path` is a mount point (listed in this process's mountinfo).
fn is_mounted(path: &Path) -> bool {
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    let want = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| unescape_mountinfo(m) == want)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let n = u8::from_str_radix(&s[i + 1..i + 4], 8).unwrap_or(b'?');
            out.push(n);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mounts the volume's filesystem on `data` unless it is mounted already (it stays mounted
/// while any container uses it).
pub fn mount(data: &Path, opts: &BTreeMap<String, String>) -> std::io::Result<()> {
    if !has_mount(opts) || is_mounted(data) {
        return Ok(());
    }
    let (flags, fs_data) = parse_o(opts.get("o").map(String::as_str).unwrap_or(""));
    let fstype = opts["type"].as_str();
    nix::mount::mount(
        Some(opts["device"].as_str()),
        data,
        (fstype != "none").then_some(fstype),
        flags,
        (!fs_data.is_empty()).then_some(fs_data.as_str()),
    )
    .map_err(std::io::Error::from)
}

/// Unmounts the volume's filesystem, if it has one and it is mounted.
pub fn unmount(data: &Path, opts: &BTreeMap<String, String>) -> std::io::Result<()> {
    if !has_mount(opts) || !is_mounted(data) {
        return Ok(());
    }
    nix::mount::umount(data).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_are_checked_like_docker() {
        assert!(check_options(&opts(&[])).is_ok());
        assert!(check_options(&opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m")
        ]))
        .is_ok());
        assert_eq!(
            check_options(&opts(&[("foo", "1")])).unwrap_err(),
            "invalid option key: \"foo\""
        );
        assert_eq!(
            check_options(&opts(&[("type", "tmpfs")])).unwrap_err(),
            "missing required option: \"device\""
        );
        assert_eq!(
            check_options(&opts(&[("o", "bind")])).unwrap_err(),
            "missing required option: \"device\""
        );
    }

    #[test]
    fn o_splits_into_flags_and_data() {
        let (f, d) = parse_o("bind,ro,size=10m,uid=1000,noexec,exec");
        assert_eq!(f, MsFlags::MS_BIND | MsFlags::MS_RDONLY);
        assert_eq!(d, "size=10m,uid=1000");
        assert_eq!(unescape_mountinfo("/a\\040b\\134c"), "/a b\\c");
    }
}
