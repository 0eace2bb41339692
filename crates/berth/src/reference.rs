//! Image references as the CLI checks them before asking the daemon (`berth tag`,
//! `berth import`, `berth images`): the grammar and Docker's messages live in berth-image,
//! shared with the daemon; this adds docker's `ParseAnyReference` check.

pub use berth_image::{Reference, ReferenceError};

/// docker's `ParseAnyReference` as a check: a full image ID, a digest (`sha256:…`), or a
/// name [`Reference::parse`] accepts.
pub fn check_any_reference(s: &str) -> Result<(), ReferenceError> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    if hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Ok(());
    }
    Reference::parse(s).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_reference() {
        assert!(check_any_reference(&"a".repeat(64)).is_ok());
        assert!(check_any_reference(&format!("sha256:{}", "b".repeat(64))).is_ok());
        assert!(check_any_reference("busybox:1").is_ok());
        let e = check_any_reference("Busybox").unwrap_err().to_string();
        assert!(e.contains("must be lowercase"), "{e}");
    }
}
