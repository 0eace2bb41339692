//! `berth diff`: `C /etc`, `A /new`, `D /gone` for the container's changes.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::container_path;
use crate::cli::ContainerArg;
use crate::commands::Ctx;

pub async fn run(ctx: &Ctx, o: &ContainerArg) -> Result<ExitCode> {
    let changes: Value = ctx
        .client
        .get_json(&container_path(&o.container, "/changes"))
        .await?;
    print!("{}", render(&changes));
    Ok(ExitCode::SUCCESS)
}

/// One line per change; kinds 0 modified, 1 added, 2 deleted.
pub fn render(changes: &Value) -> String {
    let mut s = String::new();
    for c in changes.as_array().into_iter().flatten() {
        let kind = match c["Kind"].as_i64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        s.push_str(&format!("{kind} {}\n", c["Path"].as_str().unwrap_or("")));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_changes() {
        let v = serde_json::json!([{"Path": "/etc", "Kind": 0}, {"Path": "/etc/x", "Kind": 1}, {"Path": "/tmp/y", "Kind": 2}]);
        assert_eq!(super::render(&v), "C /etc\nA /etc/x\nD /tmp/y\n");
        assert_eq!(super::render(&serde_json::Value::Null), "");
    }
}
