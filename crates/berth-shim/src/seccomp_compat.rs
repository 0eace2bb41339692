//! Fits a bundle's seccomp profile to the libseccomp this shim is linked against.
//!
//! Docker's default profile names syscalls newer than some hosts' libseccomp knows (it is
//! kept current with the kernel). runc skips names libseccomp cannot resolve; libcontainer
//! fails the whole filter instead ("failed to load seccomp context"). So before creating
//! the container, the shim drops the names its libseccomp does not know — such syscalls
//! are then simply not allowed, which is the profile's default action anyway.

use std::path::Path;

use serde_json::Value;

/// Rewrites `<bundle>/config.json` without unknown syscall names; returns how many it
/// dropped (0: the file is left untouched).
pub fn prune_unknown_syscalls(bundle: &Path) -> std::io::Result<usize> {
    let path = bundle.join("config.json");
    let mut spec: Value =
        serde_json::from_slice(&std::fs::read(&path)?).map_err(std::io::Error::other)?;
    let dropped = prune(&mut spec, |name| {
        libseccomp::ScmpSyscall::from_name(name).is_ok()
    });
    if dropped > 0 {
        let tmp = bundle.join(".config.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(&spec).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(dropped)
}

/// Removes syscall names `known` rejects, and rules left without names.
fn prune(spec: &mut Value, known: impl Fn(&str) -> bool) -> usize {
    let Some(rules) = spec
        .pointer_mut("/linux/seccomp/syscalls")
        .and_then(Value::as_array_mut)
    else {
        return 0;
    };
    let mut dropped = 0;
    for rule in rules.iter_mut() {
        if let Some(names) = rule.get_mut("names").and_then(Value::as_array_mut) {
            let before = names.len();
            names.retain(|n| n.as_str().is_some_and(&known));
            dropped += before - names.len();
        }
    }
    rules.retain(|r| r["names"].as_array().is_some_and(|n| !n.is_empty()));
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_and_empty_rules_go() {
        let mut spec = serde_json::json!({"linux": {"seccomp": {"syscalls": [
            {"names": ["read", "brand_new_syscall"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["another_new_one"], "action": "SCMP_ACT_ALLOW"},
        ]}}});
        let dropped = prune(&mut spec, |n| !n.contains("new"));
        assert_eq!(dropped, 2);
        let rules = spec
            .pointer("/linux/seccomp/syscalls")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["names"], serde_json::json!(["read"]));
        assert_eq!(prune(&mut serde_json::json!({}), |_| true), 0);
    }

    #[test]
    fn the_real_library_knows_common_syscalls() {
        assert!(libseccomp::ScmpSyscall::from_name("read").is_ok());
        assert!(libseccomp::ScmpSyscall::from_name("no_such_syscall_xyz").is_err());
    }
}
