//! `GET /containers/{id}/top`: the host's `ps`, filtered to the container's processes
//! (the pids in its cgroup), like dockerd's `ContainerTop`.

use berth_api::ApiError;
use serde_json::{json, Value};

use super::stats::container_cgroup;
use crate::engine::Engine;

impl Engine {
    pub async fn top_container(&self, name: &str, ps_args: &str) -> Result<Value, ApiError> {
        let ps_args = if ps_args.is_empty() { "-ef" } else { ps_args };
        validate_ps_args(ps_args)?;
        let c = self.resolve_container(name)?;
        if !self.container_state(&c).running {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let cgroup = container_cgroup(&c);
        let pids = tokio::task::spawn_blocking(move || cgroup.procs())
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| {
                ApiError::internal(format!("cannot list the container's processes: {e}"))
            })?;
        let args: Vec<&str> = ps_args.split(' ').filter(|a| !a.is_empty()).collect();
        let pid_list = pids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // `-q <pids>` keeps ps from reading every process of the host; some options (`f`)
        // refuse it, so retry without.
        let mut out = run_ps(&args, Some(&pid_list)).await;
        if out.is_err() {
            out = run_ps(&args, None).await;
        }
        let output = out.map_err(|e| ApiError::internal(format!("ps: {e}")))?;
        let top = parse_ps_output(&output, &pids).map_err(ApiError::internal)?;
        self.container_event("top", &c, &[]);
        Ok(top)
    }
}

async fn run_ps(args: &[&str], pids: Option<&str>) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("ps");
    cmd.args(args);
    if let Some(p) = pids {
        cmd.arg("-q").arg(p);
    }
    let out = cmd.output().await.map_err(|e| e.to_string())?;
    if !out.status.success() {
        // The first line of stderr says why, as dockerd reports it.
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or("").trim();
        return Err(if first.is_empty() {
            out.status.to_string()
        } else {
            first.to_string()
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// dockerd refuses `-o <field>=PID...` renamings of any field but `pid`: the PID column
/// must stay findable.
fn validate_ps_args(args: &str) -> Result<(), ApiError> {
    // Only tokens preceded by whitespace match dockerd's `\s+([^\s]*)=\s*(PID[^\s]*)`.
    let bytes: Vec<&str> = args.split_ascii_whitespace().collect();
    let skip = usize::from(!args.starts_with(|c: char| c.is_ascii_whitespace()));
    for (i, tok) in bytes.iter().enumerate().skip(skip) {
        for (p, _) in tok.rmatch_indices('=') {
            let rest = &tok[p + 1..];
            let value = if rest.is_empty() {
                bytes.get(i + 1).copied().filter(|n| n.starts_with("PID"))
            } else {
                Some(rest).filter(|r| r.starts_with("PID"))
            };
            if let Some(v) = value {
                let k = &tok[..p];
                if k != "pid" {
                    // A plain error in dockerd: a 500.
                    return Err(ApiError::internal(format!(
                        "specifying \"{k}={v}\" is not allowed"
                    )));
                }
                break;
            }
        }
    }
    Ok(())
}

/// dockerd's `parsePSOutput`: the header's words are the titles; a row is kept when its
/// PID is one of `pids` (a thread row, PID `-`, follows its process); the last column
/// takes the rest of the line (the command with its spaces).
fn parse_ps_output(output: &str, pids: &[u32]) -> Result<Value, String> {
    let mut lines = output.split('\n');
    let titles: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .split_ascii_whitespace()
        .collect();
    let pid_index = titles
        .iter()
        .position(|t| *t == "PID")
        .ok_or("Couldn't find PID field in ps output")?;
    let mut processes: Vec<Vec<String>> = Vec::new();
    let mut keep_threads = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let Some(pid) = fields.get(pid_index) else {
            continue;
        };
        let keep = if *pid == "-" {
            keep_threads
        } else {
            let p: u32 = pid
                .parse()
                .map_err(|e| format!("Unexpected pid '{pid}': {e}"))?;
            keep_threads = pids.contains(&p);
            keep_threads
        };
        if keep {
            let n = titles.len().saturating_sub(1).min(fields.len());
            let mut row: Vec<String> = fields[..n].iter().map(|s| s.to_string()).collect();
            row.push(fields[n..].join(" "));
            processes.push(row);
        }
    }
    Ok(json!({"Titles": titles, "Processes": processes}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_containers_rows_and_joins_the_command() {
        let out = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                   root           1       0  0 10:00 ?        00:00:01 /sbin/init\n\
                   root         200       1  0 10:01 ?        00:00:00 sleep 300\n\
                   root         201     200  0 10:01 ?        00:00:00 sh -c echo hi\n";
        let v = parse_ps_output(out, &[200, 201]).unwrap();
        assert_eq!(v["Titles"].as_array().unwrap().len(), 8);
        assert_eq!(v["Processes"].as_array().unwrap().len(), 2);
        assert_eq!(v["Processes"][0][1], "200");
        assert_eq!(v["Processes"][0][7], "sleep 300");
        assert_eq!(v["Processes"][1][7], "sh -c echo hi");
        assert!(parse_ps_output("A B\n1 2\n", &[]).is_err());
    }

    #[test]
    fn thread_rows_follow_their_process() {
        let out = "PID TID CMD\n10 - a\n- 10 \n- 11 \n12 - b\n- 12 \n";
        let v = parse_ps_output(out, &[10]).unwrap();
        assert_eq!(v["Processes"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn only_pid_may_be_renamed_to_pid() {
        assert!(validate_ps_args("-ef").is_ok());
        assert!(validate_ps_args("-o pid=PID,comm").is_ok());
        let e = validate_ps_args("-o user=PID").unwrap_err();
        assert_eq!(e.message, "specifying \"user=PID\" is not allowed");
        assert!(validate_ps_args("-o user= PIDX").is_err());
    }
}
