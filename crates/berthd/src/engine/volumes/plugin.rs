//! Docker's legacy volume plugin protocol: JSON over HTTP/1.1 POSTs to an external process,
//! found by name as a UNIX socket (`<dir>/<name>.sock`, `<dir>/<name>/<name>.sock`) or an
//! address file (`<name>.spec` holding `unix:///path` or `tcp://host:port`, `<name>.json`
//! holding `{"Addr": ...}`) in the configured plugin directories, searched in order.
//!
//! Calls block (plugins are local and answer in milliseconds; every call has a deadline).
//! A plugin is activated (`/Plugin.Activate` must list `VolumeDriver`) each time it is
//! looked up, so a restarted plugin is picked up again without any state here.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// The media type plugins speak (Docker sends v1.2; plugins answer v1).
const MEDIA_TYPE: &str = "application/vnd.docker.plugins.v1.2+json";
/// Largest answer read from a plugin.
const MAX_RESPONSE: u64 = 16 << 20;
/// Mount may do real work (attach a disk, mount NFS); everything else should be quick.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(60);
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {0:?} not found")]
    NotFound(String),
    #[error("plugin {0:?} does not implement VolumeDriver")]
    NotVolumeDriver(String),
    #[error("cannot reach plugin {name:?} at {addr}: {source}")]
    Unreachable {
        name: String,
        addr: String,
        source: std::io::Error,
    },
    /// The plugin answered, with an error (its `Err` field, or a bad answer).
    #[error("{0}")]
    Driver(String),
}

/// Where a plugin listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    Unix(PathBuf),
    /// `host:port`, plain HTTP.
    Tcp(String),
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Unix(p) => write!(f, "unix://{}", p.display()),
            Addr::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// A volume as a plugin reports it (`Get`, `List`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginVolume {
    pub name: String,
    pub mountpoint: String,
    pub created_at: String,
    pub status: BTreeMap<String, Value>,
}

/// A volume plugin, found and activated.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub name: String,
    pub addr: Addr,
}

/// Parses a `.spec` file's address (`unix:///path`, `tcp://host:port`, or a bare path).
fn parse_addr(text: &str) -> Option<Addr> {
    let text = text.trim();
    if let Some(p) = text.strip_prefix("unix://") {
        return Some(Addr::Unix(PathBuf::from(p)));
    }
    if let Some(a) = text.strip_prefix("tcp://").or(text.strip_prefix("http://")) {
        return Some(Addr::Tcp(a.trim_end_matches('/').to_string()));
    }
    text.starts_with('/')
        .then(|| Addr::Unix(PathBuf::from(text)))
}

/// Plugin names are file names: no separators, no dots-only names.
fn valid_plugin_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

/// Looks for `name` in `dirs`, in order; `None` when no socket or address file exists.
pub fn locate(dirs: &[PathBuf], name: &str) -> Option<Addr> {
    if !valid_plugin_name(name) {
        return None;
    }
    for dir in dirs {
        for sock in [
            dir.join(format!("{name}.sock")),
            dir.join(name).join(format!("{name}.sock")),
        ] {
            if is_socket(&sock) {
                return Some(Addr::Unix(sock));
            }
        }
        for sub in [dir.to_path_buf(), dir.join(name)] {
            if let Ok(text) = std::fs::read_to_string(sub.join(format!("{name}.spec"))) {
                if let Some(a) = parse_addr(&text) {
                    return Some(a);
                }
            }
            if let Ok(text) = std::fs::read_to_string(sub.join(format!("{name}.json"))) {
                let addr = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["Addr"].as_str().and_then(parse_addr));
                if let Some(a) = addr {
                    return Some(a);
                }
            }
        }
    }
    None
}

fn is_socket(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

/// The names of every plugin in `dirs` (sockets and address files), sorted, unique.
pub fn discover(dirs: &[PathBuf]) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if path.is_dir() {
                if locate(std::slice::from_ref(dir), &file).is_some() {
                    names.insert(file);
                }
                continue;
            }
            for ext in [".sock", ".spec", ".json"] {
                if let Some(stem) = file.strip_suffix(ext) {
                    names.insert(stem.to_string());
                }
            }
        }
    }
    names.into_iter().collect()
}

/// An answer's `Err` field: empty means success.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrField {
    #[serde(rename = "Err")]
    err: String,
}

impl Plugin {
    /// Finds `name` in `dirs` and activates it.
    pub fn open(dirs: &[PathBuf], name: &str) -> Result<Plugin, PluginError> {
        let addr = locate(dirs, name).ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        let p = Plugin {
            name: name.to_string(),
            addr,
        };
        p.activate()?;
        Ok(p)
    }

    fn activate(&self) -> Result<(), PluginError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Manifest {
            #[serde(rename = "Implements")]
            implements: Vec<String>,
        }
        let m: Manifest = self.call("/Plugin.Activate", &json!({}), CALL_TIMEOUT)?;
        if m.implements.iter().any(|i| i == "VolumeDriver") {
            Ok(())
        } else {
            Err(PluginError::NotVolumeDriver(self.name.clone()))
        }
    }

    pub fn create(&self, name: &str, opts: &BTreeMap<String, String>) -> Result<(), PluginError> {
        self.call_checked::<ErrField>("Create", &json!({"Name": name, "Opts": opts}), CALL_TIMEOUT)
            .map(drop)
    }

    pub fn remove(&self, name: &str) -> Result<(), PluginError> {
        self.call_checked::<ErrField>("Remove", &json!({"Name": name}), CALL_TIMEOUT)
            .map(drop)
    }

    /// Mounts the volume for `id` (a container) and returns the host path of its data.
    pub fn mount(&self, name: &str, id: &str) -> Result<String, PluginError> {
        let m: MountpointAnswer =
            self.call_checked("Mount", &json!({"Name": name, "ID": id}), MOUNT_TIMEOUT)?;
        if m.mountpoint.is_empty() {
            return Err(PluginError::Driver(format!(
                "VolumeDriver.Mount: plugin {} returned no mountpoint for {name}",
                self.name
            )));
        }
        Ok(m.mountpoint)
    }

    pub fn unmount(&self, name: &str, id: &str) -> Result<(), PluginError> {
        self.call_checked::<ErrField>("Unmount", &json!({"Name": name, "ID": id}), CALL_TIMEOUT)
            .map(drop)
    }

    /// Where the volume's data is while mounted (empty when not mounted).
    pub fn path(&self, name: &str) -> Result<String, PluginError> {
        let m: MountpointAnswer =
            self.call_checked("Path", &json!({"Name": name}), CALL_TIMEOUT)?;
        Ok(m.mountpoint)
    }

    pub fn get(&self, name: &str) -> Result<PluginVolume, PluginError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Answer {
            #[serde(rename = "Volume")]
            volume: Option<PluginVolume>,
        }
        let a: Answer = self.call_checked("Get", &json!({"Name": name}), CALL_TIMEOUT)?;
        a.volume.ok_or_else(|| {
            PluginError::Driver(format!("VolumeDriver.Get: no volume {name} in the answer"))
        })
    }

    pub fn list(&self) -> Result<Vec<PluginVolume>, PluginError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Answer {
            #[serde(rename = "Volumes")]
            volumes: Vec<PluginVolume>,
        }
        let a: Answer = self.call_checked("List", &json!({}), CALL_TIMEOUT)?;
        Ok(a.volumes)
    }

    /// `global` or `local`; a plugin without Capabilities is `local`, as in Docker.
    pub fn scope(&self) -> String {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Caps {
            #[serde(rename = "Scope")]
            scope: String,
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Answer {
            #[serde(rename = "Capabilities")]
            capabilities: Caps,
        }
        match self.call_checked::<Answer>("Capabilities", &json!({}), CALL_TIMEOUT) {
            Ok(a) if a.capabilities.scope == "global" => "global".into(),
            _ => "local".into(),
        }
    }

    /// `/VolumeDriver.<method>`, failing with the answer's `Err` when it has one (Docker's
    /// messages: `VolumeDriver.Create: <Err>`).
    fn call_checked<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<T, PluginError> {
        let path = format!("/VolumeDriver.{method}");
        let v: Value = self.call(&path, body, timeout).map_err(|e| match e {
            PluginError::Driver(m) => PluginError::Driver(format!("VolumeDriver.{method}: {m}")),
            other => other,
        })?;
        let err = v["Err"].as_str().unwrap_or_default();
        if !err.is_empty() {
            return Err(PluginError::Driver(format!("VolumeDriver.{method}: {err}")));
        }
        serde_json::from_value(v).map_err(|e| {
            PluginError::Driver(format!(
                "VolumeDriver.{method}: bad answer from plugin: {e}"
            ))
        })
    }

    /// One POST; the JSON answer. A non-200 answer is an error carrying its `Err` (or body).
    fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<T, PluginError> {
        let unreachable = |source| PluginError::Unreachable {
            name: self.name.clone(),
            addr: self.addr.to_string(),
            source,
        };
        let body = body.to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: berth\r\nAccept: {MEDIA_TYPE}\r\n\
             Content-Type: {MEDIA_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            match &self.addr {
                Addr::Unix(_) => "plugin",
                Addr::Tcp(a) => a.as_str(),
            },
            body.len()
        );
        let raw = match &self.addr {
            Addr::Unix(p) => {
                let s = std::os::unix::net::UnixStream::connect(p).map_err(unreachable)?;
                s.set_read_timeout(Some(timeout)).map_err(unreachable)?;
                s.set_write_timeout(Some(timeout)).map_err(unreachable)?;
                exchange(s, &request).map_err(unreachable)?
            }
            Addr::Tcp(a) => {
                use std::net::ToSocketAddrs;
                let sa = a
                    .to_socket_addrs()
                    .map_err(unreachable)?
                    .next()
                    .ok_or_else(|| unreachable(std::io::ErrorKind::NotFound.into()))?;
                let s =
                    std::net::TcpStream::connect_timeout(&sa, CALL_TIMEOUT).map_err(unreachable)?;
                s.set_read_timeout(Some(timeout)).map_err(unreachable)?;
                s.set_write_timeout(Some(timeout)).map_err(unreachable)?;
                exchange(s, &request).map_err(unreachable)?
            }
        };
        let (status, body) = parse_response(&raw).map_err(PluginError::Driver)?;
        if status != 200 {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let msg = v["Err"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(PluginError::Driver(if msg.is_empty() {
                format!("plugin answered HTTP {status}")
            } else {
                msg
            }));
        }
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}".to_vec()
        } else {
            body
        };
        serde_json::from_slice(&body)
            .map_err(|e| PluginError::Driver(format!("bad answer from plugin: {e}")))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MountpointAnswer {
    #[serde(rename = "Mountpoint")]
    mountpoint: String,
}

fn exchange<S: Read + Write>(mut s: S, request: &str) -> std::io::Result<Vec<u8>> {
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.take(MAX_RESPONSE).read_to_end(&mut raw)?;
    Ok(raw)
}

/// (status, body) of an HTTP/1.x response read to EOF; chunked bodies are decoded.
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the plugin's answer is not HTTP")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("the plugin's answer has no HTTP status")?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    let body = &raw[split + 4..];
    Ok((
        status,
        if chunked {
            dechunk(body)?
        } else {
            body.to_vec()
        },
    ))
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let nl = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked answer")?;
        let size_text = String::from_utf8_lossy(&b[..nl]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size in the plugin's answer")?;
        if size == 0 {
            return Ok(out);
        }
        let start = nl + 2;
        let end = start + size;
        if end > b.len() {
            return Err("truncated chunked answer".into());
        }
        out.extend_from_slice(&b[start..end]);
        b = b.get(end + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests;
