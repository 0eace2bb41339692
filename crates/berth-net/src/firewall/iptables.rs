//! The iptables fallback: berth's own chains, flushed and refilled from the model, each
//! hooked into a built-in chain by one jump rule that is added once and removed at the end.

use super::Model;
use crate::error::Result;

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// (table, built-in chain, match args before `-j`, own chain suffix)
fn hooks(prefix: &str) -> Vec<(&'static str, &'static str, Vec<String>, String)> {
    vec![
        (
            "nat",
            "PREROUTING",
            v(&["-m", "addrtype", "--dst-type", "LOCAL"]),
            format!("{prefix}-DNAT"),
        ),
        (
            "nat",
            "OUTPUT",
            v(&[
                "!",
                "-d",
                "127.0.0.0/8",
                "-m",
                "addrtype",
                "--dst-type",
                "LOCAL",
            ]),
            format!("{prefix}-DNAT"),
        ),
        (
            "nat",
            "POSTROUTING",
            Vec::new(),
            format!("{prefix}-POSTROUTING"),
        ),
        ("filter", "FORWARD", Vec::new(), format!("{prefix}-FORWARD")),
    ]
}

fn chains(prefix: &str) -> [(&'static str, String); 3] {
    [
        ("nat", format!("{prefix}-DNAT")),
        ("nat", format!("{prefix}-POSTROUTING")),
        ("filter", format!("{prefix}-FORWARD")),
    ]
}

/// Commands that create berth's chains, hook them in once, and flush them. Each may fail
/// harmlessly (a chain that exists, a jump already there is checked with `-C` first).
pub fn setup(prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (t, c) in chains(prefix) {
        out.push(v(&["-t", t, "-N", &c]));
        out.push(v(&["-t", t, "-F", &c]));
    }
    for (t, builtin, m, own) in hooks(prefix) {
        let mut a = v(&["-t", t, "-C", builtin]);
        a.extend(m.iter().cloned());
        a.extend(v(&["-j", &own]));
        // `run` turns a failed -C into an -I of the same rule.
        out.push(a);
    }
    out
}

/// The rules of the model, appended to berth's (flushed) chains.
pub fn rules(prefix: &str, m: &Model) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let dnat = format!("{prefix}-DNAT");
    let post = format!("{prefix}-POSTROUTING");
    let fwd = format!("{prefix}-FORWARD");
    for f in &m.forwards {
        let mut a = v(&["-t", "nat", "-A", &dnat, "!", "-i", &f.bridge]);
        if !f.host_ip.is_unspecified() {
            a.extend(v(&["-d", &f.host_ip.to_string()]));
        }
        a.extend(v(&[
            "-p",
            f.proto.as_str(),
            "--dport",
            &f.host_port.to_string(),
            "-j",
            "DNAT",
            "--to-destination",
            &format!("{}:{}", f.container_ip, f.container_port),
        ]));
        out.push(a);
    }
    for b in m.bridges.iter().filter(|b| b.masquerade && !b.internal) {
        out.push(v(&[
            "-t",
            "nat",
            "-A",
            &post,
            "-s",
            &b.subnet.trunc().to_string(),
            "!",
            "-o",
            &b.bridge,
            "-j",
            "MASQUERADE",
        ]));
    }
    for b in &m.bridges {
        for o in m.bridges.iter().filter(|o| o.bridge != b.bridge) {
            out.push(v(&[
                "-t", "filter", "-A", &fwd, "-i", &b.bridge, "-o", &o.bridge, "-j", "DROP",
            ]));
        }
        if b.internal {
            out.push(v(&[
                "-t", "filter", "-A", &fwd, "-i", &b.bridge, "!", "-o", &b.bridge, "-j", "DROP",
            ]));
            out.push(v(&[
                "-t", "filter", "-A", &fwd, "!", "-i", &b.bridge, "-o", &b.bridge, "-j", "DROP",
            ]));
        }
        if !b.icc {
            out.push(v(&[
                "-t", "filter", "-A", &fwd, "-i", &b.bridge, "-o", &b.bridge, "-j", "DROP",
            ]));
        }
    }
    out
}

/// Commands that unhook, flush and delete berth's chains.
pub fn teardown(prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (t, builtin, m, own) in hooks(prefix) {
        let mut a = v(&["-t", t, "-D", builtin]);
        a.extend(m.iter().cloned());
        a.extend(v(&["-j", &own]));
        out.push(a);
    }
    for (t, c) in chains(prefix) {
        out.push(v(&["-t", t, "-F", &c]));
        out.push(v(&["-t", t, "-X", &c]));
    }
    out
}

/// Runs one iptables command (`-w`: wait for the xtables lock). A failing `-C` check adds
/// the rule with `-I`; with `tolerant`, other failures (chain exists) are ignored.
pub(super) async fn run(args: &[String], tolerant: bool) -> Result<()> {
    let mut full = vec!["-w".to_string()];
    full.extend(args.iter().cloned());
    match super::run_tool("iptables", &full, None).await {
        Ok(_) => Ok(()),
        Err(_) if args.get(2).map(String::as_str) == Some("-C") => {
            let mut insert = full.clone();
            insert[3] = "-I".into();
            super::run_tool("iptables", &insert, None).await.map(drop)
        }
        Err(_) if tolerant => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_the_sample() {
        let r: Vec<String> = rules("BERTH", &super::super::sample())
            .into_iter()
            .map(|a| a.join(" "))
            .collect();
        assert!(r.contains(&"-t nat -A BERTH-DNAT ! -i berth0 -d 127.0.0.1 -p tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80".to_string()), "{r:#?}");
        assert!(r.contains(
            &"-t nat -A BERTH-POSTROUTING -s 172.18.0.0/16 ! -o berth0 -j MASQUERADE".to_string()
        ));
        assert!(!r.iter().any(|x| x.contains("172.19.0.0/24")));
        assert!(r.contains(&"-t filter -A BERTH-FORWARD -i berth0 -o br-int -j DROP".to_string()));
        assert!(r.contains(&"-t filter -A BERTH-FORWARD -i br-int -o br-int -j DROP".to_string()));
        let s: Vec<String> = setup("BERTH").into_iter().map(|a| a.join(" ")).collect();
        assert!(s.contains(&"-t nat -C POSTROUTING -j BERTH-POSTROUTING".to_string()));
        let t: Vec<String> = teardown("BERTH").into_iter().map(|a| a.join(" ")).collect();
        assert!(t.contains(&"-t filter -X BERTH-FORWARD".to_string()));
        // Only berth's own chains are ever flushed.
        assert!(s
            .iter()
            .chain(&t)
            .filter(|c| c.contains(" -F "))
            .all(|c| c.contains("BERTH-")));
    }
}
