//! A service definition → the `POST /containers/create` request, through the same builder
//! `berth run` uses (`opts::build`), so a compose container gets exactly the JSON a
//! `berth run` with the equivalent flags would send. What flags cannot say (an entrypoint
//! or healthcheck given as a list, several networks with aliases) is set afterwards.

use std::collections::BTreeMap;

use berth_compose::{config_hash, Project, Service};

use crate::cli::ContainerOpts;
use crate::opts::{self, CreateRequest, EndpointSettings, IpamConfig, RunContext};

pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_HASH: &str = "com.docker.compose.config-hash";
pub const LABEL_FILES: &str = "com.docker.compose.project.config_files";
pub const LABEL_WORKDIR: &str = "com.docker.compose.project.working_dir";
pub const LABEL_VERSION: &str = "com.docker.compose.version";
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";

/// The Compose version berth's labels claim (Compose v2's format).
pub const COMPOSE_VERSION: &str = "2.29.0";

/// `<project>-<service>-<n>`, or the service's `container_name`.
pub fn container_name(p: &Project, service: &str, s: &Service, number: u64) -> String {
    s.container_name
        .clone()
        .unwrap_or_else(|| format!("{}-{service}-{number}", p.name))
}

/// Which container this is: a service replica (`number`), or a one-off `run`.
pub struct Instance<'a> {
    pub service: &'a str,
    pub number: u64,
    pub oneoff: bool,
    pub name: String,
}

/// The labels compose puts on a service container.
pub fn labels(p: &Project, s: &Service, inst: &Instance<'_>) -> BTreeMap<String, String> {
    let mut l = s.labels.clone();
    let files: Vec<String> = p
        .config_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    for (k, v) in [
        (LABEL_PROJECT, p.name.clone()),
        (LABEL_SERVICE, inst.service.to_string()),
        (LABEL_NUMBER, inst.number.to_string()),
        (
            LABEL_ONEOFF,
            if inst.oneoff { "True" } else { "False" }.into(),
        ),
        (LABEL_HASH, config_hash(s)),
        (LABEL_FILES, files.join(",")),
        (LABEL_WORKDIR, p.working_dir.display().to_string()),
        (LABEL_VERSION, COMPOSE_VERSION.into()),
    ] {
        l.insert(k.to_string(), v);
    }
    l
}

/// The create request for one container of service `s`.
pub fn create_request(
    p: &Project,
    s: &Service,
    inst: &Instance<'_>,
    command: Option<Vec<String>>,
    publish: bool,
) -> Result<CreateRequest, String> {
    let svc = inst.service;
    let mut o = ContainerOpts {
        name: Some(inst.name.clone()),
        env: s
            .environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
        label: labels(p, s, inst)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        restart: opts::parse_restart(s.restart.as_deref().unwrap_or("no"))
            .map_err(|e| format!("services.{svc}.restart: {e}"))?,
        hostname: s.hostname.clone(),
        domainname: s.domainname.clone(),
        user: s.user.clone(),
        workdir: s.working_dir.clone(),
        read_only: s.read_only,
        privileged: s.privileged,
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        security_opt: s.security_opt.clone(),
        sysctl: s.sysctls.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        init: s.init.unwrap_or(false),
        pid: s.pid.clone(),
        ipc: s.ipc.clone(),
        tty: s.tty,
        interactive: s.stdin_open,
        stop_signal: s.stop_signal.clone(),
        dns: s.dns.clone(),
        dns_search: s.dns_search.clone(),
        dns_option: s.dns_opt.clone(),
        add_host: s.extra_hosts.clone(),
        expose: s.expose.clone(),
        group_add: s.group_add.clone(),
        platform: s.platform.clone(),
        memory_swappiness: -1,
        ..ContainerOpts::default()
    };
    let at = |k: &'static str| move |e: String| format!("services.{svc}.{k}: {e}");
    for (name, u) in &s.ulimits {
        o.ulimit.push(opts::Ulimit {
            name: name.clone(),
            soft: u.soft,
            hard: u.hard,
        });
    }
    if let Some(g) = &s.stop_grace_period {
        o.stop_timeout =
            Some(opts::go_duration(g).map_err(at("stop_grace_period"))? / 1_000_000_000);
    }
    let limits = s
        .deploy
        .as_ref()
        .and_then(|d| d.resources.as_ref())
        .and_then(|r| r.limits.as_ref());
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(m) = limits
        .and_then(|l| l.memory.clone())
        .or(s.mem_limit.as_ref().map(scalar))
    {
        o.memory = Some(opts::ram_in_bytes(&m).map_err(at("memory"))?);
    }
    if let Some(c) = limits
        .and_then(|l| l.cpus.clone())
        .or(s.cpus.as_ref().map(scalar))
    {
        o.cpus = Some(opts::nano_cpus(&c).map_err(at("cpus"))?);
    }
    if let Some(n) = limits
        .and_then(|l| l.pids)
        .map(|n| n as i64)
        .or(s.pids_limit.as_ref().and_then(|v| scalar(v).parse().ok()))
    {
        o.pids_limit = Some(n);
    }
    if let Some(sz) = &s.shm_size {
        o.shm_size = Some(opts::ram_in_bytes(&scalar(sz)).map_err(at("shm_size"))?);
    }
    for d in &s.devices {
        o.device.push(opts::parse_device(d).map_err(at("devices"))?);
    }
    for t in &s.tmpfs {
        o.tmpfs.push(opts::parse_tmpfs(t).map_err(at("tmpfs"))?);
    }
    if let Some(l) = &s.logging {
        o.log_driver = l.driver.clone();
        o.log_opt = l.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    }
    if publish {
        for port in &s.ports {
            let mut spec = String::new();
            if let Some(ip) = &port.host_ip {
                if ip.contains(':') {
                    spec.push_str(&format!("[{ip}]:"));
                } else {
                    spec.push_str(&format!("{ip}:"));
                }
            }
            match &port.published {
                Some(p) => spec.push_str(&format!("{p}:")),
                None if port.host_ip.is_some() => spec.push(':'),
                None => {}
            }
            spec.push_str(&format!("{}/{}", port.target, port.protocol));
            o.publish.push(spec);
        }
    }
    for v in &s.volumes {
        let target = &v.target;
        match v.kind.as_str() {
            "bind" => {
                let src = v.source.clone().unwrap_or_default();
                let create = v.bind.as_ref().and_then(|b| b.create_host_path).unwrap_or(false);
                if create {
                    // Binds (like `-v`): the daemon creates a missing source directory.
                    let mut spec = format!("{src}:{target}");
                    let mut modes = Vec::new();
                    if v.read_only {
                        modes.push("ro".to_string());
                    }
                    if let Some(b) = &v.bind {
                        modes.extend(b.selinux.clone());
                        modes.extend(b.propagation.clone());
                    }
                    if !modes.is_empty() {
                        spec.push(':');
                        spec.push_str(&modes.join(","));
                    }
                    o.volume.push(spec);
                } else {
                    let mut spec = format!("type=bind,source={src},target={target}");
                    if v.read_only {
                        spec.push_str(",readonly");
                    }
                    if let Some(pr) = v.bind.as_ref().and_then(|b| b.propagation.as_ref()) {
                        spec.push_str(&format!(",bind-propagation={pr}"));
                    }
                    o.mount.push(opts::parse_mount(&spec).map_err(at("volumes"))?);
                }
            }
            "volume" => {
                let mut spec = "type=volume".to_string();
                if let Some(src) = v.source.as_deref().filter(|s| !s.is_empty()) {
                    let name = p.volumes.get(src).map_or(src, |d| d.name.as_str());
                    spec.push_str(&format!(",source={name}"));
                }
                spec.push_str(&format!(",target={target}"));
                if v.read_only {
                    spec.push_str(",readonly");
                }
                if v.volume.as_ref().and_then(|x| x.nocopy).unwrap_or(false) {
                    spec.push_str(",volume-nocopy");
                }
                o.mount.push(opts::parse_mount(&spec).map_err(at("volumes"))?);
            }
            "tmpfs" => {
                let mut spec = format!("type=tmpfs,target={target}");
                if let Some(sz) = v.tmpfs.as_ref().and_then(|t| t.size.as_ref()) {
                    spec.push_str(&format!(",tmpfs-size={}", scalar(sz)));
                }
                o.mount.push(opts::parse_mount(&spec).map_err(at("volumes"))?);
            }
            other => {
                return Err(format!(
                    "services.{svc}.volumes: the volume type {other:?} is not supported by berth (bind, volume or tmpfs)"
                ))
            }
        }
    }
    // File-based secrets and configs are bind-mounted read-only, as Compose does.
    for (kind, refs, defs) in [
        ("secrets", &s.secrets, &p.secrets),
        ("configs", &s.configs, &p.configs),
    ] {
        for r in refs {
            let def = &defs[&r.source];
            let Some(file) = &def.file else {
                return Err(format!(
                    "services.{svc}.{kind}: {:?} is not file-based; berth supports `file:` {kind} only",
                    r.source
                ));
            };
            let target = match (&r.target, kind) {
                (Some(t), _) if t.starts_with('/') => t.clone(),
                (Some(t), "secrets") => format!("/run/secrets/{t}"),
                (None, "secrets") => format!("/run/secrets/{}", r.source),
                (Some(t), _) => format!("/{t}"),
                (None, _) => format!("/{}", r.source),
            };
            o.mount.push(
                opts::parse_mount(&format!("type=bind,source={file},target={target},readonly"))
                    .map_err(at(kind))?,
            );
        }
    }
    let image = s.image_name(&p.name, svc);
    let mut args = vec![image];
    if let Some(cmd) = command.or_else(|| s.command.clone()) {
        args.extend(cmd);
    }
    // Networks: the first (by priority, then name) in the create request, the others
    // connected after creation.
    let network_mode = s.network_mode.clone();
    if let Some(m) = &network_mode {
        let mode = match m.strip_prefix("service:") {
            Some(other) => format!("container:{}-{other}-1", p.name),
            None => m.clone(),
        };
        o.network = Some(mode);
    }
    let mut req = opts::build(
        &o,
        &args,
        RunContext {
            detach: true,
            console_size: None,
        },
    )
    .map_err(|e| format!("services.{svc}: {e}"))?;
    let cfg = &mut req.body.config;
    if let Some(ep) = &s.entrypoint {
        cfg.entrypoint = Some(ep.clone());
    }
    if let Some(h) = &s.healthcheck {
        cfg.healthcheck = Some(health(h).map_err(|e| format!("services.{svc}.healthcheck: {e}"))?);
    }
    if network_mode.is_none() {
        let nets = ordered_networks(s);
        let mut endpoints = BTreeMap::new();
        if let Some(first) = nets.first() {
            let real = p.networks[first].name.clone();
            req.body.host_config.network_mode = real.clone();
            endpoints.insert(real, endpoint(s, svc, first));
        }
        req.body.networking_config.endpoints_config = endpoints;
    }
    Ok(req)
}

/// The service's networks, highest priority first, then by name.
pub fn ordered_networks(s: &Service) -> Vec<String> {
    let mut nets: Vec<(&String, i64)> = s
        .networks
        .iter()
        .map(|(n, c)| (n, c.as_ref().and_then(|c| c.priority).unwrap_or(0)))
        .collect();
    nets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    nets.into_iter().map(|(n, _)| n.clone()).collect()
}

/// The endpoint of a service on network `key`: the service name as an alias, plus its own.
pub fn endpoint(s: &Service, service: &str, key: &str) -> EndpointSettings {
    let cfg = s.networks.get(key).cloned().flatten().unwrap_or_default();
    let mut aliases = vec![service.to_string()];
    aliases.extend(cfg.aliases.iter().cloned());
    EndpointSettings {
        ipam_config: (cfg.ipv4_address.is_some() || cfg.ipv6_address.is_some()).then(|| {
            IpamConfig {
                ipv4_address: cfg.ipv4_address.clone().unwrap_or_default(),
                ipv6_address: cfg.ipv6_address.clone().unwrap_or_default(),
            }
        }),
        aliases: Some(aliases),
        mac_address: cfg.mac_address.clone().unwrap_or_default(),
        ..EndpointSettings::default()
    }
}

fn health(h: &berth_compose::Healthcheck) -> Result<opts::HealthConfig, String> {
    if h.disable {
        return Ok(opts::HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    let d = |v: &Option<String>| -> Result<i64, String> {
        v.as_deref()
            .map(opts::go_duration)
            .transpose()
            .map(|d| d.unwrap_or(0))
    };
    Ok(opts::HealthConfig {
        test: h.test.clone(),
        interval: d(&h.interval)?,
        timeout: d(&h.timeout)?,
        start_period: d(&h.start_period)?,
        start_interval: d(&h.start_interval)?,
        retries: h.retries.unwrap_or(0) as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn project(yaml: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        std::fs::write(dir.path().join("token.txt"), "t").unwrap();
        let l = berth_compose::load(&berth_compose::LoadOptions {
            cwd: dir.path().to_path_buf(),
            project_name: Some("demo".into()),
            ..Default::default()
        })
        .unwrap();
        l.project
    }

    fn request(p: &Project, svc: &str) -> Value {
        let s = &p.services[svc];
        let inst = Instance {
            service: svc,
            number: 1,
            oneoff: false,
            name: container_name(p, svc, s, 1),
        };
        let req = create_request(p, s, &inst, None, true).unwrap();
        assert_eq!(req.name.as_deref(), Some(format!("demo-{svc}-1").as_str()));
        serde_json::to_value(&req.body).unwrap()
    }

    #[test]
    fn a_service_becomes_the_create_request_run_would_send() {
        let p = project(
            r#"
services:
  web:
    image: busybox
    entrypoint: ["/bin/sh", "-c"]
    command: echo hi
    environment: {A: "1"}
    ports: ["127.0.0.1:8080:80", {target: 53, protocol: udp}]
    volumes: ["data:/data:ro", "/host:/host", {type: tmpfs, target: /t}]
    networks:
      back: {aliases: [api], ipv4_address: 10.9.0.5}
      default:
    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 3}
    restart: on-failure:3
    stop_grace_period: 5s
    ulimits: {nofile: 1024}
    deploy: {resources: {limits: {memory: 64M, cpus: "0.5"}}}
    secrets: [token]
networks:
  back: {}
volumes:
  data: {}
secrets:
  token: {file: ./token.txt}
"#,
        );
        let v = request(&p, "web");
        assert_eq!(v["Image"], "busybox");
        assert_eq!(v["Entrypoint"], json!(["/bin/sh", "-c"]));
        assert_eq!(v["Cmd"], json!(["echo", "hi"]));
        assert_eq!(v["Env"], json!(["A=1"]));
        assert_eq!(v["Labels"][LABEL_PROJECT], "demo");
        assert_eq!(v["Labels"][LABEL_SERVICE], "web");
        assert_eq!(v["Labels"][LABEL_NUMBER], "1");
        assert_eq!(v["Labels"][LABEL_ONEOFF], "False");
        assert_eq!(v["Labels"][LABEL_HASH], config_hash(&p.services["web"]));
        assert_eq!(v["StopTimeout"], 5);
        assert_eq!(v["Healthcheck"]["Test"], json!(["CMD", "true"]));
        assert_eq!(v["Healthcheck"]["Interval"], 2_000_000_000i64);
        let hc = &v["HostConfig"];
        assert_eq!(
            hc["PortBindings"]["80/tcp"],
            json!([{"HostIp": "127.0.0.1", "HostPort": "8080"}])
        );
        assert_eq!(
            hc["PortBindings"]["53/udp"],
            json!([{"HostIp": "", "HostPort": ""}])
        );
        assert_eq!(hc["Binds"], json!(["/host:/host"]));
        let mounts = hc["Mounts"].as_array().unwrap();
        assert_eq!(mounts[0]["Source"], "demo_data");
        assert_eq!(mounts[0]["ReadOnly"], true);
        assert_eq!(mounts[1]["Type"], "tmpfs");
        assert_eq!(mounts[2]["Target"], "/run/secrets/token");
        assert_eq!(mounts[2]["ReadOnly"], true);
        assert_eq!(hc["RestartPolicy"]["Name"], "on-failure");
        assert_eq!(hc["RestartPolicy"]["MaximumRetryCount"], 3);
        assert_eq!(hc["Memory"], 64 * 1024 * 1024);
        assert_eq!(hc["NanoCpus"], 500_000_000);
        assert_eq!(hc["Ulimits"][0]["Name"], "nofile");
        // The first network (by name) in the request, with the service name as an alias.
        assert_eq!(hc["NetworkMode"], "demo_back");
        let ep = &v["NetworkingConfig"]["EndpointsConfig"]["demo_back"];
        assert_eq!(ep["Aliases"], json!(["web", "api"]));
        assert_eq!(ep["IPAMConfig"]["IPv4Address"], "10.9.0.5");
        assert_eq!(ordered_networks(&p.services["web"]), ["back", "default"]);
    }

    #[test]
    fn bad_values_name_the_service_and_key() {
        let p = project("services:\n  web:\n    image: busybox\n    restart: sometimes\n");
        let s = &p.services["web"];
        let inst = Instance {
            service: "web",
            number: 1,
            oneoff: false,
            name: "x".into(),
        };
        let e = create_request(&p, s, &inst, None, true).unwrap_err();
        assert!(e.starts_with("services.web.restart"), "{e}");
    }
}
