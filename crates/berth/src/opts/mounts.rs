//! `-v/--volume`, `--mount`, `--tmpfs` and `--device`, parsed like the docker CLI does.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::units::ram_in_bytes;

/// `-v` specs split into bind/named-volume `Binds` and anonymous `Volumes`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VolumeSpecs {
    pub binds: Vec<String>,
    pub anonymous: BTreeMap<String, serde_json::Value>,
}

/// compose's `ParseVolume` as the docker CLI uses it: `SRC:DST[:OPTS]` (a host path or a
/// volume name as SRC) is a bind; a lone `DST` is an anonymous volume. A relative host path
/// starting with `.` is made absolute.
pub fn parse_volumes(specs: &[String]) -> Result<VolumeSpecs, String> {
    let mut out = VolumeSpecs::default();
    for spec in specs {
        if spec.is_empty() {
            return Err("invalid empty volume spec".into());
        }
        let parts: Vec<&str> = spec.split(':').collect();
        if spec.len() > 2 && parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "invalid spec: {spec}: empty section between colons"
            ));
        }
        if parts.len() == 1 || spec.len() <= 2 {
            out.anonymous.insert(spec.clone(), serde_json::json!({}));
            continue;
        }
        let (host, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let host = if !host.starts_with('/') && host.starts_with('.') {
            absolute(host)
        } else {
            host.to_string()
        };
        out.binds.push(format!("{host}:{rest}"));
    }
    Ok(out)
}

/// Go's `filepath.Abs`: joined to the working directory and cleaned (`.` and `..`
/// resolved lexically).
fn absolute(p: &str) -> String {
    let joined = std::env::current_dir().unwrap_or_default().join(p);
    let mut out = std::path::PathBuf::from("/");
    for c in Path::new(&joined).components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out.display().to_string()
}

/// A `Mount` of the API (`--mount`), fields in docker's order, empty ones left out.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub create_mountpoint: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_copy: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subpath: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DriverConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TmpfsOptions {
    #[serde(skip_serializing_if = "is_zero")]
    pub size_bytes: i64,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Ok(true),
        "0" | "f" | "false" => Ok(false),
        _ => Err(format!("invalid value for {key}: {v}")),
    }
}

/// docker's `opts.MountOpt.Set`: `type=bind,source=/a,target=/b,readonly,…`.
pub fn parse_mount(spec: &str) -> Result<Mount, String> {
    let mut m = Mount {
        kind: "volume".into(),
        ..Mount::default()
    };
    let mut bind: Option<BindOptions> = None;
    let mut vol: Option<VolumeOptions> = None;
    let mut tmpfs: Option<TmpfsOptions> = None;
    for field in spec.split(',') {
        if field.is_empty() {
            continue;
        }
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let Some(value) = value else {
            // Boolean options may stand alone.
            match key.as_str() {
                "readonly" | "ro" => m.read_only = true,
                "volume-nocopy" => vol.get_or_insert_with(Default::default).no_copy = true,
                "bind-nonrecursive" => {
                    bind.get_or_insert_with(Default::default).non_recursive = true
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        match key.as_str() {
            "type" => m.kind = value.to_ascii_lowercase(),
            "source" | "src" => m.source = value.to_string(),
            "target" | "dst" | "destination" => m.target = value.to_string(),
            "readonly" | "ro" => m.read_only = parse_bool(&key, value)?,
            "consistency" => m.consistency = value.to_string(),
            "bind-propagation" => {
                bind.get_or_insert_with(Default::default).propagation = value.to_string()
            }
            "bind-nonrecursive" => {
                bind.get_or_insert_with(Default::default).non_recursive = parse_bool(&key, value)?
            }
            "bind-create-mountpoint" => {
                bind.get_or_insert_with(Default::default).create_mountpoint =
                    parse_bool(&key, value)?
            }
            "volume-nocopy" => {
                vol.get_or_insert_with(Default::default).no_copy = parse_bool(&key, value)?
            }
            "volume-subpath" => {
                vol.get_or_insert_with(Default::default).subpath = value.to_string()
            }
            "volume-label" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                vol.get_or_insert_with(Default::default)
                    .labels
                    .insert(k.to_string(), v.to_string());
            }
            "volume-driver" => {
                vol.get_or_insert_with(Default::default)
                    .driver_config
                    .get_or_insert_with(Default::default)
                    .name = value.to_string()
            }
            "volume-opt" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                vol.get_or_insert_with(Default::default)
                    .driver_config
                    .get_or_insert_with(Default::default)
                    .options
                    .insert(k.to_string(), v.to_string());
            }
            "tmpfs-size" => {
                tmpfs.get_or_insert_with(Default::default).size_bytes = ram_in_bytes(value)
                    .map_err(|e| format!("invalid value for {key}: {value}: {e}"))?
            }
            "tmpfs-mode" => {
                tmpfs.get_or_insert_with(Default::default).mode = u32::from_str_radix(value, 8)
                    .map_err(|_| format!("invalid value for {key}: {value}"))?
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    if vol.is_some() && m.kind != "volume" {
        return Err(format!(
            "cannot mix 'volume-*' options with mount type '{}'",
            m.kind
        ));
    }
    if bind.is_some() && m.kind != "bind" {
        return Err(format!(
            "cannot mix 'bind-*' options with mount type '{}'",
            m.kind
        ));
    }
    if tmpfs.is_some() && m.kind != "tmpfs" {
        return Err(format!(
            "cannot mix 'tmpfs-*' options with mount type '{}'",
            m.kind
        ));
    }
    m.bind_options = bind;
    m.volume_options = vol;
    m.tmpfs_options = tmpfs;
    Ok(m)
}

/// `--tmpfs /run:rw,size=64m` → (`/run`, `rw,size=64m`).
pub fn parse_tmpfs(spec: &str) -> Result<(String, String), String> {
    let (k, v) = spec.split_once(':').unwrap_or((spec, ""));
    if !k.starts_with('/') {
        return Err(format!(
            "invalid tmpfs mount {spec:?}: the path must be absolute"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// A `DeviceMapping` of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

/// `r`, `w`, `m`, each at most once.
fn valid_device_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return false;
    }
    let mut seen = [false; 3];
    for c in mode.chars() {
        let i = match c {
            'r' => 0,
            'w' => 1,
            'm' => 2,
            _ => return false,
        };
        if seen[i] {
            return false;
        }
        seen[i] = true;
    }
    true
}

/// docker's `--device HOST[:CONTAINER][:PERMISSIONS]`, checked like `ValidateDevice`.
pub fn parse_device(spec: &str) -> Result<DeviceMapping, String> {
    if spec.matches(':').count() > 2 || spec.starts_with(':') || spec.is_empty() {
        return Err(format!("bad format for path: {spec}"));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, mut dst, mut perms) = (parts[0], "", "rwm");
    match parts.len() {
        3 => {
            if !valid_device_mode(parts[2]) {
                return Err(format!("bad mode specified: {}", parts[2]));
            }
            dst = parts[1];
            perms = parts[2];
        }
        2 if valid_device_mode(parts[1]) => perms = parts[1],
        2 => dst = parts[1],
        _ => {}
    }
    let container_path = if dst.is_empty() { src } else { dst };
    if !container_path.starts_with('/') {
        return Err(format!("{container_path} is not an absolute path"));
    }
    Ok(DeviceMapping {
        path_on_host: src.to_string(),
        path_in_container: container_path.to_string(),
        cgroup_permissions: perms.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_split_into_binds_and_anonymous() {
        let v = parse_volumes(&["/src:/dst:ro".into(), "/anon".into(), "named:/n".into()]).unwrap();
        assert_eq!(v.binds, ["/src:/dst:ro", "named:/n"]);
        assert_eq!(
            serde_json::to_string(&v.anonymous).unwrap(),
            r#"{"/anon":{}}"#
        );
        let rel = parse_volumes(&["./data:/d".into()]).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(rel.binds, [format!("{}/data:/d", cwd.display())]);
        assert_eq!(
            parse_volumes(&["".into()]).unwrap_err(),
            "invalid empty volume spec"
        );
        assert!(parse_volumes(&["/a::/b".into()])
            .unwrap_err()
            .contains("empty section between colons"));
    }

    #[test]
    fn mounts_become_api_mounts() {
        let j = |s: &str| serde_json::to_string(&parse_mount(s).unwrap()).unwrap();
        assert_eq!(
            j("type=bind,src=/a,dst=/b,readonly"),
            r#"{"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true}"#
        );
        assert_eq!(
            j("type=volume,source=v,target=/v,volume-opt=o=1,volume-nocopy"),
            r#"{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"NoCopy":true,"DriverConfig":{"Options":{"o":"1"}}}}"#
        );
        assert_eq!(
            j("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777"),
            r#"{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":1023}}"#
        );
        assert_eq!(
            j("target=/x,ro=false,bind-propagation=rshared,type=bind"),
            r#"{"Type":"bind","Target":"/x","BindOptions":{"Propagation":"rshared"}}"#
        );
        assert_eq!(j("dst=/v"), r#"{"Type":"volume","Target":"/v"}"#);
        let e = |s: &str| parse_mount(s).unwrap_err();
        assert_eq!(e("type=bind"), "target is required");
        assert_eq!(e("bogus=1,dst=/x"), "unexpected key 'bogus' in 'bogus=1'");
        assert_eq!(
            e("type=bind,dst=/x,junk"),
            "invalid field 'junk' must be a key=value pair"
        );
        assert_eq!(
            e("type=bind,dst=/x,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'bind'"
        );
        assert!(e("type=tmpfs,dst=/x,tmpfs-size=zz").contains("invalid size"));
    }

    #[test]
    fn devices_and_tmpfs() {
        let d = |s: &str| parse_device(s).unwrap();
        assert_eq!(
            d("/dev/null:/dev/xnull:r"),
            DeviceMapping {
                path_on_host: "/dev/null".into(),
                path_in_container: "/dev/xnull".into(),
                cgroup_permissions: "r".into()
            }
        );
        assert_eq!(d("/dev/sda").path_in_container, "/dev/sda");
        assert_eq!(d("/dev/sda").cgroup_permissions, "rwm");
        assert_eq!(d("/dev/sda:rw").cgroup_permissions, "rw");
        assert_eq!(d("/dev/sda:rw").path_in_container, "/dev/sda");
        assert_eq!(d("/dev/sda:/dev/b").path_in_container, "/dev/b");
        assert_eq!(
            parse_device("bad").unwrap_err(),
            "bad is not an absolute path"
        );
        assert_eq!(
            parse_device("/a:/b:x").unwrap_err(),
            "bad mode specified: x"
        );
        assert_eq!(
            parse_device("/a:/b:r:w").unwrap_err(),
            "bad format for path: /a:/b:r:w"
        );
        assert_eq!(
            parse_tmpfs("/run:rw,size=64m").unwrap(),
            ("/run".into(), "rw,size=64m".into())
        );
        assert_eq!(parse_tmpfs("/t").unwrap(), ("/t".into(), "".into()));
        assert!(parse_tmpfs("rel").is_err());
    }
}
