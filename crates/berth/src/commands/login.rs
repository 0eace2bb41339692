//! `berth login` / `berth logout`, and the registry credentials `pull` and `push` send.
//!
//! Credentials live where the docker CLI keeps them, in `config.json` of the config dir
//! (`~/.berth`, `$BERTH_CONFIG`, `--config`): `{"auths": {"<server>": {"auth":
//! "base64(user:password)"}}}` — or, when `credsStore` / `credHelpers` name one, in a
//! `docker-credential-<name>` helper (`get`/`store`/`erase` on stdin/stdout). Every other
//! key of the file (`currentContext`, anything docker wrote) is kept when it is rewritten.
//! Docker Hub's key is `https://index.docker.io/v1/`; other registries are keyed by
//! `host[:port]`.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use anyhow::{anyhow, Context as _, Result};
use base64::Engine as _;
use berth_api::ErrorBody;
use berth_client::{read_body, ClientError};
use http::Method;
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use crate::cli::{LoginOpts, LogoutOpts};
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;

/// Docker Hub's credential key.
pub const DOCKER_HUB_INDEX: &str = "https://index.docker.io/v1/";

/// What is stored for one registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredAuth {
    pub username: String,
    pub password: String,
    pub identity_token: String,
}

/// `https://index.docker.io/v1/`, `docker.io`, `https://reg:5000/v2/` →
/// `https://index.docker.io/v1/`, …, `reg:5000`: the key a server's credentials use.
pub fn server_key(server: &str) -> String {
    let s = server.trim();
    let host = s.split_once("://").map_or(s, |(_, rest)| rest);
    let host = host.split('/').next().unwrap_or(host).to_lowercase();
    match host.as_str() {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            DOCKER_HUB_INDEX.to_string()
        }
        _ => host,
    }
}

fn config_path(store: &ContextStore) -> PathBuf {
    store.config_dir().join("config.json")
}

fn read_config(path: &Path) -> Result<Map<String, Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Map::new()),
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON: fix or remove it", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the file atomically, private to its owner (it may hold passwords).
fn write_config(path: &Path, config: &Map<String, Value>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".config.json.{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(config).unwrap_or_default())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// The credential helper for `key`, if the config names one.
fn helper_for(config: &Map<String, Value>, key: &str) -> Option<String> {
    let host = server_key(key);
    config
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| server_key(k) == host)
                .and_then(|(_, v)| v.as_str())
        })
        .or_else(|| config.get("credsStore").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Runs `docker-credential-<helper> <action>` with `input` on stdin; returns stdout.
fn run_helper(helper: &str, action: &str, input: &str) -> Result<String> {
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run the credential helper {program}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        let msg = if stdout.is_empty() {
            String::from_utf8_lossy(&out.stderr).trim().to_string()
        } else {
            stdout
        };
        return Err(anyhow!("{program} {action}: {msg}"));
    }
    Ok(stdout)
}

/// The stored credentials for a registry (`server` as a key, host or URL), if any.
pub fn lookup(store: &ContextStore, server: &str) -> Result<Option<StoredAuth>> {
    let config = read_config(&config_path(store))?;
    let key = server_key(server);
    if let Some(helper) = helper_for(&config, &key) {
        return match run_helper(&helper, "get", &key) {
            Ok(out) => {
                let v: Value = serde_json::from_str(&out)
                    .with_context(|| format!("docker-credential-{helper} get: invalid answer"))?;
                let user = v["Username"].as_str().unwrap_or("").to_string();
                let secret = v["Secret"].as_str().unwrap_or("").to_string();
                Ok(Some(if user == "<token>" {
                    StoredAuth {
                        identity_token: secret,
                        ..StoredAuth::default()
                    }
                } else {
                    StoredAuth {
                        username: user,
                        password: secret,
                        ..StoredAuth::default()
                    }
                }))
            }
            Err(e) if e.to_string().contains("credentials not found") => Ok(None),
            Err(e) => Err(e),
        };
    }
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let entry = auths.get(&key).or_else(|| {
        auths
            .iter()
            .find(|(k, _)| server_key(k) == key)
            .map(|(_, v)| v)
    });
    let Some(entry) = entry else { return Ok(None) };
    let mut auth = StoredAuth {
        identity_token: entry["identitytoken"].as_str().unwrap_or("").to_string(),
        ..StoredAuth::default()
    };
    if let Some(encoded) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .with_context(|| {
                format!("the stored credentials for {key} are corrupt: log in again")
            })?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (u, p) = raw.split_once(':').unwrap_or((&raw, ""));
        auth.username = u.to_string();
        auth.password = p.to_string();
    }
    Ok(Some(auth))
}

/// Stores credentials; true when they went into config.json (not a helper).
fn save(store: &ContextStore, key: &str, auth: &StoredAuth) -> Result<bool> {
    let path = config_path(store);
    let mut config = read_config(&path)?;
    if let Some(helper) = helper_for(&config, key) {
        let (user, secret) = if auth.identity_token.is_empty() {
            (auth.username.as_str(), auth.password.as_str())
        } else {
            ("<token>", auth.identity_token.as_str())
        };
        let input = json!({"ServerURL": key, "Username": user, "Secret": secret}).to_string();
        run_helper(&helper, "store", &input)?;
        return Ok(false);
    }
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let mut entry = Map::new();
    if auth.identity_token.is_empty() {
        let raw = format!("{}:{}", auth.username, auth.password);
        entry.insert(
            "auth".into(),
            base64::engine::general_purpose::STANDARD.encode(raw).into(),
        );
    } else {
        let raw = format!("{}:", auth.username);
        entry.insert(
            "auth".into(),
            base64::engine::general_purpose::STANDARD.encode(raw).into(),
        );
        entry.insert("identitytoken".into(), auth.identity_token.clone().into());
    }
    if let Some(a) = auths.as_object_mut() {
        a.insert(key.to_string(), Value::Object(entry));
    }
    write_config(&path, &config)?;
    Ok(true)
}

/// The `X-Registry-Auth` value for a registry: docker's base64url-encoded `AuthConfig`
/// (an empty one when there are no stored credentials).
pub fn registry_auth(store: &ContextStore, domain: &str) -> Result<String> {
    let key = server_key(domain);
    let body = match lookup(store, &key)? {
        Some(a) => json!({
            "username": a.username,
            "password": a.password,
            "identitytoken": a.identity_token,
            "serveraddress": key,
        }),
        None => json!({}),
    };
    Ok(base64::engine::general_purpose::URL_SAFE.encode(body.to_string()))
}

/// POSTs a versioned API request with an `X-Registry-Auth` header; a non-2xx answer
/// becomes [`ClientError::Api`].
pub async fn post_with_auth(
    ctx: &Ctx,
    path_and_query: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> Result<http::Response<Incoming>> {
    let v = ctx.client.api_version().await?;
    let path = format!("/v{v}{path_and_query}");
    let body = body.map(|b| (bytes::Bytes::from(b.to_string()), "application/json"));
    let headers: Vec<(&str, &str)> = auth.map(|a| ("X-Registry-Auth", a)).into_iter().collect();
    let resp = ctx.client.send(Method::POST, &path, body, &headers).await?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let bytes = read_body(resp).await.unwrap_or_default();
    let message = serde_json::from_slice::<ErrorBody>(&bytes)
        .map(|e| e.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_string());
    Err(ClientError::Api {
        status: status.as_u16(),
        message,
    }
    .into())
}

/// `berth login [SERVER]`.
pub async fn login(ctx: &Ctx, store: &ContextStore, opts: &LoginOpts) -> Result<ExitCode> {
    let key = server_key(opts.server.as_deref().unwrap_or(DOCKER_HUB_INDEX));
    if opts.password.is_some() && opts.password_stdin {
        return Err(
            StatusError::new("--password and --password-stdin are mutually exclusive").into(),
        );
    }
    if opts.password_stdin && opts.username.is_none() {
        return Err(StatusError::new("Must provide --username with --password-stdin").into());
    }
    if opts.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let interactive = std::io::stdin().is_terminal();
    let stored = lookup(store, &key)?;
    let mut auth = match (&opts.username, &opts.password, opts.password_stdin, stored) {
        // Stored credentials are tried first when none are given, as docker does.
        (None, None, false, Some(s)) => {
            println!("Authenticating with existing credentials...");
            s
        }
        (user, password, from_stdin, _) => {
            let username = match user {
                Some(u) => u.clone(),
                None if interactive => prompt("Username: ", true)?,
                None => {
                    return Err(StatusError::new(
                        "Error: Cannot perform an interactive login from a non TTY device",
                    )
                    .into())
                }
            };
            let password = match password {
                Some(p) => p.clone(),
                None if from_stdin => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s.trim_end_matches(['\n', '\r']).to_string()
                }
                None if interactive => prompt("Password: ", false)?,
                None => {
                    return Err(StatusError::new(
                        "Error: Cannot perform an interactive login from a non TTY device",
                    )
                    .into())
                }
            };
            if username.trim().is_empty() {
                return Err(StatusError::new("Error: Non-null Username Required").into());
            }
            if password.is_empty() {
                return Err(StatusError::new("Error: Password Required").into());
            }
            StoredAuth {
                username: username.trim().to_string(),
                password,
                identity_token: String::new(),
            }
        }
    };
    let body = json!({
        "username": auth.username,
        "password": auth.password,
        "identitytoken": auth.identity_token,
        "serveraddress": key,
    });
    let resp = post_with_auth(ctx, "/auth", None, Some(&body)).await?;
    let answer: Value = serde_json::from_slice(&read_body(resp).await?).unwrap_or_default();
    if let Some(token) = answer["IdentityToken"].as_str().filter(|t| !t.is_empty()) {
        auth.password.clear();
        auth.identity_token = token.to_string();
    }
    if save(store, &key, &auth)? {
        eprintln!(
            "WARNING! Your password will be stored unencrypted in {}.\n\
             Configure a credential helper (\"credsStore\" in that file) to remove this warning.",
            config_path(store).display()
        );
    }
    println!("Login Succeeded");
    Ok(ExitCode::SUCCESS)
}

/// `berth logout [SERVER]`.
pub fn logout(store: &ContextStore, opts: &LogoutOpts) -> Result<ExitCode> {
    let key = server_key(opts.server.as_deref().unwrap_or(DOCKER_HUB_INDEX));
    let path = config_path(store);
    let mut config = read_config(&path)?;
    let mut found = false;
    if let Some(auths) = config.get_mut("auths").and_then(Value::as_object_mut) {
        let keys: Vec<String> = auths
            .keys()
            .filter(|k| server_key(k) == key)
            .cloned()
            .collect();
        for k in keys {
            auths.remove(&k);
            found = true;
        }
    }
    let helper = helper_for(&config, &key);
    if !found && helper.is_none() {
        println!("Not logged in to {key}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("Removing login credentials for {key}");
    if let Some(h) = helper {
        if let Err(e) = run_helper(&h, "erase", &key) {
            eprintln!("WARNING: could not erase credentials: {e}");
        }
    }
    if found {
        write_config(&path, &config)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal; the answer is not echoed unless `echo`.
fn prompt(label: &str, echo: bool) -> Result<String> {
    use nix::libc;
    let mut out = std::io::stderr();
    write!(out, "{label}")?;
    out.flush()?;
    // SAFETY: termios is plain data filled in by tcgetattr on stdin (a terminal here);
    // the saved settings are restored before returning.
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if echo || libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
            None
        } else {
            let old = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t);
            Some(old)
        }
    };
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    if let Some(old) = saved {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &old) };
        writeln!(out)?;
    }
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_like_docker() {
        assert_eq!(server_key("docker.io"), DOCKER_HUB_INDEX);
        assert_eq!(server_key(DOCKER_HUB_INDEX), DOCKER_HUB_INDEX);
        assert_eq!(server_key("https://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(server_key("Reg.Test:5000"), "reg.test:5000");
    }

    #[test]
    fn stores_and_removes_credentials_keeping_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path().to_path_buf());
        let path = config_path(&store);
        std::fs::write(
            &path,
            r#"{"currentContext":"lab","auths":{"other:1":{"auth":"eDp5"}}}"#,
        )
        .unwrap();
        let auth = StoredAuth {
            username: "u".into(),
            password: "p:w".into(),
            identity_token: String::new(),
        };
        assert!(save(&store, "127.0.0.1:5000", &auth).unwrap());
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["currentContext"], "lab");
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "dTpwOnc=");
        assert_eq!(lookup(&store, "127.0.0.1:5000").unwrap(), Some(auth));
        assert_eq!(
            lookup(&store, "https://other:1").unwrap().unwrap().username,
            "x"
        );
        let header = registry_auth(&store, "127.0.0.1:5000").unwrap();
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(header)
            .unwrap();
        let decoded: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(decoded["username"], "u");
        assert_eq!(decoded["serveraddress"], "127.0.0.1:5000");
        logout(
            &store,
            &LogoutOpts {
                server: Some("127.0.0.1:5000".into()),
            },
        )
        .unwrap();
        assert_eq!(lookup(&store, "127.0.0.1:5000").unwrap(), None);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["currentContext"], "lab");
        assert!(v["auths"]["other:1"].is_object());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
