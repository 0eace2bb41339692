//! Kernel settings the bridge driver needs.

use std::path::Path;

use crate::error::{NetError, Result};

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Turns on IPv4 forwarding (what dockerd does at start-up unless `--ip-forward=false`).
pub fn enable_ip_forward() -> Result<()> {
    let p = Path::new(IP_FORWARD);
    if std::fs::read_to_string(p)
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
    {
        return Ok(());
    }
    std::fs::write(p, "1").map_err(|e| NetError::io("cannot enable forwarding in", p, e))
}
