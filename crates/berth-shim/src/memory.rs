//! Keeping the long-lived shim small. Creating the container runs a lot of code (libcontainer,
//! libcgroups, serde of the spec) the supervising loop never needs again; its pages stay mapped
//! and counted in the shim's RSS. Once the container runs, [`trim`] drops them:
//!
//! * `MADV_DONTNEED` on file-backed mappings that hold **no anonymous (copied-on-write)
//!   pages** — program text and read-only data. For such pages this is exactly what the kernel
//!   does to clean page-cache pages under memory pressure: the next access re-reads them from
//!   the page cache (a minor fault). Mappings with anonymous pages (relocated RELRO data,
//!   `.data`) are left alone, since dropping those would lose their modified contents.
//! * `malloc_trim(0)` returns the allocator's free memory to the kernel.

use std::fs;

/// Drops clean file-backed pages and free heap from this process's resident set.
pub fn trim() {
    if let Ok(smaps) = fs::read_to_string("/proc/self/smaps") {
        for (start, end) in clean_file_mappings(&smaps) {
            // SAFETY: the range is a whole mapping of this process holding only unmodified
            // file-backed pages (no anonymous pages), which are re-read from the file on the
            // next access. No Rust object lives in such a mapping.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: glibc call without preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `(start, end)` of mappings backed by a file, not writable, with `Anonymous: 0 kB`.
fn clean_file_mappings(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            cur = None;
            let mut f = line.split_whitespace();
            let range = f.next().unwrap_or("");
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            let file_backed = path.starts_with('/');
            // Shared or writable mappings are never touched.
            if !file_backed || perms.as_bytes().get(1) != Some(&b'-') || !perms.ends_with('p') {
                continue;
            }
            if let Some((a, b)) = range.split_once('-') {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    cur = Some((a, b));
                }
            }
        } else if let Some(rest) = line.strip_prefix("Anonymous:") {
            if let Some(m) = cur.take() {
                if rest.trim() == "0 kB" {
                    out.push(m);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_only_clean_readonly_file_mappings() {
        let smaps = "\
55e0a0000000-55e0a0100000 r--p 00000000 fe:00 123 /usr/bin/x
Rss:                 100 kB
Anonymous:             0 kB
55e0a0100000-55e0a0200000 r-xp 00100000 fe:00 123 /usr/bin/x
Anonymous:             0 kB
55e0a0200000-55e0a0300000 r--p 00200000 fe:00 123 /usr/bin/x
Anonymous:           372 kB
55e0a0300000-55e0a0301000 rw-p 00300000 fe:00 123 /usr/bin/x
Anonymous:             0 kB
7f0000000000-7f0000001000 rw-p 00000000 00:00 0 [heap]
Anonymous:             4 kB
7f0000002000-7f0000003000 r--s 00000000 00:05 9 /dev/shm/x
Anonymous:             0 kB
";
        assert_eq!(
            clean_file_mappings(smaps),
            [
                (0x55e0a0000000, 0x55e0a0100000),
                (0x55e0a0100000, 0x55e0a0200000)
            ]
        );
    }

    #[test]
    fn trim_is_harmless() {
        trim();
        // Code and read-only data still work after their pages were dropped.
        let v: Vec<String> = (0..100).map(|i| format!("{i}")).collect();
        assert_eq!(v.join(",").len(), 289);
    }
}
