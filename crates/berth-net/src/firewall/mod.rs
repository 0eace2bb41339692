//! Firewall rules for bridge networks, generated whole from a [`Model`] of what should be:
//! outbound NAT (masquerade) per non-internal bridge, DNAT for published ports, isolation
//! between bridges, and the drops that make `--internal` and `icc=false` networks what they
//! are.
//!
//! Backends: [`nft`] (berth's own `table ip <name>`, replaced atomically in one `nft -f -`
//! transaction) and [`iptables`] (chains named `<PREFIX>-*`, hooked into the built-in chains
//! by one jump each) where `nft` is missing. Neither touches a rule it did not make.

pub mod iptables;
pub mod nft;

use std::net::Ipv4Addr;

use crate::cidr::Ipv4Cidr;
use crate::error::{NetError, Result};
use crate::ports::Proto;

/// One bridge network's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeRules {
    pub bridge: String,
    pub subnet: Ipv4Cidr,
    /// `--internal`: no traffic in or out of the bridge except between its members.
    pub internal: bool,
    /// Inter-container communication on this bridge (Docker's `enable_icc`, default true).
    pub icc: bool,
    /// Masquerade traffic leaving the bridge (Docker's `enable_ip_masquerade`).
    pub masquerade: bool,
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    /// `0.0.0.0` for every host address.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
    /// The bridge the container sits on (traffic coming from it is not DNATed).
    pub bridge: String,
}

/// Everything berth's firewall should hold right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    pub bridges: Vec<BridgeRules>,
    pub forwards: Vec<Forward>,
}

/// A firewall backend, picked at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `table ip <table>`.
    Nft { table: String },
    /// Chains `<prefix>-DNAT`, `<prefix>-POSTROUTING`, `<prefix>-FORWARD`.
    Iptables { prefix: String },
    /// `--iptables=false`: berth makes no rules.
    Disabled,
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

impl Backend {
    /// `nft` when installed, else `iptables`, else none (with a warning from the caller).
    pub fn detect(name: &str, enabled: bool) -> Backend {
        if !enabled {
            Backend::Disabled
        } else if on_path("nft") {
            Backend::Nft {
                table: name.to_string(),
            }
        } else if on_path("iptables") {
            Backend::Iptables {
                prefix: name.to_ascii_uppercase().replace(['-', '.'], "_"),
            }
        } else {
            Backend::Disabled
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Nft { .. } => "nftables",
            Backend::Iptables { .. } => "iptables",
            Backend::Disabled => "none",
        }
    }

    /// Replaces berth's rules with the model's.
    pub async fn apply(&self, m: &Model) -> Result<()> {
        match self {
            Backend::Nft { table } => nft::run(&nft::script(table, m)).await,
            Backend::Iptables { prefix } => {
                for args in iptables::setup(prefix) {
                    iptables::run(&args, true).await?;
                }
                for args in iptables::rules(prefix, m) {
                    iptables::run(&args, false).await?;
                }
                Ok(())
            }
            Backend::Disabled => Ok(()),
        }
    }

    /// Removes every rule and chain berth made.
    pub async fn clear(&self) -> Result<()> {
        match self {
            Backend::Nft { table } => nft::run(&nft::delete_script(table)).await,
            Backend::Iptables { prefix } => {
                for args in iptables::teardown(prefix) {
                    let _ = iptables::run(&args, true).await;
                }
                Ok(())
            }
            Backend::Disabled => Ok(()),
        }
    }
}

async fn run_tool(bin: &'static str, args: &[String], stdin: Option<&str>) -> Result<String> {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| NetError::Firewall {
        backend: bin,
        message: format!("cannot run {bin}: {e}"),
    })?;
    if let Some(mut i) = child.stdin.take() {
        if let Some(text) = stdin {
            let _ = i.write_all(text.as_bytes()).await;
        }
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| NetError::Firewall {
            backend: bin,
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(NetError::Firewall {
            backend: bin,
            message: format!(
                "{} {}: {}",
                bin,
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
pub(crate) fn sample() -> Model {
    Model {
        bridges: vec![
            BridgeRules {
                bridge: "berth0".into(),
                subnet: "172.18.0.0/16".parse().unwrap(),
                internal: false,
                icc: true,
                masquerade: true,
            },
            BridgeRules {
                bridge: "br-int".into(),
                subnet: "172.19.0.0/24".parse().unwrap(),
                internal: true,
                icc: false,
                masquerade: true,
            },
        ],
        forwards: vec![Forward {
            proto: Proto::Tcp,
            host_ip: Ipv4Addr::LOCALHOST,
            host_port: 8080,
            container_ip: "172.18.0.2".parse().unwrap(),
            container_port: 80,
            bridge: "berth0".into(),
        }],
    }
}
