//! `compose config`: the project after loading, merging and normalising, as YAML (or JSON).

use std::process::ExitCode;

use anyhow::Result;

use super::cli::{ComposeArgs, ConfigOpts};
use super::load;

pub fn run(a: &ComposeArgs, o: &ConfigOpts) -> Result<ExitCode> {
    let p = load(a, &[])?;
    if o.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if o.services {
        for s in p.services.keys() {
            println!("{s}");
        }
    } else if o.volumes {
        for v in p.volumes.keys() {
            println!("{v}");
        }
    } else if o.profiles {
        let mut all: Vec<&String> = p
            .services
            .values()
            .chain(p.disabled.values())
            .flat_map(|s| s.profiles.iter())
            .collect();
        all.sort();
        all.dedup();
        for pr in all {
            println!("{pr}");
        }
    } else if let Some(which) = &o.hash {
        for (n, s) in &p.services {
            if which == "*" || which.split(',').any(|w| w == n) {
                println!("{n} {}", berth_compose::config_hash(s));
            }
        }
    } else if o.format == "json" {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        print!("{}", p.to_yaml());
    }
    Ok(ExitCode::SUCCESS)
}
