//! Step cache keys.
//!
//! A step's key is the SHA-256 of: a format version, the parent image ID (which already
//! pins everything before the step: layers, config, env), the instruction kind and its text
//! after expansion, and `extra` — the build-arg values a RUN sees, or the content hash of a
//! COPY/ADD's sources. Two steps with equal keys produce equal images, so the recorded
//! result is reused.

use sha2::{Digest, Sha256};

/// Bump when what a step produces changes for the same inputs.
const VERSION: &str = "berth-build-cache-v1";

/// The cache key of a step.
pub(crate) fn key(parent: &str, kind: &str, text: &str, extra: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in [VERSION, parent, kind, text].iter().chain(extra.iter()) {
        // Length-prefixed, so no two different lists hash alike.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        let a = key("sha256:p", "RUN", "echo hi", &[]);
        assert_eq!(a, key("sha256:p", "RUN", "echo hi", &[]));
        assert_ne!(a, key("sha256:q", "RUN", "echo hi", &[]), "parent");
        assert_ne!(a, key("sha256:p", "RUN", "echo ho", &[]), "text");
        assert_ne!(a, key("sha256:p", "RUN", "echo hi", &["A=1"]), "args");
        assert_ne!(
            key("p", "RUN", "ab", &["c"]),
            key("p", "RUN", "a", &["bc"]),
            "parts are delimited"
        );
        assert!(a.starts_with("sha256:") && a.len() == 71);
    }
}
