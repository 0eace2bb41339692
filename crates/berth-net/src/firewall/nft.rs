//! The nftables backend: one `table ip <name>` owned by berth, rebuilt in a single atomic
//! `nft -f -` transaction (create-if-missing, delete, define anew).

use std::fmt::Write;

use super::Model;
use crate::error::Result;

/// The ruleset text for `m` in table `table`.
pub fn script(table: &str, m: &Model) -> String {
    let mut s = String::new();
    // `table` first so the `delete` never fails on a missing table.
    let _ = writeln!(
        s,
        "table ip {table}\ndelete table ip {table}\ntable ip {table} {{"
    );
    s.push_str(
        "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    fib daddr type local jump dnat-prerouting\n  }\n",
    );
    s.push_str(
        "  chain output {\n    type nat hook output priority -100; policy accept;\n    ip daddr != 127.0.0.0/8 fib daddr type local jump dnat-output\n  }\n",
    );
    let mut pre = String::new();
    let mut out = String::new();
    for f in &m.forwards {
        let daddr = if f.host_ip.is_unspecified() {
            String::new()
        } else {
            format!("ip daddr {} ", f.host_ip)
        };
        let rule = format!(
            "{daddr}{} dport {} dnat to {}:{}",
            f.proto.as_str(),
            f.host_port,
            f.container_ip,
            f.container_port
        );
        let _ = writeln!(pre, "    iifname != \"{}\" {rule}", f.bridge);
        let _ = writeln!(out, "    {rule}");
    }
    let _ = writeln!(s, "  chain dnat-prerouting {{\n{pre}  }}");
    let _ = writeln!(s, "  chain dnat-output {{\n{out}  }}");
    s.push_str(
        "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n",
    );
    for b in m.bridges.iter().filter(|b| b.masquerade && !b.internal) {
        let _ = writeln!(
            s,
            "    ip saddr {} oifname != \"{}\" masquerade",
            b.subnet.trunc(),
            b.bridge
        );
    }
    s.push_str(
        "  }\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n",
    );
    for b in &m.bridges {
        for o in m.bridges.iter().filter(|o| o.bridge != b.bridge) {
            let _ = writeln!(
                s,
                "    iifname \"{}\" oifname \"{}\" drop",
                b.bridge, o.bridge
            );
        }
        if b.internal {
            let _ = writeln!(
                s,
                "    iifname \"{0}\" oifname != \"{0}\" drop\n    oifname \"{0}\" iifname != \"{0}\" drop",
                b.bridge
            );
        }
        if !b.icc {
            let _ = writeln!(s, "    iifname \"{0}\" oifname \"{0}\" drop", b.bridge);
        }
    }
    s.push_str("  }\n}\n");
    s
}

/// Removes the table (and nothing else); a missing table is fine.
pub fn delete_script(table: &str) -> String {
    format!("table ip {table}\ndelete table ip {table}\n")
}

pub(super) async fn run(script: &str) -> Result<()> {
    super::run_tool("nft", &["-f".into(), "-".into()], Some(script))
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_the_sample() {
        let s = script("berth", &super::super::sample());
        assert!(s.starts_with("table ip berth\ndelete table ip berth\ntable ip berth {"));
        assert!(s.contains(
            "iifname != \"berth0\" ip daddr 127.0.0.1 tcp dport 8080 dnat to 172.18.0.2:80"
        ));
        assert!(s.contains("    ip daddr 127.0.0.1 tcp dport 8080 dnat to 172.18.0.2:80\n"));
        assert!(s.contains("ip saddr 172.18.0.0/16 oifname != \"berth0\" masquerade"));
        assert!(
            !s.contains("172.19.0.0/24 oifname"),
            "internal: no masquerade"
        );
        assert!(s.contains("iifname \"berth0\" oifname \"br-int\" drop"));
        assert!(s.contains("iifname \"br-int\" oifname \"berth0\" drop"));
        assert!(s.contains("iifname \"br-int\" oifname != \"br-int\" drop"));
        assert!(s.contains("iifname \"br-int\" oifname \"br-int\" drop"));
        assert!(!s.contains("iifname \"berth0\" oifname \"berth0\" drop"));
    }

    /// The generated text is accepted by the real `nft` (checked, not applied).
    #[tokio::test]
    async fn nft_accepts_it() {
        if !nix::unistd::geteuid().is_root() || !super::super::on_path("nft") {
            eprintln!("skipped: needs root and nft");
            return;
        }
        let s = script("berth_unit_check", &super::super::sample());
        super::super::run_tool("nft", &["-c".into(), "-f".into(), "-".into()], Some(&s))
            .await
            .unwrap();
    }
}
