//! `berth context`: create, list, switch, inspect and remove named daemon endpoints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::print_formatted;
use crate::cli::{ContextCommand, ContextCreate, GlobalOpts};
use crate::context::{
    ContextMeta, ContextStore, ContextTls, EndpointMeta, Metadata, DEFAULT_CONTEXT,
};
use crate::hosts;

pub fn run(global: &GlobalOpts, store: &ContextStore, cmd: &ContextCommand) -> Result<ExitCode> {
    match cmd {
        ContextCommand::Create(c) => create(store, c)?,
        ContextCommand::Ls(o) => {
            let current = hosts::context_name(global, store)?;
            let items = listing(store, &current)?;
            if o.quiet {
                for i in &items {
                    println!("{}", i["Name"].as_str().unwrap_or(""));
                }
            } else {
                print_formatted(
                    o.format.as_deref().unwrap_or("table"),
                    "table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}",
                    &[
                        ("Name", "NAME"),
                        ("Description", "DESCRIPTION"),
                        ("DockerEndpoint", "DOCKER ENDPOINT"),
                        ("Error", "ERROR"),
                        // Empty, so the header row gets no " *" (docker's header map lacks it).
                        ("Current", ""),
                    ],
                    &items,
                )?;
            }
        }
        ContextCommand::Use { name } => {
            if name != DEFAULT_CONTEXT {
                store.get(name)?;
            }
            store.set_current(Some(name))?;
            println!("{name}");
            if hosts::env("BERTH_HOST")
                .or_else(|| hosts::env("DOCKER_HOST"))
                .is_some()
            {
                eprintln!("Warning: BERTH_HOST/DOCKER_HOST is set and overrides the active context. To use {name:?}, unset it.");
            }
            eprintln!("Current context is now {name:?}");
        }
        ContextCommand::Rm { force, names } => {
            let current = store.current()?;
            let mut failed = Vec::new();
            for name in names {
                if current.as_deref() == Some(name.as_str()) && !force {
                    failed.push(format!(
                        "context {name:?} is in use, set -f flag to force remove"
                    ));
                    continue;
                }
                match store.remove(name) {
                    Ok(()) => {
                        if current.as_deref() == Some(name.as_str()) {
                            store.set_current(None)?;
                        }
                        println!("{name}");
                    }
                    Err(e) => failed.push(e.to_string()),
                }
            }
            if !failed.is_empty() {
                bail!("{}", failed.join("\n"));
            }
        }
        ContextCommand::Inspect { format, names } => {
            let names = if names.is_empty() {
                vec![hosts::context_name(global, store)?]
            } else {
                names.clone()
            };
            let mut out = Vec::new();
            for name in &names {
                out.push(inspect(store, name)?);
            }
            match format {
                Some(f) => print_formatted(f, "", &[], &out)?,
                None => println!("{}", serde_json::to_string_pretty(&out)?),
            }
        }
        ContextCommand::Show => println!("{}", hosts::context_name(global, store)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// `--docker host=...,ca=...,cert=...,key=...,skip-tls-verify=true`
fn create(store: &ContextStore, c: &ContextCreate) -> Result<()> {
    let mut endpoint = EndpointMeta::default();
    let mut tls = ContextTls::default();
    for part in c
        .docker
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let Some((k, v)) = part.split_once('=') else {
            bail!("invalid --docker value {part:?}: expected key=value (host, ca, cert, key, skip-tls-verify)");
        };
        match k {
            "host" => endpoint.host = v.to_string(),
            "ca" => tls.ca = Some(PathBuf::from(v)),
            "cert" => tls.cert = Some(PathBuf::from(v)),
            "key" => tls.key = Some(PathBuf::from(v)),
            "skip-tls-verify" => {
                endpoint.skip_tls_verify = v.parse().map_err(|_| {
                    anyhow::anyhow!("invalid skip-tls-verify value {v:?}: use true or false")
                })?
            }
            other => {
                bail!("unknown --docker key {other:?}: use host, ca, cert, key or skip-tls-verify")
            }
        }
    }
    if tls.cert.is_some() != tls.key.is_some() {
        bail!("--docker needs both cert= and key= to use a client certificate");
    }
    if endpoint.host.is_empty() {
        endpoint.host = hosts::DEFAULT_HOST.to_string();
    }
    // Check the address now rather than at first use.
    berth_client::Endpoint::parse(&endpoint.host, None)?;
    let meta = ContextMeta {
        name: c.name.clone(),
        metadata: Metadata {
            description: c.description.clone(),
        },
        endpoints: BTreeMap::from([("docker".to_string(), endpoint)]),
    };
    store.create(&meta, &tls)?;
    println!("{}", c.name);
    eprintln!("Successfully created context {:?}", c.name);
    Ok(())
}

fn default_host() -> String {
    hosts::env("BERTH_HOST")
        .or_else(|| hosts::env("DOCKER_HOST"))
        .unwrap_or_else(|| hosts::DEFAULT_HOST.to_string())
}

fn listing(store: &ContextStore, current: &str) -> Result<Vec<Value>> {
    let mut items = vec![json!({
        "Name": DEFAULT_CONTEXT,
        "Description": "Current BERTH_HOST/DOCKER_HOST based configuration",
        "DockerEndpoint": default_host(),
        "Current": current == DEFAULT_CONTEXT,
        "Error": "",
    })];
    for m in store.list()? {
        items.push(json!({
            "Name": m.name,
            "Description": m.metadata.description,
            "DockerEndpoint": m.endpoints.get("docker").map(|e| e.host.clone()).unwrap_or_default(),
            "Current": current == m.name,
            "Error": "",
        }));
    }
    Ok(items)
}

fn inspect(store: &ContextStore, name: &str) -> Result<Value> {
    if name == DEFAULT_CONTEXT {
        return Ok(json!({
            "Name": DEFAULT_CONTEXT,
            "Metadata": {},
            "Endpoints": {"docker": {"Host": default_host(), "SkipTLSVerify": false}},
            "TLSMaterial": {},
            "Storage": {"MetadataPath": "<IN MEMORY>", "TLSPath": "<IN MEMORY>"},
        }));
    }
    let meta = store.get(name)?;
    let tls = store.tls(name);
    let files: Vec<&str> = [
        ("ca.pem", &tls.ca),
        ("cert.pem", &tls.cert),
        ("key.pem", &tls.key),
    ]
    .into_iter()
    .filter(|(_, p)| p.is_some())
    .map(|(n, _)| n)
    .collect();
    let mut v = serde_json::to_value(&meta)?;
    v["TLSMaterial"] = if files.is_empty() {
        json!({})
    } else {
        json!({"docker": files})
    };
    v["Storage"] = json!({
        "MetadataPath": store.config_dir().join("contexts/meta").display().to_string(),
        "TLSPath": store.config_dir().join("contexts/tls").display().to_string(),
    });
    Ok(v)
}
