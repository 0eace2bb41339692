//! `berth version`: client and server versions.

use std::process::ExitCode;

use anyhow::Result;
use berth_api::models::SystemVersion;
use serde_json::{json, Value};

use super::{print_formatted, Ctx};

pub async fn run(ctx: &Ctx, format: Option<&str>) -> Result<ExitCode> {
    let client = json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": ctx.client.api_version().await.map(|v| v.to_string()).unwrap_or_else(|_| berth_api::MAX_API_VERSION.to_string()),
        "DefaultAPIVersion": berth_api::MAX_API_VERSION.to_string(),
        "Os": "linux",
        "Arch": go_arch(),
        "Context": ctx.context,
    });
    let server: Result<SystemVersion, _> = ctx.client.get_json("/version").await;
    let data = json!({
        "Client": client,
        "Server": server.as_ref().ok().map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
    });
    match format {
        Some(f) => print_formatted(f, "", &[], &[data])?,
        None => print_plain(&data),
    }
    match server {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}

fn print_plain(data: &Value) {
    let c = &data["Client"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    println!("Client:");
    println!(" Version:           {}", s(&c["Version"]));
    println!(" API version:       {}", s(&c["ApiVersion"]));
    println!(" OS/Arch:           linux/{}", s(&c["Arch"]));
    println!(" Context:           {}", s(&c["Context"]));
    let srv = &data["Server"];
    if srv.is_null() {
        return;
    }
    println!();
    println!("Server: {}", s(&srv["Platform"]["Name"]));
    for comp in srv["Components"].as_array().into_iter().flatten() {
        println!(" {}:", s(&comp["Name"]));
        println!("  Version:          {}", s(&comp["Version"]));
        let d = &comp["Details"];
        if !d["ApiVersion"].is_null() {
            println!(
                "  API version:      {} (minimum version {})",
                s(&d["ApiVersion"]),
                s(&d["MinAPIVersion"])
            );
            println!("  Git commit:       {}", s(&d["GitCommit"]));
            println!("  OS/Arch:          {}/{}", s(&d["Os"]), s(&d["Arch"]));
            println!("  Kernel version:   {}", s(&d["KernelVersion"]));
        }
    }
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
