//! Device nodes and the device cgroup rules (moby `oci/defaults.go` rules and
//! `WithDevices`, `DevicesFromPath`, `AppendDevicePermissionsFromCgroupRules`).
//!
//! Runtimes create `null`, `zero`, `full`, `random`, `urandom`, `tty`, `console` and
//! `ptmx` themselves and allow them, `/dev/pts/*` and `mknod` on their own (runc and
//! youki append those rules), so the spec carries only Docker's explicit list.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use crate::config::{valid_device_mode, HostConfig};
use crate::error::SpecError;
use crate::host::{DeviceKind, HostDevice, HostFacts};

/// What goes into `linux.devices` and `linux.resources.devices`.
#[derive(Debug, Default)]
pub(crate) struct DeviceSetup {
    pub devices: Vec<LinuxDevice>,
    pub rules: Vec<LinuxDeviceCgroup>,
}

/// Docker's default device rules: deny everything, allow the usual character devices,
/// and deny `/dev/fuse` (10:229) explicitly.
fn default_rules() -> Vec<LinuxDeviceCgroup> {
    let c = |major, minor| Some((LinuxDeviceType::C, Some(major), Some(minor)));
    let mut rules = vec![rule(false, None, "rwm")];
    for (major, minor) in [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)] {
        rules.push(rule(true, c(major, minor), "rwm"));
    }
    rules.push(rule(false, c(10, 229), "rwm"));
    rules
}

fn rule(
    allow: bool,
    dev: Option<(LinuxDeviceType, Option<i64>, Option<i64>)>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    if let Some((typ, major, minor)) = dev {
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
    }
    r.set_access(Some(access.to_string()));
    r
}

/// Devices and rules for `hc`: privileged containers get every host device and an
/// allow-all rule; others Docker's defaults plus `--device` and `--device-cgroup-rule`.
pub(crate) fn device_setup(
    hc: &HostConfig,
    host: &dyn HostFacts,
) -> Result<DeviceSetup, SpecError> {
    let mut setup = DeviceSetup::default();
    if hc.privileged {
        let all = host
            .all_devices()
            .map_err(|e| SpecError::io("listing the host's devices", e))?;
        let dev = Path::new("/dev");
        setup
            .devices
            .extend(all.iter().map(|d| linux_device(d, &dev.join(&d.path))));
        // Custom permissions are moot when everything is allowed; nodes already under
        // /dev keep their path.
        for m in hc.resources.devices.iter() {
            if m.path_on_host != m.path_in_container {
                setup
                    .devices
                    .extend(mapped(host, &m.path_on_host, &m.path_in_container)?.0);
            }
        }
        setup.rules = vec![rule(true, None, "rwm")];
        return Ok(setup);
    }

    setup.rules = default_rules();
    for m in &hc.resources.devices {
        let perms = if m.cgroup_permissions.is_empty() {
            "rwm"
        } else {
            &m.cgroup_permissions
        };
        if !valid_device_mode(perms) {
            return Err(SpecError::invalid(format!("invalid device mode: {perms}")));
        }
        let (devices, nodes) = mapped(host, &m.path_on_host, &m.path_in_container)?;
        setup.devices.extend(devices);
        setup.rules.extend(nodes.iter().map(|d| {
            rule(
                true,
                Some((device_type(d.kind), Some(d.major), Some(d.minor))),
                perms,
            )
        }));
    }
    for r in &hc.resources.device_cgroup_rules {
        setup.rules.push(parse_cgroup_rule(r)?);
    }
    Ok(setup)
}

/// The devices at `host_path` as they appear at `ctr_path` (a directory maps every node
/// below it), plus the host nodes themselves.
fn mapped(
    host: &dyn HostFacts,
    host_path: &str,
    ctr_path: &str,
) -> Result<(Vec<LinuxDevice>, Vec<HostDevice>), SpecError> {
    let ctr_path = if ctr_path.is_empty() {
        host_path
    } else {
        ctr_path
    };
    if !ctr_path.starts_with('/') {
        return Err(SpecError::invalid(format!(
            "{ctr_path} is not an absolute path"
        )));
    }
    let nodes = host.devices(Path::new(host_path)).map_err(|e| {
        SpecError::NotFound(format!(
            "error gathering device information while adding custom device {host_path:?}: {e}"
        ))
    })?;
    let devices = nodes
        .iter()
        .map(|d| linux_device(d, &Path::new(ctr_path).join(&d.path)))
        .collect();
    Ok((devices, nodes))
}

fn linux_device(d: &HostDevice, path: &Path) -> LinuxDevice {
    let mut dev = LinuxDevice::default();
    dev.set_path(trim_trailing_slash(path));
    dev.set_typ(device_type(d.kind));
    dev.set_major(d.major);
    dev.set_minor(d.minor);
    dev.set_file_mode(Some(d.file_mode));
    dev.set_uid(Some(d.uid));
    dev.set_gid(Some(d.gid));
    dev
}

/// `Path::join("")` leaves a trailing slash; device paths must not have one.
fn trim_trailing_slash(p: &Path) -> PathBuf {
    PathBuf::from(p.to_string_lossy().trim_end_matches('/'))
}

fn device_type(kind: DeviceKind) -> LinuxDeviceType {
    match kind {
        DeviceKind::Char => LinuxDeviceType::C,
        DeviceKind::Block => LinuxDeviceType::B,
    }
}

/// `--device-cgroup-rule 'c 1:3 mr'` (`a|b|c major|*:minor|* [rwm]{1,3}`).
fn parse_cgroup_rule(s: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let invalid = || SpecError::invalid(format!("invalid device cgroup rule format: '{s}'"));
    let parts: Vec<&str> = s.split(' ').collect();
    let [typ, numbers, access] = parts[..] else {
        return Err(invalid());
    };
    let typ = match typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(invalid()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(invalid)?;
    let number = |n: &str| -> Result<Option<i64>, SpecError> {
        match n {
            "*" => Ok(None),
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().map(Some).map_err(|_| invalid())
            }
            _ => Err(invalid()),
        }
    };
    let (major, minor) = (number(major)?, number(minor)?);
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(invalid());
    }
    Ok(rule(true, Some((typ, major, minor)), access))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeviceMapping;
    use crate::host::FakeHost;

    fn hc(devices: &[&str], rules: &[&str], privileged: bool) -> HostConfig {
        let mut hc = HostConfig {
            privileged,
            ..Default::default()
        };
        hc.resources.devices = devices.iter().map(|d| d.parse().unwrap()).collect();
        hc.resources.device_cgroup_rules = rules.iter().map(|s| s.to_string()).collect();
        hc
    }

    fn rule_strings(rules: &[LinuxDeviceCgroup]) -> Vec<String> {
        rules
            .iter()
            .map(|r| format!("{} {}", if r.allow() { "allow" } else { "deny" }, r))
            .collect()
    }

    #[test]
    fn docker_default_rules() {
        let s = device_setup(&hc(&[], &[], false), &FakeHost::default()).unwrap();
        assert!(s.devices.is_empty());
        assert_eq!(
            rule_strings(&s.rules),
            vec![
                "deny a *:* rwm",
                "allow c 1:5 rwm",
                "allow c 1:3 rwm",
                "allow c 1:9 rwm",
                "allow c 1:8 rwm",
                "allow c 5:0 rwm",
                "allow c 5:1 rwm",
                "deny c 10:229 rwm",
            ]
        );
    }

    #[test]
    fn mapped_devices_and_directories() {
        let s = device_setup(
            &hc(
                &["/dev/fuse", "/dev/sda:/dev/xvda:r", "/dev/snd:/dev/sound"],
                &[],
                false,
            ),
            &FakeHost::default(),
        )
        .unwrap();
        let paths: Vec<_> = s.devices.iter().map(|d| d.path().clone()).collect();
        assert_eq!(
            paths,
            vec![
                PathBuf::from("/dev/fuse"),
                PathBuf::from("/dev/xvda"),
                PathBuf::from("/dev/sound/pcm"),
                PathBuf::from("/dev/sound/timer"),
            ]
        );
        assert_eq!(s.devices[1].typ(), LinuxDeviceType::B);
        assert_eq!(s.devices[0].file_mode(), Some(0o666));
        let extra = rule_strings(&s.rules[8..]);
        assert_eq!(
            extra,
            vec![
                "allow c 10:229 rwm",
                "allow b 8:0 r",
                "allow c 116:2 rwm",
                "allow c 116:33 rwm"
            ]
        );
    }

    #[test]
    fn missing_device_and_bad_mode() {
        let err = device_setup(&hc(&["/dev/nope"], &[], false), &FakeHost::default()).unwrap_err();
        assert!(err.to_string().starts_with(
            "error gathering device information while adding custom device \"/dev/nope\""
        ));
        let mut bad = HostConfig::default();
        bad.resources.devices = vec![DeviceMapping {
            path_on_host: "/dev/fuse".into(),
            path_in_container: "/dev/fuse".into(),
            cgroup_permissions: "rwx".into(),
        }];
        let err = device_setup(&bad, &FakeHost::default()).unwrap_err();
        assert_eq!(err.to_string(), "invalid device mode: rwx");
    }

    #[test]
    fn cgroup_rules() {
        let s = device_setup(
            &hc(&[], &["c 1:3 mr", "a *:* rwm", "b 8:* w"], false),
            &FakeHost::default(),
        )
        .unwrap();
        assert_eq!(
            rule_strings(&s.rules[8..]),
            vec!["allow c 1:3 mr", "allow a *:* rwm", "allow b 8:* w"]
        );
        for bad in [
            "c 1:3", "x 1:3 r", "c 1-3 r", "c 1:3 rx", "c a:3 r", "c  1:3 r",
        ] {
            let err = device_setup(&hc(&[], &[bad], false), &FakeHost::default()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid device cgroup rule format: '{bad}'")
            );
        }
    }

    #[test]
    fn privileged_gets_all_host_devices() {
        let s = device_setup(
            &hc(&["/dev/sda:/dev/xvda"], &[], true),
            &FakeHost::default(),
        )
        .unwrap();
        assert_eq!(rule_strings(&s.rules), vec!["allow a *:* rwm"]);
        assert_eq!(s.devices.len(), 7, "six host devices plus the renamed one");
        assert!(s
            .devices
            .iter()
            .any(|d| d.path() == Path::new("/dev/snd/pcm")));
        assert!(s.devices.iter().any(|d| d.path() == Path::new("/dev/xvda")));
    }
}
