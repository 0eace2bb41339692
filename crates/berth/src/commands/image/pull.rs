//! `berth pull` / `berth image pull`: asks the daemon to pull, sending the stored
//! credentials for the image's registry, and shows the daemon's progress.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::{body_stream, Query};

use crate::cli::PullOpts;
use crate::commands::login::{post_with_auth, registry_auth};
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;
use crate::jsonmessage;
use crate::reference::Reference;

pub async fn run(ctx: &Ctx, store: &ContextStore, opts: &PullOpts) -> Result<ExitCode> {
    let (path, shown) = pull_path(opts)?;
    if !opts.all_tags && !opts.name.contains([':', '@']) {
        println!("Using default tag: latest");
    }
    let r = Reference::parse(&opts.name).map_err(|e| StatusError::new(e.to_string()))?;
    let auth = registry_auth(store, r.domain())?;
    let resp = post_with_auth(ctx, &path, Some(&auth), None).await?;
    show_progress(resp, opts.quiet).await?;
    println!("{shown}");
    Ok(ExitCode::SUCCESS)
}

/// Displays a pull or push stream (errors end it even when quiet).
pub async fn show_progress(resp: http::Response<hyper::body::Incoming>, quiet: bool) -> Result<()> {
    let body = body_stream(resp);
    if quiet {
        jsonmessage::display_stream(body, std::io::sink(), false, |_| {}).await
    } else {
        let terminal = std::io::stdout().is_terminal();
        jsonmessage::display_stream(body, std::io::stdout().lock(), terminal, |_| {}).await
    }
}

/// `POST /images/create?fromImage=NAME&tag=TAG|DIGEST[&platform=…]` and the full reference
/// docker prints when done.
fn pull_path(opts: &PullOpts) -> Result<(String, String), StatusError> {
    let r = Reference::parse(&opts.name).map_err(|e| StatusError::new(e.to_string()))?;
    if opts.all_tags && (r.tag().is_some() || r.digest().is_some()) {
        return Err(StatusError::new("tag can't be used with --all-tags/-a"));
    }
    let (r, tag) = if opts.all_tags {
        (r, None)
    } else {
        let r = r.with_default_tag();
        let tag = r.digest().or(r.tag()).map(str::to_string);
        (r, tag)
    };
    let path = Query::new()
        .add("fromImage", r.familiar_name())
        .add_opt("tag", tag)
        .add_opt("platform", opts.platform.as_ref().map(|p| p.to_lowercase()))
        .with_path("/images/create");
    let shown = if opts.all_tags {
        r.name()
    } else {
        r.to_string()
    };
    Ok((path, shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(name: &str, all_tags: bool) -> PullOpts {
        PullOpts {
            all_tags,
            quiet: false,
            platform: None,
            name: name.to_string(),
        }
    }

    #[test]
    fn builds_the_pull_query() {
        let (p, shown) = pull_path(&opts("busybox", false)).unwrap();
        assert_eq!(p, "/images/create?fromImage=busybox&tag=latest");
        assert_eq!(shown, "docker.io/library/busybox:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let (p, shown) = pull_path(&opts(&format!("127.0.0.1:5000/x@{d}"), false)).unwrap();
        assert_eq!(
            p,
            format!(
                "/images/create?fromImage=127.0.0.1%3A5000%2Fx&tag=sha256%3A{}",
                "a".repeat(64)
            )
        );
        assert_eq!(shown, format!("127.0.0.1:5000/x@{d}"));
        let (p, shown) = pull_path(&opts("127.0.0.1:5000/x", true)).unwrap();
        assert_eq!(p, "/images/create?fromImage=127.0.0.1%3A5000%2Fx");
        assert_eq!(shown, "127.0.0.1:5000/x");
        let e = pull_path(&opts("x:1", true)).unwrap_err();
        assert_eq!(e.message, "tag can't be used with --all-tags/-a");
    }
}
