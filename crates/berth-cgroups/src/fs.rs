//! Small file helpers: cgroup files are short text, read and written whole.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{CgroupError, Result};

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The file's text, or `None` when it does not exist (a controller or feature the kernel
/// lacks); other errors too are treated as absence, since stats are best effort.
pub(crate) fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A single number; `max` (v2's and `pids.max`'s "unlimited") is `None`.
pub(crate) fn parse_u64(path: &Path, text: &str) -> Result<Option<u64>> {
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        content: t.to_string(),
    })
}

/// A number from an optional file: absent or `max` → `None`.
pub(crate) fn read_u64(path: &Path) -> Option<u64> {
    read_opt(path).and_then(|t| parse_u64(path, &t).ok().flatten())
}

/// Flat keyed files (`memory.stat`, `cpu.stat`, `cpuacct.stat`): `key value` per line.
pub(crate) fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = it.next()?.parse().ok()?;
            Some((k.to_string(), v))
        })
        .collect()
}

pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    })
}
