//! Docker's detach keys (`--detach-keys`, the `detachKeys` API parameter): the
//! `ctrl-p,ctrl-q` syntax, and the matcher that watches an input stream for the sequence.
//! Shared by berthd (which detaches attach and exec sessions itself, as dockerd does) and
//! the berth CLI.

/// docker's default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[16, 17];

/// docker's `term.ToBytes`: `ctrl-p,ctrl-q`, `a`, `ctrl-@`, `ctrl-[` … → bytes.
pub fn parse_detach_keys(keys: &str) -> Result<Vec<u8>, String> {
    let bad = || {
        format!("invalid detach keys ({keys}): use a comma-separated list of single characters or ctrl-<value>, e.g. ctrl-p,ctrl-q")
    };
    let mut out = Vec::new();
    for key in keys.split(',') {
        let lower = key.to_ascii_lowercase();
        if key.len() == 1 {
            out.push(key.as_bytes()[0]);
        } else if let Some(c) = lower.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b @ b'a'..=b'z'] => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(bad()),
            };
            out.push(b);
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

/// The escape proxy: watches input for the detach sequence. Bytes that might start the
/// sequence are held back until it is clear they do not.
#[derive(Debug)]
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    pub fn new(keys: Vec<u8>) -> Self {
        Self { keys, matched: 0 }
    }

    /// Returns the bytes to forward, and whether the full sequence was typed (bytes after
    /// it are dropped).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return (out, false);
        }
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return (out, true);
                }
                continue;
            }
            // Not the sequence after all: release what was held, then look again at `b`.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    self.matched = 0;
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_like_docker() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            DEFAULT_DETACH_KEYS
        );
        assert_eq!(
            parse_detach_keys("a,ctrl-@,ctrl-[,ctrl-_").unwrap(),
            [b'a', 0, 27, 31]
        );
        assert_eq!(parse_detach_keys("CTRL-A").unwrap(), [1]);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }

    #[test]
    fn escape_proxy_holds_back_partial_sequences() {
        let mut m = DetachMatcher::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(m.feed(b"ls\n"), (b"ls\n".to_vec(), false));
        // ctrl-p alone is held …
        assert_eq!(m.feed(&[16]), (vec![], false));
        // … and released when the next key is not ctrl-q.
        assert_eq!(m.feed(b"x"), (vec![16, b'x'], false));
        // ctrl-p ctrl-p ctrl-q: the first is released, the rest detaches.
        assert_eq!(m.feed(&[16, 16, 17, b'z']), (vec![16], true));
        // Split over reads.
        assert_eq!(m.feed(b"a\x10"), (b"a".to_vec(), false));
        assert_eq!(m.feed(b"\x11"), (vec![], true));
        let mut one = DetachMatcher::new(vec![b'q']);
        assert_eq!(one.feed(b"abq"), (b"ab".to_vec(), true));
    }
}
