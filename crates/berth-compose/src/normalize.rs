//! One file's tree (already interpolated) into the canonical shape: short syntaxes into long
//! ones, lists of `KEY=VALUE` into maps, relative paths made absolute against the file's
//! base directory, unknown keys warned about and dropped. Overrides are merged after this,
//! so both sides of a merge always have the same shape.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::syntax::{parse_port, parse_volume, scalar_string, shell_split};
use crate::Error;

/// The service keys of the Compose Specification (compose-spec.json).
const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "pull_refresh_after",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

const TOP_KEYS: &[&str] = &[
    "configs", "include", "models", "name", "networks", "secrets", "services", "version", "volumes",
];

/// What normalising one file needs.
pub struct FileContext<'a> {
    /// The file, for errors.
    pub file: &'a Path,
    /// What relative paths are relative to.
    pub base_dir: &'a Path,
    /// The interpolation environment (for `environment: [FOO]` and `env_file`s).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub warnings: &'a mut Vec<String>,
}

impl FileContext<'_> {
    fn err(&self, path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::at(self.file, path, message)
    }

    fn abs(&self, p: &str) -> String {
        if let Some(rest) = p.strip_prefix("~/") {
            if let Some(home) = (self.env)("HOME") {
                return format!("{home}/{rest}");
            }
        }
        let path = Path::new(p);
        if path.is_absolute() {
            return p.to_string();
        }
        clean(&self.base_dir.join(path))
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
pub fn clean(p: &Path) -> String {
    let mut out: Vec<&std::ffi::OsStr> = Vec::new();
    let absolute = p.is_absolute();
    for c in p.components() {
        match c {
            std::path::Component::CurDir | std::path::Component::RootDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(s) => out.push(s),
            std::path::Component::Prefix(_) => {}
        }
    }
    let joined = out
        .iter()
        .map(|s| s.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Normalises the whole file's tree in place.
pub fn normalize_file(root: &mut Value, cx: &mut FileContext<'_>) -> Result<(), Error> {
    let Value::Object(top) = root else {
        return Err(cx.err(
            "",
            "the top level must be a mapping (services:, networks:, ...)",
        ));
    };
    let keys: Vec<String> = top.keys().cloned().collect();
    for k in keys {
        if k.starts_with("x-") {
            continue;
        }
        if k == "version" {
            cx.warnings.push(format!(
                "{}: the attribute `version` is obsolete, it will be ignored",
                cx.file.display()
            ));
            top.remove(&k);
        } else if !TOP_KEYS.contains(&k.as_str()) {
            cx.warnings.push(format!(
                "{}: unknown top-level key {k:?} ignored",
                cx.file.display()
            ));
            top.remove(&k);
        }
    }
    if let Some(services) = top.get_mut("services") {
        match services {
            Value::Null => *services = json!({}),
            Value::Object(map) => {
                for (name, svc) in map.iter_mut() {
                    normalize_service(name, svc, cx)?;
                }
            }
            _ => return Err(cx.err("services", "must be a mapping of service names to services")),
        }
    }
    for kind in ["networks", "volumes", "secrets", "configs"] {
        if let Some(section) = top.get_mut(kind) {
            match section {
                Value::Null => *section = json!({}),
                Value::Object(map) => {
                    for (name, def) in map.iter_mut() {
                        if def.is_null() {
                            *def = json!({});
                        }
                        let Value::Object(def) = def else {
                            return Err(cx.err(format!("{kind}.{name}"), "must be a mapping"));
                        };
                        // The legacy `external: {name: x}`.
                        if let Some(Value::Object(ext)) = def.get("external").cloned() {
                            if let Some(n) = ext.get("name") {
                                def.insert("name".into(), n.clone());
                            }
                            def.insert("external".into(), json!(true));
                        }
                        for key in ["labels", "driver_opts"] {
                            if let Some(v) = def.get_mut(key) {
                                *v = to_map(v, false)
                                    .map_err(|e| cx.err(format!("{kind}.{name}.{key}"), e))?;
                            }
                        }
                        if matches!(kind, "secrets" | "configs") {
                            if let Some(Value::String(f)) = def.get("file") {
                                let f = cx.abs(f);
                                def.insert("file".into(), json!(f));
                            }
                        }
                    }
                }
                _ => return Err(cx.err(kind, "must be a mapping")),
            }
        }
    }
    Ok(())
}

/// Normalises one service in place.
pub fn normalize_service(
    name: &str,
    svc: &mut Value,
    cx: &mut FileContext<'_>,
) -> Result<(), Error> {
    if svc.is_null() {
        *svc = json!({});
    }
    let Value::Object(s) = svc else {
        return Err(cx.err(format!("services.{name}"), "a service must be a mapping"));
    };
    let p = |k: &str| format!("services.{name}.{k}");
    let keys: Vec<String> = s.keys().cloned().collect();
    for k in &keys {
        if !k.starts_with("x-") && !SERVICE_KEYS.contains(&k.as_str()) {
            cx.warnings.push(format!(
                "{}: services.{name}: unknown key {k:?} ignored",
                cx.file.display()
            ));
            s.remove(k);
        }
    }

    if let Some(b) = s.get_mut("build") {
        if let Value::String(ctx) = b {
            *b = json!({ "context": ctx });
        }
        let Value::Object(bm) = b else {
            return Err(cx.err(p("build"), "must be a path or a mapping"));
        };
        let ctx = bm
            .get("context")
            .and_then(Value::as_str)
            .unwrap_or(".")
            .to_string();
        let is_remote = ctx.contains("://") || ctx.starts_with("git@");
        bm.insert(
            "context".into(),
            json!(if is_remote { ctx } else { cx.abs(&ctx) }),
        );
        if let Some(a) = bm.get_mut("args") {
            *a = to_map(a, true).map_err(|e| cx.err(p("build.args"), e))?;
        }
        if let Some(l) = bm.get_mut("labels") {
            *l = to_map(l, false).map_err(|e| cx.err(p("build.labels"), e))?;
        }
    }
    for key in ["command", "entrypoint"] {
        if let Some(v) = s.get_mut(key) {
            *v = words(v).map_err(|e| cx.err(p(key), e))?;
        }
    }
    // environment: env_file values first, then `environment`; bare keys from the shell.
    let mut env = Map::new();
    if let Some(files) = s.remove("env_file") {
        for (n, f) in string_or_list_of(&files).iter().enumerate() {
            let (path, required) = match f {
                Value::String(path) => (path.clone(), true),
                Value::Object(o) => (
                    o.get("path")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    o.get("required").and_then(Value::as_bool).unwrap_or(true),
                ),
                _ => return Err(cx.err(format!("{}[{n}]", p("env_file")), "must be a path")),
            };
            let abs = cx.abs(&path);
            match std::fs::read_to_string(&abs) {
                Ok(text) => {
                    let vars = crate::dotenv::parse(&text, cx.env)
                        .map_err(|e| cx.err(p("env_file"), format!("{abs}: {e}")))?;
                    for (k, v) in vars {
                        env.insert(k, json!(v));
                    }
                }
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(cx.err(
                        p("env_file"),
                        format!("cannot read {abs}: {e} (create it, or mark it `required: false`)"),
                    ))
                }
            }
        }
    }
    if let Some(e) = s.get("environment") {
        let m = to_map(e, true).map_err(|e| cx.err(p("environment"), e))?;
        for (k, v) in m.as_object().into_iter().flatten() {
            let v = if v.is_null() {
                (cx.env)(k).map(Value::String).unwrap_or(Value::Null)
            } else {
                v.clone()
            };
            env.insert(k.clone(), v);
        }
    }
    if !env.is_empty() {
        s.insert("environment".into(), Value::Object(env));
    }
    for key in ["labels", "sysctls"] {
        if let Some(v) = s.get_mut(key) {
            *v = to_map(v, false).map_err(|e| cx.err(p(key), e))?;
        }
    }
    if let Some(v) = s.get_mut("extra_hosts") {
        *v = extra_hosts(v).map_err(|e| cx.err(p("extra_hosts"), e))?;
    }
    for key in [
        "dns",
        "dns_search",
        "tmpfs",
        "env_file",
        "profiles",
        "cap_add",
        "cap_drop",
    ] {
        if let Some(v) = s.get_mut(key) {
            if let Value::String(one) = v {
                *v = json!([one]);
            }
        }
    }
    if let Some(Value::Array(items)) = s.get_mut("expose") {
        for it in items.iter_mut() {
            *it = json!(scalar_string(it).unwrap_or_default());
        }
    }
    if let Some(v) = s.get_mut("ports") {
        let Value::Array(items) = v else {
            return Err(cx.err(p("ports"), "must be a list"));
        };
        let mut out = Vec::new();
        for (n, it) in items.iter().enumerate() {
            match it {
                Value::String(_) | Value::Number(_) => {
                    let spec = scalar_string(it).unwrap_or_default();
                    out.extend(
                        parse_port(&spec).map_err(|e| cx.err(format!("{}[{n}]", p("ports")), e))?,
                    );
                }
                Value::Object(o) => {
                    let mut o = o.clone();
                    o.entry("mode").or_insert(json!("ingress"));
                    o.entry("protocol").or_insert(json!("tcp"));
                    if let Some(pb) = o.get("published").cloned() {
                        o.insert("published".into(), json!(scalar_string(&pb)));
                    }
                    if !o.contains_key("target") {
                        return Err(
                            cx.err(format!("{}[{n}]", p("ports")), "a port needs a `target`")
                        );
                    }
                    out.push(Value::Object(o));
                }
                _ => {
                    return Err(cx.err(
                        format!("{}[{n}]", p("ports")),
                        "must be a string or a mapping",
                    ))
                }
            }
        }
        *v = Value::Array(out);
    }
    if let Some(v) = s.get_mut("volumes") {
        let Value::Array(items) = v else {
            return Err(cx.err(p("volumes"), "must be a list"));
        };
        for (n, it) in items.iter_mut().enumerate() {
            let at = format!("{}[{n}]", p("volumes"));
            if let Value::String(spec) = it {
                *it = parse_volume(spec).map_err(|e| cx.err(&at, e))?;
            }
            let Value::Object(o) = it else {
                return Err(cx.err(&at, "must be a string or a mapping"));
            };
            if o.get("target").and_then(Value::as_str).is_none() {
                return Err(cx.err(&at, "a volume needs a `target`"));
            }
            if o.get("type").and_then(Value::as_str) == Some("bind") {
                if let Some(Value::String(src)) = o.get("source") {
                    let abs = cx.abs(src);
                    o.insert("source".into(), json!(abs));
                }
            }
            o.entry("type").or_insert(json!("volume"));
        }
    }
    if let Some(v) = s.get_mut("networks") {
        if let Value::Array(names) = v {
            let mut m = Map::new();
            for n in names.iter() {
                m.insert(scalar_string(n).unwrap_or_default(), Value::Null);
            }
            *v = Value::Object(m);
        }
        for (_, net) in v.as_object_mut().into_iter().flatten() {
            if let Value::Object(o) = net {
                if let Some(Value::String(a)) = o.get("aliases").cloned() {
                    o.insert("aliases".into(), json!([a]));
                }
            }
        }
    }
    if let Some(v) = s.get_mut("depends_on") {
        if let Value::Array(names) = v {
            let mut m = Map::new();
            for n in names.iter() {
                m.insert(
                    scalar_string(n).unwrap_or_default(),
                    json!({"condition": "service_started", "required": true}),
                );
            }
            *v = Value::Object(m);
        }
        let Value::Object(m) = v else {
            return Err(cx.err(p("depends_on"), "must be a list or a mapping"));
        };
        for (dep, d) in m.iter_mut() {
            if d.is_null() {
                *d = json!({});
            }
            let Value::Object(o) = d else {
                return Err(cx.err(format!("{}.{dep}", p("depends_on")), "must be a mapping"));
            };
            o.entry("condition").or_insert(json!("service_started"));
            o.entry("required").or_insert(json!(true));
            let cond = o["condition"].as_str().unwrap_or_default();
            if !matches!(
                cond,
                "service_started" | "service_healthy" | "service_completed_successfully"
            ) {
                return Err(cx.err(
                    format!("{}.{dep}.condition", p("depends_on")),
                    format!("unknown condition {cond:?} (service_started, service_healthy or service_completed_successfully)"),
                ));
            }
        }
    }
    if let Some(Value::Object(h)) = s.get_mut("healthcheck") {
        if let Some(t) = h.get_mut("test") {
            if let Value::String(cmd) = t {
                *t = json!(["CMD-SHELL", cmd]);
            }
        }
    }
    if let Some(Value::Object(u)) = s.get_mut("ulimits") {
        for (_, l) in u.iter_mut() {
            if !l.is_object() {
                *l = json!({"soft": l.clone(), "hard": l.clone()});
            }
        }
    }
    for key in ["secrets", "configs"] {
        if let Some(Value::Array(items)) = s.get_mut(key) {
            for it in items.iter_mut() {
                if let Value::String(src) = it {
                    *it = json!({ "source": src });
                }
            }
        }
    }
    if let Some(Value::Object(l)) = s.get_mut("logging") {
        if let Some(o) = l.get_mut("options") {
            *o = to_map(o, false).map_err(|e| cx.err(p("logging.options"), e))?;
        }
    }
    if let Some(Value::Object(e)) = s.get_mut("extends") {
        if let Some(Value::String(f)) = e.get("file") {
            let f = cx.abs(f);
            e.insert("file".into(), json!(f));
        }
    } else if let Some(Value::String(base)) = s.get("extends").cloned() {
        s.insert("extends".into(), json!({ "service": base }));
    }
    Ok(())
}

/// A string or list value (`env_file: a.env`) as a list.
fn string_or_list_of(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

/// A command as a list of words (a string is split like a shell would).
fn words(v: &Value) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::String(s) => Ok(json!(shell_split(s)?)),
        Value::Array(items) => Ok(json!(items
            .iter()
            .map(|i| scalar_string(i).unwrap_or_default())
            .collect::<Vec<_>>())),
        _ => Err("must be a string or a list of strings".into()),
    }
}

/// `[K=V, ...]` or `{K: V}` as a map of strings. With `keep_null`, a bare `K` (or `K:`
/// with no value) stays `null`; without, it is the empty string.
pub fn to_map(v: &Value, keep_null: bool) -> Result<Value, String> {
    let mut m = Map::new();
    let missing = if keep_null { Value::Null } else { json!("") };
    match v {
        Value::Null => {}
        Value::Array(items) => {
            for it in items {
                let s = scalar_string(it).unwrap_or_default();
                match s.split_once('=') {
                    Some((k, v)) => m.insert(k.to_string(), json!(v)),
                    None => m.insert(s, missing.clone()),
                };
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                let v = match scalar_string(v) {
                    Some(s) => json!(s),
                    None => missing.clone(),
                };
                m.insert(k.clone(), v);
            }
        }
        _ => return Err("must be a list of KEY=VALUE or a mapping".into()),
    }
    Ok(Value::Object(m))
}

/// `extra_hosts` as `host:ip` entries (from a mapping, or `host=ip` / `host:ip` items).
fn extra_hosts(v: &Value) -> Result<Value, String> {
    let mut out = Vec::new();
    match v {
        Value::Array(items) => {
            for it in items {
                let s = scalar_string(it).unwrap_or_default();
                match s.split_once('=') {
                    Some((h, ip)) => out.push(format!("{h}:{ip}")),
                    None => out.push(s),
                }
            }
        }
        Value::Object(o) => {
            for (h, ip) in o {
                match ip {
                    Value::Array(ips) => {
                        for ip in ips {
                            out.push(format!("{h}:{}", scalar_string(ip).unwrap_or_default()));
                        }
                    }
                    ip => out.push(format!("{h}:{}", scalar_string(ip).unwrap_or_default())),
                }
            }
        }
        _ => return Err("must be a list or a mapping".into()),
    }
    Ok(json!(out))
}
