use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompOperator};

use super::*;
use crate::caps::container_caps;
use crate::host::FakeHost;

fn default_caps() -> CapSet {
    CapSet::docker_default()
}

fn caps_plus(extra: &[&str]) -> CapSet {
    let add: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    container_caps(false, &add, &[], CapSet::ALL_KNOWN).unwrap()
}

fn host(arch: &str, major: u32, minor: u32) -> FakeHost {
    FakeHost {
        arch: arch.into(),
        kernel: KernelVersion::new(major, minor),
        ..Default::default()
    }
}

fn filter(caps: CapSet, host: &FakeHost) -> LinuxSeccomp {
    container_seccomp(&SeccompChoice::Default, false, caps, host)
        .unwrap()
        .unwrap()
}

/// The rules that name `syscall`.
fn rules<'a>(s: &'a LinuxSeccomp, syscall: &str) -> Vec<&'a LinuxSyscall> {
    s.syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .filter(|r| r.names().iter().any(|n| n == syscall))
        .collect()
}

/// Allowed without argument conditions.
fn plainly_allowed(s: &LinuxSeccomp, syscall: &str) -> bool {
    rules(s, syscall)
        .iter()
        .any(|r| r.action() == LinuxSeccompAction::ScmpActAllow && r.args().is_none())
}

#[test]
fn default_profile_basics() {
    let s = filter(default_caps(), &host("amd64", 6, 1));
    assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(s.default_errno_ret(), Some(1));
    assert_eq!(
        s.architectures().as_deref().unwrap(),
        &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    );
    assert!(plainly_allowed(&s, "read"));
    assert!(plainly_allowed(&s, "execve"));
    assert!(!plainly_allowed(&s, "mount"));
    assert!(!plainly_allowed(&s, "reboot"));
    assert!(rules(&s, "kexec_load").is_empty());
}

#[test]
fn ptrace_depends_on_kernel_and_caps() {
    let old = host("amd64", 4, 4);
    assert!(!plainly_allowed(&filter(default_caps(), &old), "ptrace"));
    assert!(plainly_allowed(
        &filter(default_caps(), &host("amd64", 4, 8)),
        "ptrace"
    ));
    assert!(plainly_allowed(
        &filter(default_caps(), &host("amd64", 6, 18)),
        "ptrace"
    ));
    // CAP_SYS_PTRACE allows it whatever the kernel.
    let s = filter(caps_plus(&["SYS_PTRACE"]), &old);
    assert!(plainly_allowed(&s, "ptrace"));
    assert!(plainly_allowed(&s, "kcmp"));
}

#[test]
fn personality_is_allowed_only_for_dockers_values() {
    let s = filter(default_caps(), &host("amd64", 6, 1));
    let r = rules(&s, "personality");
    assert_eq!(r.len(), 5);
    let values: Vec<u64> = r
        .iter()
        .map(|r| r.args().as_ref().unwrap()[0].value())
        .collect();
    assert_eq!(values, vec![0, 8, 0x20000, 0x20008, 0xffff_ffff]);
    for rule in r {
        let arg = rule.args().as_ref().unwrap()[0];
        assert_eq!(
            (arg.index(), arg.op()),
            (0, LinuxSeccompOperator::ScmpCmpEq)
        );
    }
}

#[test]
fn arch_specific_rules() {
    let amd64 = filter(default_caps(), &host("amd64", 6, 1));
    assert!(plainly_allowed(&amd64, "arch_prctl"));
    assert!(plainly_allowed(&amd64, "modify_ldt"));
    assert!(!plainly_allowed(&amd64, "arm_fadvise64_64"));

    let arm64 = filter(default_caps(), &host("arm64", 6, 1));
    assert_eq!(
        arm64.architectures().as_deref().unwrap(),
        &[Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    );
    assert!(!plainly_allowed(&arm64, "arch_prctl"));
    assert!(plainly_allowed(&arm64, "arm_fadvise64_64"));

    // An arch the profile does not map: no architectures, libseccomp uses the native one.
    let odd = filter(default_caps(), &host("sparc64", 6, 1));
    assert!(odd.architectures().is_none());
}

#[test]
fn clone_rules_follow_sys_admin() {
    let plain = filter(default_caps(), &host("amd64", 6, 1));
    let clone = rules(&plain, "clone");
    assert_eq!(clone.len(), 1);
    let arg = clone[0].args().as_ref().unwrap()[0];
    assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(arg.value(), 2114060288);
    let clone3 = rules(&plain, "clone3");
    assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(clone3[0].errno_ret(), Some(38));

    let admin = filter(caps_plus(&["SYS_ADMIN"]), &host("amd64", 6, 1));
    assert!(plainly_allowed(&admin, "clone"));
    assert!(plainly_allowed(&admin, "clone3"));
    assert!(plainly_allowed(&admin, "mount"));
    assert!(rules(&admin, "clone").iter().all(|r| r.args().is_none()));
}

#[test]
fn privileged_and_unconfined_have_no_filter() {
    let h = FakeHost::default();
    let caps = default_caps();
    assert!(container_seccomp(&SeccompChoice::Default, true, caps, &h)
        .unwrap()
        .is_none());
    assert!(
        container_seccomp(&SeccompChoice::Unconfined, false, caps, &h)
            .unwrap()
            .is_none()
    );
}

#[test]
fn custom_profiles() {
    let h = FakeHost::default();
    let caps = default_caps();
    let custom =
        |json: &str| container_seccomp(&SeccompChoice::Custom(json.into()), false, caps, &h);

    let s = custom(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO","args":null},
                        {"names":["chmod"],"action":"SCMP_ACT_KILL",
                         "excludes":{"caps":["CAP_FOWNER"]}}]}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(
        s.architectures().as_deref().unwrap(),
        &[Arch::ScmpArchX86_64]
    );
    assert_eq!(rules(&s, "mkdir").len(), 1);
    assert!(
        rules(&s, "chmod").is_empty(),
        "excluded: the container has CAP_FOWNER"
    );

    assert!(custom("{}").unwrap().is_none());
    let err = custom(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}"#).unwrap_err();
    assert!(err.to_string().contains("both 'name' and 'names'"), "{err}");
    let err = custom(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("both 'architectures' and 'archMap'"),
        "{err}"
    );
    let err = custom("not json").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Decoding seccomp profile failed"),
        "{err}"
    );
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    let err = custom(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"four"}}]}"#).unwrap_err();
    assert!(
        err.to_string().starts_with("invalid kernel version"),
        "{err}"
    );
}

#[test]
fn serializes_as_oci() {
    let s = filter(default_caps(), &host("amd64", 6, 1));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["architectures"][0], "SCMP_ARCH_X86_64");
    assert_eq!(json["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
}
