//! `berth info`: what the daemon reports about itself and the host.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::{print_formatted, Ctx};

pub async fn run(ctx: &Ctx, format: Option<&str>) -> Result<ExitCode> {
    let mut info: Value = ctx.client.get_json("/info").await?;
    if let Some(obj) = info.as_object_mut() {
        obj.insert(
            "ClientInfo".into(),
            serde_json::json!({"Debug": ctx.debug, "Context": ctx.context}),
        );
    }
    match format {
        Some(f) => print_formatted(f, "", &[], &[info])?,
        None => print_plain(ctx, &info),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plain(ctx: &Ctx, i: &Value) {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    println!("Client:");
    println!(" Context:    {}", ctx.context);
    println!(" Debug Mode: {}", ctx.debug);
    println!();
    println!("Server:");
    println!(" Containers: {}", s(&i["Containers"]));
    println!("  Running: {}", s(&i["ContainersRunning"]));
    println!("  Paused: {}", s(&i["ContainersPaused"]));
    println!("  Stopped: {}", s(&i["ContainersStopped"]));
    println!(" Images: {}", s(&i["Images"]));
    println!(" Server Version: {}", s(&i["ServerVersion"]));
    println!(" Storage Driver: {}", s(&i["Driver"]));
    for pair in i["DriverStatus"].as_array().into_iter().flatten() {
        println!("  {}: {}", s(&pair[0]), s(&pair[1]));
    }
    println!(" Logging Driver: {}", s(&i["LoggingDriver"]));
    println!(" Cgroup Driver: {}", s(&i["CgroupDriver"]));
    println!(" Cgroup Version: {}", s(&i["CgroupVersion"]));
    let list = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    println!(" Plugins:");
    println!("  Volume: {}", list(&i["Plugins"]["Volume"]));
    println!("  Network: {}", list(&i["Plugins"]["Network"]));
    println!("  Log: {}", list(&i["Plugins"]["Log"]));
    println!(" Security Options:");
    for o in i["SecurityOptions"].as_array().into_iter().flatten() {
        println!("  {}", s(o));
    }
    println!(" Kernel Version: {}", s(&i["KernelVersion"]));
    println!(" Operating System: {}", s(&i["OperatingSystem"]));
    println!(" OSType: {}", s(&i["OSType"]));
    println!(" Architecture: {}", s(&i["Architecture"]));
    println!(" CPUs: {}", s(&i["NCPU"]));
    let mem = i["MemTotal"].as_i64().unwrap_or(0);
    println!(" Total Memory: {}", berth_format::bytes_size(mem));
    println!(" Name: {}", s(&i["Name"]));
    println!(" ID: {}", s(&i["ID"]));
    println!(" Docker Root Dir: {}", s(&i["DockerRootDir"]));
    println!(" Debug Mode: {}", s(&i["Debug"]));
    println!(" Experimental: {}", s(&i["ExperimentalBuild"]));
    println!(" Live Restore Enabled: {}", s(&i["LiveRestoreEnabled"]));
    let warnings: Vec<String> = i["Warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    for w in warnings {
        eprintln!("{w}");
    }
}
