//! Files → [`Project`]: find the files, read the environment, parse YAML (anchors and `<<`
//! merge keys resolved), interpolate, normalise, resolve `include` and `extends`, merge the
//! files in order, apply `profiles`, name the project's resources, check references.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::interpolate::interpolate_tree;
use crate::merge::{merge_file, merge_service};
use crate::model::Project;
use crate::normalize::{clean, normalize_file, normalize_service, FileContext};
use crate::{dotenv, Error};

/// The names Compose looks for, in order, when no file is given.
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in order; empty: `COMPOSE_FILE`, else the default names searched from
    /// `cwd` upwards, with their override file.
    pub files: Vec<PathBuf>,
    /// The directory relative paths (and the default search) start from.
    pub cwd: PathBuf,
    /// `--project-directory`; default: the first file's directory.
    pub project_directory: Option<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--env-file`s; default: `.env` in the project directory, when there is one.
    pub env_files: Vec<PathBuf>,
    /// The process environment (it wins over `.env` files).
    pub os_env: BTreeMap<String, String>,
    /// `--profile`s (with `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
}

/// A loaded project and what was worth a warning on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<String>,
    /// The interpolation environment (`.env` under the process environment).
    pub environment: BTreeMap<String, String>,
}

/// Loads a project.
pub fn load(opts: &LoadOptions) -> Result<Loaded, Error> {
    let files = find_files(opts)?;
    let project_dir = match &opts.project_directory {
        Some(d) => PathBuf::from(clean(&opts.cwd.join(d))),
        None => files[0]
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| opts.cwd.clone()),
    };
    let mut environment = BTreeMap::new();
    let env_files: Vec<PathBuf> = if opts.env_files.is_empty() {
        let default = project_dir.join(".env");
        if default.is_file() {
            vec![default]
        } else {
            vec![]
        }
    } else {
        opts.env_files.iter().map(|f| opts.cwd.join(f)).collect()
    };
    for f in &env_files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Error::plain(format!("cannot read the env file {}: {e}", f.display())))?;
        let os = |n: &str| opts.os_env.get(n).cloned();
        let vars = dotenv::parse(&text, &os).map_err(|e| Error::at(f, "", e))?;
        environment.extend(vars);
    }
    environment.extend(opts.os_env.clone());

    let mut warnings = Vec::new();
    let mut unset = Vec::new();
    let mut model = json!({});
    for f in &files {
        let tree = load_file(
            f,
            &project_dir,
            &environment,
            &mut warnings,
            &mut unset,
            &mut Vec::new(),
        )?;
        merge_file(&mut model, tree);
    }
    for u in unset {
        warnings.push(format!(
            "The \"{u}\" variable is not set. Defaulting to a blank string."
        ));
    }

    let name = project_name(opts, &environment, &model, &project_dir)?;
    let mut project = finish(model, &name, &files[0])?;
    project.working_dir = project_dir;
    project.config_files = files;

    let mut profiles = opts.profiles.clone();
    if profiles.is_empty() {
        if let Some(p) = environment.get("COMPOSE_PROFILES") {
            profiles = p
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
    }
    apply_profiles(&mut project, &profiles);
    crate::validate::check(&project)?;
    project.start_order()?;
    Ok(Loaded {
        project,
        warnings,
        environment,
    })
}

/// The files to load, absolute.
fn find_files(opts: &LoadOptions) -> Result<Vec<PathBuf>, Error> {
    let given: Vec<PathBuf> = if !opts.files.is_empty() {
        opts.files.clone()
    } else if let Some(list) = opts.os_env.get("COMPOSE_FILE").filter(|l| !l.is_empty()) {
        let sep = opts
            .os_env
            .get("COMPOSE_PATH_SEPARATOR")
            .cloned()
            .unwrap_or_else(|| ":".into());
        list.split(sep.as_str()).map(PathBuf::from).collect()
    } else {
        let mut dir = Some(opts.cwd.as_path());
        while let Some(d) = dir {
            if let Some(main) = DEFAULT_FILES
                .iter()
                .map(|n| d.join(n))
                .find(|p| p.is_file())
            {
                let mut files = vec![main];
                if let Some(o) = OVERRIDE_FILES
                    .iter()
                    .map(|n| d.join(n))
                    .find(|p| p.is_file())
                {
                    files.push(o);
                }
                return Ok(files);
            }
            dir = d.parent();
        }
        return Err(Error::plain(format!(
            "no configuration file provided: not found (looked for {} in {} and its parents; use -f to name one)",
            DEFAULT_FILES.join(", "),
            opts.cwd.display()
        )));
    };
    Ok(given
        .into_iter()
        .map(|f| PathBuf::from(clean(&opts.cwd.join(f))))
        .collect())
}

/// Reads a YAML file into a JSON tree with anchors, aliases and `<<` merge keys resolved.
pub fn read_yaml(file: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::plain(format!("cannot read {}: {e}", file.display())))?;
    parse_yaml(&text).map_err(|e| Error::at(file, "", e))
}

/// Parses YAML text into a JSON tree (`<<` merge keys applied; keys that are not strings
/// are written as strings, as Compose reads them).
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    let mut v: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    v.apply_merge().map_err(|e| e.to_string())?;
    Ok(yaml_to_json(v))
}

fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// One file: parsed, interpolated, normalised (paths against `base_dir`), its `include`s
/// and `extends` resolved. `stack` holds the files being loaded, to catch cycles.
fn load_file(
    file: &Path,
    base_dir: &Path,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
    unset: &mut Vec<String>,
    stack: &mut Vec<PathBuf>,
) -> Result<Value, Error> {
    if stack.iter().any(|f| f == file) {
        return Err(Error::at(
            file,
            "include",
            "include cycle: the file includes itself",
        ));
    }
    let mut tree = read_yaml(file)?;
    if tree.is_null() {
        tree = json!({});
    }
    let lookup = |n: &str| env.get(n).cloned();
    interpolate_tree(&mut tree, "", &lookup, unset).map_err(|(p, m)| Error::at(file, p, m))?;
    let mut cx = FileContext {
        file,
        base_dir,
        env: &lookup,
        warnings,
    };
    normalize_file(&mut tree, &mut cx)?;
    resolve_extends(&mut tree, file, env, warnings, unset)?;

    if let Some(includes) = tree.as_object_mut().and_then(|t| t.remove("include")) {
        stack.push(file.to_path_buf());
        let mut included = json!({});
        for (n, inc) in includes
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let at = format!("include[{n}]");
            let (paths, project_dir) = match inc {
                Value::String(p) => (vec![p.clone()], None),
                Value::Object(o) => {
                    let paths = match o.get("path") {
                        Some(Value::String(p)) => vec![p.clone()],
                        Some(Value::Array(ps)) => ps
                            .iter()
                            .filter_map(|p| p.as_str().map(str::to_string))
                            .collect(),
                        _ => return Err(Error::at(file, at, "an include needs a `path`")),
                    };
                    let dir = o
                        .get("project_directory")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    (paths, dir)
                }
                _ => return Err(Error::at(file, at, "must be a path or a mapping")),
            };
            let first = PathBuf::from(clean(&base_dir.join(&paths[0])));
            let inc_dir = match project_dir {
                Some(d) => PathBuf::from(clean(&base_dir.join(d))),
                None => first.parent().map(Path::to_path_buf).unwrap_or_default(),
            };
            let mut sub = json!({});
            for p in &paths {
                let f = PathBuf::from(clean(&base_dir.join(p)));
                let t = load_file(&f, &inc_dir, env, warnings, unset, stack)?;
                merge_file(&mut sub, t);
            }
            merge_file(&mut included, sub);
        }
        stack.pop();
        // The including file may not redefine what it includes.
        for section in ["services", "networks", "volumes", "secrets", "configs"] {
            let Some(inc) = included.get(section).and_then(Value::as_object) else {
                continue;
            };
            for (name, def) in inc {
                if let Some(own) = tree.get(section).and_then(|s| s.get(name)) {
                    if own != def {
                        return Err(Error::at(
                            file,
                            format!("{section}.{name}"),
                            "conflicts with the one an included file defines; rename one of them",
                        ));
                    }
                }
            }
        }
        merge_file(&mut included, tree);
        tree = included;
    }
    Ok(tree)
}

/// Resolves every service's `extends` in a normalised file tree.
fn resolve_extends(
    tree: &mut Value,
    file: &Path,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
    unset: &mut Vec<String>,
) -> Result<(), Error> {
    let Some(services) = tree.get("services").and_then(Value::as_object).cloned() else {
        return Ok(());
    };
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    for name in services.keys() {
        let svc = extended(name, &services, file, env, warnings, unset, &mut Vec::new())?;
        done.insert(name.clone(), svc);
    }
    tree["services"] = json!(done);
    Ok(())
}

fn extended(
    name: &str,
    services: &serde_json::Map<String, Value>,
    file: &Path,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
    unset: &mut Vec<String>,
    chain: &mut Vec<String>,
) -> Result<Value, Error> {
    let key = format!("{}#{name}", file.display());
    if chain.contains(&key) {
        return Err(Error::at(
            file,
            format!("services.{name}.extends"),
            format!("circular extends: {}", chain.join(" -> ")),
        ));
    }
    let mut svc = services.get(name).cloned().ok_or_else(|| {
        Error::at(
            file,
            format!("services.{name}"),
            "no such service to extend",
        )
    })?;
    let Some(ext) = svc.as_object_mut().and_then(|s| s.remove("extends")) else {
        return Ok(svc);
    };
    chain.push(key);
    let base_name = ext
        .get("service")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::at(
                file,
                format!("services.{name}.extends"),
                "needs a `service`",
            )
        })?
        .to_string();
    let base = match ext.get("file").and_then(Value::as_str) {
        None => extended(&base_name, services, file, env, warnings, unset, chain)?,
        Some(other) => {
            let other = PathBuf::from(other);
            let dir = other.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut t = read_yaml(&other)?;
            let lookup = |n: &str| env.get(n).cloned();
            interpolate_tree(&mut t, "", &lookup, unset)
                .map_err(|(p, m)| Error::at(&other, p, m))?;
            let Some(s) = t.get_mut("services").and_then(Value::as_object_mut) else {
                return Err(Error::at(
                    &other,
                    "services",
                    "the file has no services to extend",
                ));
            };
            let mut cx = FileContext {
                file: &other,
                base_dir: &dir,
                env: &lookup,
                warnings,
            };
            for (n, svc) in s.iter_mut() {
                normalize_service(n, svc, &mut cx)?;
            }
            let s = s.clone();
            if !s.contains_key(&base_name) {
                return Err(Error::at(
                    file,
                    format!("services.{name}.extends"),
                    format!("{} has no service {base_name:?}", other.display()),
                ));
            }
            extended(&base_name, &s, &other, env, warnings, unset, chain)?
        }
    };
    chain.pop();
    let mut merged = base;
    merge_service(&mut merged, svc);
    Ok(merged)
}

/// Compose's project name rule: lower case, only `a-z0-9_-`, starting with a letter or
/// digit. Names derived from a directory are made to fit; a given name must already fit.
pub fn normalize_project_name(name: &str) -> String {
    let lower: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

fn valid_project_name(name: &str) -> bool {
    !name.is_empty() && normalize_project_name(name) == name
}

fn project_name(
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    model: &Value,
    dir: &Path,
) -> Result<String, Error> {
    let explicit = opts
        .project_name
        .clone()
        .or_else(|| {
            env.get("COMPOSE_PROJECT_NAME")
                .cloned()
                .filter(|n| !n.is_empty())
        })
        .or_else(|| {
            model
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|n| !n.is_empty())
        });
    if let Some(n) = explicit {
        if !valid_project_name(&n) {
            return Err(Error::plain(format!(
                "invalid project name {n:?}: it must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit"
            )));
        }
        return Ok(n);
    }
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let n = normalize_project_name(&base);
    if n.is_empty() {
        return Err(Error::plain(format!(
            "the project directory {} gives no usable project name; set one with -p or `name:`",
            dir.display()
        )));
    }
    Ok(n)
}

/// The merged tree into the typed model: the default network, resource names.
fn finish(mut model: Value, name: &str, first: &Path) -> Result<Project, Error> {
    let top = model.as_object_mut().expect("the model is a mapping");
    top.insert("name".into(), json!(name));
    top.remove("include");
    let services = top
        .entry("services")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| Error::at(first, "services", "must be a mapping"))?;
    let mut uses_default = false;
    for (_, svc) in services.iter_mut() {
        let s = svc
            .as_object_mut()
            .expect("services are mappings after normalising");
        if s.get("network_mode").is_none() {
            let nets = s.entry("networks").or_insert_with(|| json!({}));
            if nets.as_object().is_some_and(|m| m.is_empty()) {
                nets["default"] = Value::Null;
            }
            if nets.get("default").is_some() {
                uses_default = true;
            }
        }
    }
    let networks = top.entry("networks").or_insert_with(|| json!({}));
    if uses_default && networks.get("default").is_none() {
        networks["default"] = json!({});
    }
    for section in ["networks", "volumes"] {
        if let Some(Value::Object(defs)) = top.get_mut(section) {
            for (key, def) in defs.iter_mut() {
                let external = def
                    .get("external")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if def.get("name").and_then(Value::as_str).is_none() {
                    def["name"] = json!(if external {
                        key.clone()
                    } else {
                        format!("{name}_{key}")
                    });
                }
            }
        }
    }
    // Services one by one, so an error names the service.
    let services = top.remove("services").unwrap_or_else(|| json!({}));
    let mut project: Project =
        serde_json::from_value(model).map_err(|e| Error::at(first, "", e.to_string()))?;
    for (n, svc) in services.as_object().into_iter().flatten() {
        let s = serde_json::from_value(svc.clone())
            .map_err(|e| Error::at(first, format!("services.{n}"), e.to_string()))?;
        project.services.insert(n.clone(), s);
    }
    Ok(project)
}

/// Moves services whose profiles are all inactive into `disabled`.
pub fn apply_profiles(project: &mut Project, profiles: &[String]) {
    let all = profiles.iter().any(|p| p == "*");
    let names: Vec<String> = project.services.keys().cloned().collect();
    for n in names {
        let svc = &project.services[&n];
        let active =
            svc.profiles.is_empty() || all || svc.profiles.iter().any(|p| profiles.contains(p));
        if !active {
            let s = project.services.remove(&n).expect("listed");
            project.disabled.insert(n, s);
        }
    }
}
