//! `berth port`: the container's published ports, `80/tcp -> 0.0.0.0:8080`.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::container_path;
use crate::cli::PortOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, o: &PortOpts) -> Result<ExitCode> {
    let info: Value = ctx
        .client
        .get_json(&container_path(&o.container, "/json"))
        .await?;
    let lines = render(&info["NetworkSettings"]["Ports"], o.port.as_deref())?;
    for l in lines {
        println!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

/// docker's `port` output: every binding, sorted by port, or those of one port
/// (`80`, `80/udp`) printed as `HOST:PORT` only.
pub fn render(ports: &Value, only: Option<&str>) -> Result<Vec<String>, StatusError> {
    let map = ports.as_object().cloned().unwrap_or_default();
    let addr = |b: &Value| {
        let ip = b["HostIp"].as_str().unwrap_or("");
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("{ip}:{}", b["HostPort"].as_str().unwrap_or(""))
    };
    if let Some(p) = only {
        let key = if p.contains('/') {
            p.to_string()
        } else {
            format!("{p}/tcp")
        };
        let port_num = key.split('/').next().unwrap_or("");
        if port_num.parse::<u16>().is_err() {
            return Err(StatusError::new(format!(
                "Error: invalid port ({port_num})"
            )));
        }
        return match map
            .get(&key)
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        {
            Some(bindings) => Ok(bindings.iter().map(addr).collect()),
            None => Err(StatusError::new(format!(
                "Error: No public port '{key}' published for container"
            ))),
        };
    }
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| {
        let (n, proto) = k.split_once('/').unwrap_or((k, ""));
        (n.parse::<u32>().unwrap_or(0), proto.to_string())
    });
    let mut out = Vec::new();
    for k in keys {
        for b in map[k].as_array().into_iter().flatten() {
            out.push(format!("{k} -> {}", addr(b)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_ports() {
        let p = serde_json::json!({
            "443/tcp": null,
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
        });
        assert_eq!(
            render(&p, None).unwrap(),
            [
                "53/udp -> 127.0.0.1:5353",
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080"
            ]
        );
        assert_eq!(
            render(&p, Some("80")).unwrap(),
            ["0.0.0.0:8080", "[::]:8080"]
        );
        assert_eq!(render(&p, Some("53/udp")).unwrap(), ["127.0.0.1:5353"]);
        assert_eq!(
            render(&p, Some("443")).unwrap_err().message,
            "Error: No public port '443/tcp' published for container"
        );
    }
}
