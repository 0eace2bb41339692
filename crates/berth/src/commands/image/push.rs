//! `berth push` / `berth image push`: asks the daemon to push, sending the stored
//! credentials for the image's registry, and shows the daemon's progress.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{encode_path, Query};

use super::pull::show_progress;
use crate::cli::PushOpts;
use crate::commands::login::{post_with_auth, registry_auth};
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;
use crate::reference::Reference;

pub async fn run(ctx: &Ctx, store: &ContextStore, opts: &PushOpts) -> Result<ExitCode> {
    let (path, shown) = push_path(opts)?;
    if !opts.all_tags && !opts.name.contains([':', '@']) {
        println!("Using default tag: latest");
    }
    let r = Reference::parse(&opts.name).map_err(|e| StatusError::new(e.to_string()))?;
    let auth = registry_auth(store, r.domain())?;
    let resp = post_with_auth(ctx, &path, Some(&auth), None).await?;
    show_progress(resp, opts.quiet).await?;
    if opts.quiet {
        println!("{shown}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `POST /images/NAME/push?tag=TAG` (no tag with `-a`) and the reference pushed.
fn push_path(opts: &PushOpts) -> Result<(String, String), StatusError> {
    let r = Reference::parse(&opts.name).map_err(|e| StatusError::new(e.to_string()))?;
    if r.digest().is_some() {
        return Err(StatusError::new(format!(
            "cannot push a digest reference: {}",
            opts.name
        )));
    }
    if opts.all_tags && r.tag().is_some() {
        return Err(StatusError::new("tag can't be used with --all-tags/-a"));
    }
    let r = if opts.all_tags {
        r
    } else {
        r.with_default_tag()
    };
    let path = Query::new()
        .add_opt("tag", r.tag().map(str::to_string))
        .with_path(&format!("/images/{}/push", encode_path(&r.familiar_name())));
    Ok((path, r.familiar_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_push_query() {
        let o = |name: &str, all_tags| PushOpts {
            all_tags,
            quiet: false,
            name: name.to_string(),
        };
        assert_eq!(
            push_path(&o("127.0.0.1:5000/test/bb:1", false)).unwrap(),
            (
                "/images/127.0.0.1:5000/test/bb/push?tag=1".to_string(),
                "127.0.0.1:5000/test/bb:1".to_string()
            )
        );
        assert_eq!(
            push_path(&o("busybox", false)).unwrap().0,
            "/images/busybox/push?tag=latest"
        );
        assert_eq!(
            push_path(&o("127.0.0.1:5000/test/bb", true)).unwrap().0,
            "/images/127.0.0.1:5000/test/bb/push"
        );
        assert!(push_path(&o("x:1", true)).is_err());
    }
}
