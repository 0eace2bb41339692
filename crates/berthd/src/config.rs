//! Daemon settings: command-line flags and `/etc/berth/daemon.json`, turned into one checked
//! [`Config`] in a single step (flags → file → defaults), with dockerd's key names.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Deserialize;

use crate::server::listen::ListenAddr;

/// Default socket, like dockerd's `/var/run/docker.sock`.
pub const DEFAULT_SOCKET: &str = "/run/berth/berth.sock";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";
pub const DEFAULT_TLS_DIR: &str = "/etc/berth/tls";
/// Where dockerd looks for legacy plugins: sockets, then `.spec`/`.json` files.
pub const DEFAULT_PLUGIN_DIRS: [&str; 3] = [
    "/run/docker/plugins",
    "/etc/docker/plugins",
    "/usr/lib/docker/plugins",
];

/// berthd — the berth daemon, serving the Docker Engine API.
#[derive(Debug, Parser)]
#[command(name = "berthd", version, about, long_about = None)]
pub struct Flags {
    /// Daemon socket(s) to listen on: unix:///path or tcp://host:port (repeatable)
    #[arg(short = 'H', long = "host", value_name = "ADDR")]
    pub hosts: Vec<String>,
    /// Root directory of persistent berth state
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// Daemon configuration file
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG_FILE)]
    pub config_file: PathBuf,
    /// Set the logging level (debug, info, warn, error, fatal)
    #[arg(short = 'l', long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Enable debug mode (same as --log-level debug)
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Use TLS on TCP listeners; implied by --tlsverify
    #[arg(long)]
    pub tls: bool,
    /// Use TLS and require client certificates signed by --tlscacert
    #[arg(long)]
    pub tlsverify: bool,
    /// Trust certs signed only by this CA
    #[arg(long, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,
    /// Path to the TLS certificate file
    #[arg(long, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,
    /// Path to the TLS key file
    #[arg(long, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
    /// Allow tcp:// listeners without TLS. Anyone who can reach such a port is root here.
    #[arg(long)]
    pub insecure_tcp: bool,
    /// Registry reachable over plain HTTP or unverified TLS: host[:port] or a CIDR (repeatable)
    #[arg(long = "insecure-registry", value_name = "HOST|CIDR")]
    pub insecure_registries: Vec<String>,
    /// Preferred Docker Hub mirror, e.g. https://mirror.example (repeatable)
    #[arg(long = "registry-mirror", value_name = "URL")]
    pub registry_mirrors: Vec<String>,
    /// Directory searched for volume plugins (<name>.sock, <name>/<name>.sock, <name>.spec,
    /// <name>.json), replacing Docker's defaults (repeatable)
    #[arg(long = "plugins-dir", value_name = "DIR")]
    pub plugins_dirs: Vec<PathBuf>,
    /// Static init binary run as PID 1 of `--init` containers (default: docker-init or
    /// tini-static from PATH)
    #[arg(long = "init-path", value_name = "PATH")]
    pub init_path: Option<PathBuf>,
    // runtime hook: the runc binary for `--runtime runc` (default: runc on PATH)
    /// The runc binary run for containers created with `--runtime runc` (default: runc from
    /// PATH)
    #[arg(long = "runtime-runc", value_name = "PATH")]
    pub runtime_runc: Option<PathBuf>,
    // networking: --bridge, --bip, --default-address-pool, --iptables, --ip-forward, --mtu
    #[command(flatten)]
    pub net: crate::engine::networks::config::NetFlags,
}

/// `daemon.json`: dockerd's key names where they exist. Unknown keys are an error, as in
/// dockerd, so a typo is never silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub hosts: Option<Vec<String>>,
    pub data_root: Option<PathBuf>,
    pub log_level: Option<String>,
    pub debug: Option<bool>,
    pub tls: Option<bool>,
    pub tlsverify: Option<bool>,
    pub tlscacert: Option<PathBuf>,
    pub tlscert: Option<PathBuf>,
    pub tlskey: Option<PathBuf>,
    pub insecure_tcp: Option<bool>,
    pub labels: Option<Vec<String>>,
    pub insecure_registries: Option<Vec<String>>,
    pub registry_mirrors: Option<Vec<String>>,
    pub plugins_dir: Option<Vec<PathBuf>>,
    pub init_path: Option<PathBuf>,
    // runtime hook: dockerd's `"runtimes": {"runc": {"path": "/usr/sbin/runc"}}`
    pub runtimes: Option<std::collections::BTreeMap<String, RuntimeEntry>>,
    // networking (engine/networks/config.rs)
    pub bridge: Option<String>,
    pub bip: Option<String>,
    pub default_address_pools: Option<Vec<crate::engine::networks::config::AddressPool>>,
    pub iptables: Option<bool>,
    pub ip_forward: Option<bool>,
    pub mtu: Option<u32>,
    pub firewall_table: Option<String>,
}

// runtime hook
/// One entry of daemon.json's `runtimes` (dockerd's format; berth knows only `runc`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEntry {
    pub path: PathBuf,
    #[serde(default, rename = "runtimeArgs")]
    pub runtime_args: Vec<String>,
}

/// TLS settings for TCP listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Some → client certificates signed by this CA are required (`--tlsverify`).
    pub client_ca: Option<PathBuf>,
}

/// The checked, ready-to-use daemon configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listeners: Vec<ListenAddr>,
    pub data_root: PathBuf,
    pub log_level: String,
    pub tls: Option<TlsSettings>,
    pub insecure_tcp: bool,
    pub labels: Vec<String>,
    /// Insecure registries, Docker Hub mirrors, certificate directories.
    pub registry: berth_registry::RegistryConfig,
    /// Where volume plugins are found, in order.
    pub plugin_dirs: Vec<PathBuf>,
    /// The init binary for `--init`, when one was configured or found.
    pub init_path: Option<PathBuf>,
    /// runtime hook: the runc binary for `--runtime runc`, when configured or on PATH
    /// (a bare `runc` then, as dockerd shows it).
    pub runc_path: Option<PathBuf>,
    /// Default bridge, address pools, firewall.
    pub net: crate::engine::networks::config::NetConfig,
}

impl Config {
    /// Merges flags with the config file (a setting given in both is an error, as in
    /// dockerd) and checks the result.
    pub fn load(flags: &Flags) -> Result<Config> {
        let file = read_file_config(&flags.config_file)?;
        let file = file.unwrap_or_default();
        check_conflicts(flags, &file)?;

        let hosts = if !flags.hosts.is_empty() {
            flags.hosts.clone()
        } else {
            file.hosts
                .clone()
                .unwrap_or_else(|| vec![format!("unix://{DEFAULT_SOCKET}")])
        };
        let listeners = hosts
            .iter()
            .map(|h| ListenAddr::parse(h))
            .collect::<Result<Vec<_>>>()?;

        let debug = flags.debug || file.debug.unwrap_or(false);
        let log_level = flags
            .log_level
            .clone()
            .or(file.log_level.clone())
            .unwrap_or_else(|| if debug { "debug" } else { "info" }.to_string());
        parse_log_level(&log_level)?;

        let tlsverify = flags.tlsverify || file.tlsverify.unwrap_or(false);
        let tls = tlsverify || flags.tls || file.tls.unwrap_or(false);
        let tls_dir = Path::new(DEFAULT_TLS_DIR);
        let tls = tls.then(|| TlsSettings {
            cert: flags
                .tlscert
                .clone()
                .or(file.tlscert.clone())
                .unwrap_or_else(|| tls_dir.join("server-cert.pem")),
            key: flags
                .tlskey
                .clone()
                .or(file.tlskey.clone())
                .unwrap_or_else(|| tls_dir.join("server-key.pem")),
            client_ca: tlsverify.then(|| {
                flags
                    .tlscacert
                    .clone()
                    .or(file.tlscacert.clone())
                    .unwrap_or_else(|| tls_dir.join("ca.pem"))
            }),
        });
        let insecure_tcp = flags.insecure_tcp || file.insecure_tcp.unwrap_or(false);
        if tls.is_none() && !insecure_tcp {
            if let Some(tcp) = listeners.iter().find(|l| l.is_tcp()) {
                bail!(
                    "refusing to listen on {tcp} without TLS: anyone who can reach that port \
                     would control this machine as root. Create certificates with \
                     `berth tls init` and start berthd with --tlsverify, or pass \
                     --insecure-tcp if you really want an unauthenticated TCP socket"
                );
            }
        }
        let pick = |flag: &Vec<String>, file: &Option<Vec<String>>| {
            if flag.is_empty() {
                file.clone().unwrap_or_default()
            } else {
                flag.clone()
            }
        };
        let registry = berth_registry::RegistryConfig::new(
            &pick(&flags.insecure_registries, &file.insecure_registries),
            &pick(&flags.registry_mirrors, &file.registry_mirrors),
        )?;
        let net = crate::engine::networks::config::NetConfig::load(&flags.net, &file)?;
        let runc_path = runc_path(flags, &file)?; // runtime hook
        Ok(Config {
            runc_path,
            net,
            listeners,
            data_root: flags
                .data_root
                .clone()
                .or(file.data_root)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_ROOT)),
            log_level,
            tls,
            insecure_tcp,
            labels: file.labels.unwrap_or_default(),
            registry,
            init_path: flags
                .init_path
                .clone()
                .or(file.init_path.clone())
                .or_else(find_init),
            plugin_dirs: if !flags.plugins_dirs.is_empty() {
                flags.plugins_dirs.clone()
            } else {
                file.plugins_dir
                    .clone()
                    .unwrap_or_else(|| DEFAULT_PLUGIN_DIRS.iter().map(PathBuf::from).collect())
            },
        })
    }
}

/// Docker's init (tini, static) where packages put it: `docker-init` or `tini-static` on
/// PATH, or dockerd's libexec dir.
fn find_init() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/libexec/docker")])
        .collect();
    ["docker-init", "tini-static"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

// runtime hook
/// The runc binary: `--runtime-runc`, daemon.json's `runtimes.runc.path`, else `runc` when it
/// is on PATH.
fn runc_path(flags: &Flags, file: &FileConfig) -> Result<Option<PathBuf>> {
    let mut from_file = None;
    for (name, entry) in file.runtimes.iter().flatten() {
        if name != "runc" {
            bail!("runtimes: unknown runtime {name:?}: berth runs its own runtime (\"berth\") and \"runc\"");
        }
        if !entry.runtime_args.is_empty() {
            bail!("runtimes: runtimeArgs are not supported");
        }
        from_file = Some(entry.path.clone());
    }
    if let Some(p) = flags.runtime_runc.clone().or(from_file) {
        if p.as_os_str().is_empty() {
            bail!("the runc runtime needs a path");
        }
        return Ok(Some(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|d| d.join("runc").is_file());
    Ok(found.then(|| PathBuf::from("runc")))
}

/// Reads the config file; a missing file is fine only when it is the default path.
pub fn read_file_config(path: &Path) -> Result<Option<FileConfig>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && path == Path::new(DEFAULT_CONFIG_FILE) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read config file {}", path.display()))
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(FileConfig::default()));
    }
    let cfg = serde_json::from_str(&text).with_context(|| {
        format!(
            "invalid config file {}: fix or remove the offending key",
            path.display()
        )
    })?;
    Ok(Some(cfg))
}

fn check_conflicts(flags: &Flags, file: &FileConfig) -> Result<()> {
    let mut both = Vec::new();
    let mut check = |name: &str, flag: bool, in_file: bool| {
        if flag && in_file {
            both.push(name.to_string());
        }
    };
    check("hosts", !flags.hosts.is_empty(), file.hosts.is_some());
    check(
        "data-root",
        flags.data_root.is_some(),
        file.data_root.is_some(),
    );
    check(
        "log-level",
        flags.log_level.is_some(),
        file.log_level.is_some(),
    );
    check(
        "tlscacert",
        flags.tlscacert.is_some(),
        file.tlscacert.is_some(),
    );
    check("tlscert", flags.tlscert.is_some(), file.tlscert.is_some());
    check("tlskey", flags.tlskey.is_some(), file.tlskey.is_some());
    check(
        "insecure-registries",
        !flags.insecure_registries.is_empty(),
        file.insecure_registries.is_some(),
    );
    check(
        "registry-mirrors",
        !flags.registry_mirrors.is_empty(),
        file.registry_mirrors.is_some(),
    );
    check(
        "init-path",
        flags.init_path.is_some(),
        file.init_path.is_some(),
    );
    check(
        "runtimes",
        flags.runtime_runc.is_some(),
        file.runtimes.is_some(),
    ); // runtime hook
    check(
        "plugins-dir",
        !flags.plugins_dirs.is_empty(),
        file.plugins_dir.is_some(),
    );
    if !both.is_empty() {
        bail!(
            "the following directives are specified both as a flag and in the configuration \
             file: {}; remove one of them",
            both.join(", ")
        );
    }
    Ok(())
}

/// Maps dockerd's level names onto tracing's.
pub fn parse_log_level(level: &str) -> Result<&'static str> {
    Ok(match level {
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "fatal" | "panic" => "error",
        "trace" => "trace",
        other => bail!("invalid log level {other:?}: use one of debug, info, warn, error, fatal"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        let mut all = vec!["berthd", "--config-file", "/nonexistent/berth-test.json"];
        all.extend_from_slice(args);
        Flags::parse_from(all)
    }

    fn load(args: &[&str], file: Option<&str>) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let mut f = flags(args);
        if let Some(text) = file {
            let p = dir.path().join("daemon.json");
            std::fs::write(&p, text).unwrap();
            f.config_file = p;
        } else {
            f.config_file = PathBuf::from(DEFAULT_CONFIG_FILE);
            if Path::new(DEFAULT_CONFIG_FILE).exists() {
                // A machine-wide config would change the defaults under test.
                f.config_file = dir.path().join("empty.json");
                std::fs::write(&f.config_file, "{}").unwrap();
            }
        }
        Config::load(&f)
    }

    #[test]
    fn defaults() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.data_root, PathBuf::from(DEFAULT_DATA_ROOT));
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(
            c.listeners[0].to_string(),
            format!("unix://{DEFAULT_SOCKET}")
        );
        assert_eq!(c.log_level, "info");
        assert!(c.tls.is_none());
    }

    #[test]
    fn plain_tcp_is_refused_without_insecure_flag() {
        let err = load(&["-H", "tcp://127.0.0.1:2375"], None).unwrap_err();
        assert!(err.to_string().contains("--insecure-tcp"), "{err}");
        assert!(load(&["-H", "tcp://127.0.0.1:2375", "--insecure-tcp"], None).is_ok());
        let c = load(&["-H", "tcp://127.0.0.1:2376", "--tlsverify"], None).unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.client_ca, Some(PathBuf::from("/etc/berth/tls/ca.pem")));
    }

    #[test]
    fn file_keys_use_dockerd_names_and_unknown_keys_fail() {
        let c = load(
            &[],
            Some(
                r#"{"data-root": "/tmp/x", "log-level": "warn", "hosts": ["unix:///tmp/s.sock"]}"#,
            ),
        )
        .unwrap();
        assert_eq!(c.data_root, PathBuf::from("/tmp/x"));
        assert_eq!(c.log_level, "warn");
        let err = load(&[], Some(r#"{"data_root": "/tmp/x"}"#)).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
    }

    #[test]
    fn flag_and_file_conflict_is_an_error() {
        let err = load(&["--data-root", "/a"], Some(r#"{"data-root": "/b"}"#)).unwrap_err();
        assert!(err.to_string().contains("data-root"), "{err}");
    }

    #[test]
    fn registry_settings() {
        let c = load(
            &["--insecure-registry", "reg.test:5000"],
            Some(r#"{"registry-mirrors": ["https://mirror.test"]}"#),
        )
        .unwrap();
        assert_eq!(c.registry.insecure_hosts(), ["reg.test:5000"]);
        assert_eq!(c.registry.mirrors(), ["https://mirror.test/"]);
        let err = load(&[], Some(r#"{"insecure-registries": ["http://x"]}"#)).unwrap_err();
        assert!(err.to_string().contains("should not contain"), "{err}");
        let err = load(
            &["--registry-mirror", "https://a.test"],
            Some(r#"{"registry-mirrors": ["https://b.test"]}"#),
        )
        .unwrap_err();
        assert!(err.to_string().contains("registry-mirrors"), "{err}");
    }

    // runtime hook
    #[test]
    fn runc_runtime_path() {
        let c = load(&["--runtime-runc", "/opt/runc"], None).unwrap();
        assert_eq!(c.runc_path, Some(PathBuf::from("/opt/runc")));
        let c = load(
            &[],
            Some(r#"{"runtimes": {"runc": {"path": "/usr/sbin/runc"}}}"#),
        )
        .unwrap();
        assert_eq!(c.runc_path, Some(PathBuf::from("/usr/sbin/runc")));
        assert!(load(&[], Some(r#"{"runtimes": {"crun": {"path": "/x"}}}"#)).is_err());
        assert!(load(
            &[],
            Some(r#"{"runtimes": {"runc": {"path": "/x", "runtimeArgs": ["--debug"]}}}"#)
        )
        .is_err());
        assert!(load(
            &["--runtime-runc", "/a"],
            Some(r#"{"runtimes": {"runc": {"path": "/b"}}}"#)
        )
        .is_err());
    }

    #[test]
    fn bad_log_level() {
        assert!(load(&["--log-level", "loud"], None).is_err());
        assert_eq!(load(&["-D"], None).unwrap().log_level, "debug");
    }
}
