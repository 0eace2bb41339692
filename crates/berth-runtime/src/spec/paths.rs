//! Masked and read-only `/proc` and `/sys` paths (moby `oci/defaults.go`).

use crate::config::HostConfig;
use crate::security_opt::SecurityOptions;

/// Paths hidden from the container (bind-mounted over with `/dev/null` or an empty tmpfs).
pub const DEFAULT_MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths made read-only in the container.
pub const DEFAULT_READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The HostConfig's lists when set (an empty list unmasks everything), else Docker's
/// defaults; privileged containers and `systempaths=unconfined` get none by default.
pub(crate) fn masked_and_readonly(
    hc: &HostConfig,
    security: &SecurityOptions,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let defaults = !hc.privileged && !security.unconfined_system_paths;
    let pick = |given: &Option<Vec<String>>, default: &[&str]| {
        let list: Vec<String> = match given {
            Some(list) => list.clone(),
            None if defaults => default.iter().map(|s| s.to_string()).collect(),
            None => Vec::new(),
        };
        (!list.is_empty()).then_some(list)
    };
    (
        pick(&hc.masked_paths, &DEFAULT_MASKED_PATHS),
        pick(&hc.readonly_paths, &DEFAULT_READONLY_PATHS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_overrides_and_privileged() {
        let sec = SecurityOptions::default();
        let (m, r) = masked_and_readonly(&HostConfig::default(), &sec);
        assert_eq!(m.unwrap().len(), 11);
        assert_eq!(
            r.unwrap(),
            DEFAULT_READONLY_PATHS.map(String::from).to_vec()
        );

        let hc = HostConfig {
            masked_paths: Some(vec!["/proc/foo".into()]),
            readonly_paths: Some(vec![]),
            ..Default::default()
        };
        let (m, r) = masked_and_readonly(&hc, &sec);
        assert_eq!(m.unwrap(), vec!["/proc/foo"]);
        assert_eq!(r, None);

        let privileged = HostConfig {
            privileged: true,
            ..Default::default()
        };
        assert_eq!(masked_and_readonly(&privileged, &sec), (None, None));

        let unconfined = SecurityOptions {
            unconfined_system_paths: true,
            ..Default::default()
        };
        assert_eq!(
            masked_and_readonly(&HostConfig::default(), &unconfined),
            (None, None)
        );
    }
}
