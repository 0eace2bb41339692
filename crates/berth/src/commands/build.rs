//! `berth build`: a context directory tarred here (minus what `.dockerignore` excludes),
//! sent to `POST /build`, the daemon's step output printed as it arrives.
//!
//! Like the docker CLI: the Dockerfile and `.dockerignore` are always sent; a Dockerfile
//! outside the context (`-f ../x`) or from stdin (`-f -`) travels in the tar under a
//! generated name; file owners become root (0:0) in the tar.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Seek};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use berth_client::{body_stream, Query};
use berth_dockerfile::dockerignore::Matcher;
use http::Method;

use crate::cli::BuildOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::jsonmessage;

pub async fn run(ctx: &Ctx, opts: &BuildOpts) -> Result<ExitCode> {
    let dir = Path::new(&opts.context);
    if !dir.is_dir() {
        return Err(StatusError::new(format!(
            "unable to prepare context: path {:?} not found",
            opts.context
        ))
        .into());
    }
    // The Dockerfile: inside the context (sent as is), else added under its own name.
    let (dockerfile_name, extra) = match opts.file.as_deref() {
        None => ("Dockerfile".to_string(), None),
        Some("-") => {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut text)?;
            (generated_name(), Some(text))
        }
        Some(f) => {
            let p = Path::new(f);
            let abs = std::fs::canonicalize(p)
                .with_context(|| format!("unable to prepare context: {f}"))?;
            let ctx_abs = std::fs::canonicalize(dir)?;
            match abs.strip_prefix(&ctx_abs) {
                Ok(rel) => (rel.to_string_lossy().into_owned(), None),
                Err(_) => (generated_name(), Some(std::fs::read(&abs)?)),
            }
        }
    };
    let ignore_text = std::fs::read_to_string(dir.join(".dockerignore")).unwrap_or_default();
    let mut patterns = berth_dockerfile::dockerignore::read(&ignore_text);
    if !patterns.is_empty() {
        patterns.push(format!("!{dockerfile_name}"));
        patterns.push("!.dockerignore".into());
    }
    let matcher = Matcher::new(&patterns).map_err(|e| StatusError::new(e.to_string()))?;

    let dir_owned = dir.to_path_buf();
    let df_name = dockerfile_name.clone();
    let file = tokio::task::spawn_blocking(move || {
        tar_context(&dir_owned, &matcher, extra.map(|t| (df_name, t)))
    })
    .await??;

    let mut build_args = BTreeMap::new();
    for a in &opts.build_arg {
        match a.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), Some(v.to_string())),
            None => build_args.insert(a.clone(), std::env::var(a).ok()),
        };
    }
    let mut labels = BTreeMap::new();
    for l in &opts.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let path = Query::new()
        .add_all("t", opts.tag.iter().cloned())
        .add("dockerfile", dockerfile_name)
        .add_if(
            !build_args.is_empty(),
            "buildargs",
            serde_json::to_string(&build_args)?,
        )
        .add_if(
            !labels.is_empty(),
            "labels",
            serde_json::to_string(&labels)?,
        )
        .add_opt("target", opts.target.clone())
        .add_if(opts.no_cache, "nocache", "1")
        .add_if(opts.pull, "pull", "1")
        .add_if(opts.quiet, "q", "1")
        .add("rm", if opts.rm { "1" } else { "0" })
        .add_if(opts.force_rm, "forcerm", "1")
        .add_opt("networkmode", opts.network.clone())
        .add_opt("platform", opts.platform.clone())
        .with_path("/build");
    let file = tokio::fs::File::from_std(file);
    let resp = ctx
        .client
        .request_reader(Method::POST, &path, file, "application/x-tar")
        .await?;
    let terminal = std::io::stdout().is_terminal() && opts.progress != "plain";
    jsonmessage::display_stream(
        body_stream(resp),
        std::io::stdout().lock(),
        terminal,
        |_| {},
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// A name for a Dockerfile that is not in the context (the docker CLI's pattern).
fn generated_name() -> String {
    format!(".dockerfile.{:016x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ ((std::process::id() as u64) << 32)
}

/// The context as a tar in a temp file (entries sorted, owners 0:0).
fn tar_context(
    dir: &Path,
    matcher: &Matcher,
    extra: Option<(String, Vec<u8>)>,
) -> Result<std::fs::File> {
    let file = tempfile::tempfile()?;
    let mut b = tar::Builder::new(file);
    b.follow_symlinks(false);
    walk(dir, "", matcher, &mut b)?;
    if let Some((name, text)) = extra {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(text.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &text[..])?;
    }
    let mut file = b.into_inner()?;
    file.rewind()?;
    Ok(file)
}

fn walk(
    base: &Path,
    rel: &str,
    matcher: &Matcher,
    b: &mut tar::Builder<std::fs::File>,
) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(base.join(rel))
        .with_context(|| format!("unable to read {}", base.join(rel).display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let p = if rel.is_empty() {
            n
        } else {
            format!("{rel}/{n}")
        };
        let full = base.join(&p);
        let meta = std::fs::symlink_metadata(&full)?;
        let excluded = matcher.excludes(&p);
        if meta.is_dir() {
            if excluded && !matcher.has_exceptions() {
                continue;
            }
            if !excluded {
                append(b, &full, &p, &meta)?;
            }
            walk(base, &p, matcher, b)?;
        } else if !excluded {
            append(b, &full, &p, &meta)?;
        }
    }
    Ok(())
}

fn append(
    b: &mut tar::Builder<std::fs::File>,
    full: &Path,
    name: &str,
    meta: &std::fs::Metadata,
) -> Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    h.set_uid(0);
    h.set_gid(0);
    let _ = h.set_username("");
    let _ = h.set_groupname("");
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(full)?;
        h.set_size(0);
        b.append_link(&mut h, name, target)?;
    } else if ft.is_dir() {
        h.set_size(0);
        b.append_data(&mut h, format!("{name}/"), std::io::empty())?;
    } else if ft.is_file() {
        let f = std::fs::File::open(full)
            .with_context(|| format!("unable to read {}", full.display()))?;
        b.append_data(&mut h, name, f)?;
    }
    // Sockets, devices and FIFOs are not sent (as with docker).
    Ok(())
}
