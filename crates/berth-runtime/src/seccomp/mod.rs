//! Seccomp: Docker's profile format turned into the OCI filter for one container on one
//! host (moby `profiles/seccomp/seccomp_linux.go` `setupSeccomp`).

mod profile;

use std::sync::OnceLock;

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSyscall};

pub use profile::{ArchMap, Filter, Profile, Rule};

use crate::caps::CapSet;
use crate::error::SpecError;
use crate::host::{HostFacts, KernelVersion};
use crate::security_opt::SeccompChoice;

/// Docker's default profile, as shipped by moby (Apache-2.0).
const DEFAULT_PROFILE_JSON: &str = include_str!("default.json");

/// Docker's default profile, parsed once.
pub fn default_profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| {
        parse_profile(DEFAULT_PROFILE_JSON).expect("the embedded default profile parses")
    })
}

/// Parses a profile in Docker's JSON format.
pub fn parse_profile(json: &str) -> Result<Profile, SpecError> {
    serde_json::from_str(json)
        .map_err(|e| SpecError::invalid(format!("Decoding seccomp profile failed: {e}")))
}

/// The filter for a container: none when privileged or unconfined, else the chosen profile
/// resolved for the container's bounding capabilities and the host.
pub fn container_seccomp(
    choice: &SeccompChoice,
    privileged: bool,
    caps: CapSet,
    host: &dyn HostFacts,
) -> Result<Option<LinuxSeccomp>, SpecError> {
    match choice {
        _ if privileged => Ok(None),
        SeccompChoice::Unconfined => Ok(None),
        SeccompChoice::Default => resolve(default_profile(), caps, host),
        SeccompChoice::Custom(json) => resolve(&parse_profile(json)?, caps, host),
    }
}

/// Resolves `profile` into an OCI filter: keeps the host's architectures from `archMap`
/// and the rules whose `includes` all hold and whose `excludes` do not.
pub fn resolve(
    profile: &Profile,
    caps: CapSet,
    host: &dyn HostFacts,
) -> Result<Option<LinuxSeccomp>, SpecError> {
    if profile.default_action.is_none() && profile.syscalls.is_empty() {
        return Ok(None);
    }
    let default_action = profile
        .default_action
        .ok_or_else(|| SpecError::invalid("seccomp profile has syscalls but no defaultAction"))?;
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(SpecError::invalid(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, \
             use either 'architectures' or 'archMap'",
        ));
    }
    let arch = host.arch();
    let mut architectures = profile.architectures.clone();
    if let Some(native) = native_arch(arch) {
        for m in profile.arch_map.iter().filter(|m| m.architecture == native) {
            architectures.push(m.architecture);
            architectures.extend(m.sub_architectures.iter().copied());
        }
    }

    let kernel = host.kernel_version();
    let mut syscalls = Vec::new();
    for rule in &profile.syscalls {
        let names = match &rule.name {
            Some(_) if !rule.names.is_empty() => {
                return Err(SpecError::invalid(
                    "both 'name' and 'names' are specified in the seccomp profile, \
                     use either 'name' or 'names'",
                ))
            }
            Some(name) => vec![name.clone()],
            None => rule.names.clone(),
        };
        if excluded(&rule.excludes, arch, caps, kernel)?
            || !included(&rule.includes, arch, caps, kernel)?
        {
            continue;
        }
        let mut call = LinuxSyscall::default();
        call.set_names(names);
        call.set_action(rule.action);
        call.set_errno_ret(rule.errno_ret);
        call.set_args((!rule.args.is_empty()).then(|| rule.args.clone()));
        syscalls.push(call);
    }

    let mut out = LinuxSeccomp::default();
    out.set_default_action(default_action);
    out.set_default_errno_ret(profile.default_errno_ret);
    out.set_architectures((!architectures.is_empty()).then_some(architectures));
    out.set_flags((!profile.flags.is_empty()).then(|| profile.flags.clone()));
    out.set_listener_path(profile.listener_path.clone());
    out.set_listener_metadata(profile.listener_metadata.clone());
    out.set_syscalls(Some(syscalls));
    Ok(Some(out))
}

/// A rule is skipped when any `excludes` condition holds.
fn excluded(
    f: &Filter,
    arch: &str,
    caps: CapSet,
    kernel: KernelVersion,
) -> Result<bool, SpecError> {
    Ok(f.arches.iter().any(|a| a == arch)
        || f.caps.iter().any(|c| caps.contains(c))
        || match &f.min_kernel {
            Some(v) => kernel >= min_kernel(v)?,
            None => false,
        })
}

/// A rule is kept only when every `includes` condition holds.
fn included(
    f: &Filter,
    arch: &str,
    caps: CapSet,
    kernel: KernelVersion,
) -> Result<bool, SpecError> {
    Ok((f.arches.is_empty() || f.arches.iter().any(|a| a == arch))
        && f.caps.iter().all(|c| caps.contains(c))
        && match &f.min_kernel {
            Some(v) => kernel >= min_kernel(v)?,
            None => true,
        })
}

fn min_kernel(v: &str) -> Result<KernelVersion, SpecError> {
    KernelVersion::parse(v).ok_or_else(|| {
        SpecError::invalid(format!(
            "invalid kernel version: {v}, expected \"<kernel version>.<major revision>\""
        ))
    })
}

/// Go's `GOARCH` → the seccomp architecture (moby's `nativeToSeccomp`).
fn native_arch(goarch: &str) -> Option<Arch> {
    Some(match goarch {
        "amd64" => Arch::ScmpArchX86_64,
        "386" | "x86" => Arch::ScmpArchX86,
        "arm" => Arch::ScmpArchArm,
        "arm64" => Arch::ScmpArchAarch64,
        "mips" => Arch::ScmpArchMips,
        "mipsle" => Arch::ScmpArchMipsel,
        "mips64" => Arch::ScmpArchMips64,
        "mips64n32" => Arch::ScmpArchMips64n32,
        "mips64le" | "mipsel64" => Arch::ScmpArchMipsel64,
        "mipsel64n32" | "mips3l64n32" => Arch::ScmpArchMipsel64n32,
        "ppc" => Arch::ScmpArchPpc,
        "ppc64" => Arch::ScmpArchPpc64,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "riscv64" => Arch::ScmpArchRiscv64,
        "s390" => Arch::ScmpArchS390,
        "s390x" => Arch::ScmpArchS390x,
        "loong64" => Arch::ScmpArchLoongarch64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
