//! `berth tag` / `berth image tag`: give an image another name.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{encode_path, Query};

use crate::cli::TagOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::reference::{check_any_reference, Reference};

pub async fn run(ctx: &Ctx, opts: &TagOpts) -> Result<ExitCode> {
    let path = tag_path(&opts.source, &opts.target)?;
    ctx.client.post(&path).await?;
    Ok(ExitCode::SUCCESS)
}

/// `POST /images/{source}/tag?repo=…&tag=…`, after docker's client-side checks: SOURCE is
/// any reference (name, ID or digest), TARGET a name with an optional tag (`latest` when
/// none), never a digest.
pub fn tag_path(source: &str, target: &str) -> Result<String, StatusError> {
    let invalid = |s: &str, e: &dyn std::fmt::Display| {
        StatusError::new(format!(
            "Error parsing reference: {s:?} is not a valid repository/tag: {e}"
        ))
    };
    check_any_reference(source).map_err(|e| invalid(source, &e))?;
    let target_ref = Reference::parse(target).map_err(|e| invalid(target, &e))?;
    let (repo, tag) = split_target(&target_ref)?;
    Ok(Query::new()
        .add("repo", repo)
        .add("tag", tag)
        .with_path(&format!("/images/{}/tag", encode_path(source))))
}

/// TARGET's repository (as docker names it: `busybox`, `me/app`, `host:5000/x`) and tag.
pub fn split_target(r: &Reference) -> Result<(String, String), StatusError> {
    if r.digest().is_some() {
        return Err(StatusError::new(
            "refusing to create a tag with a digest reference",
        ));
    }
    Ok((r.familiar_name(), r.tag().unwrap_or("latest").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_targets() {
        assert_eq!(
            tag_path("busybox", "t2:v2").unwrap(),
            "/images/busybox/tag?repo=t2&tag=v2"
        );
        assert_eq!(
            tag_path("busybox:latest", "docker.io/library/t1").unwrap(),
            "/images/busybox:latest/tag?repo=t1&tag=latest"
        );
        assert_eq!(
            tag_path("26e1e9a0e45b", "localhost:5000/x/y").unwrap(),
            "/images/26e1e9a0e45b/tag?repo=localhost%3A5000%2Fx%2Fy&tag=latest"
        );
        assert_eq!(
            tag_path("me/app@sha256:1111111111111111111111111111111111111111111111111111111111111111", "me/app:v1")
                .unwrap(),
            "/images/me/app@sha256:1111111111111111111111111111111111111111111111111111111111111111/tag?repo=me%2Fapp&tag=v1"
        );
    }

    #[test]
    fn rejects_like_docker() {
        assert_eq!(
            tag_path("busybox", "Foo").unwrap_err().message,
            "Error parsing reference: \"Foo\" is not a valid repository/tag: invalid reference format: repository name (library/Foo) must be lowercase"
        );
        assert_eq!(
            tag_path("busy box", "foo").unwrap_err().message,
            "Error parsing reference: \"busy box\" is not a valid repository/tag: invalid reference format"
        );
        assert_eq!(
            tag_path("busybox", "foo:-bad").unwrap_err().message,
            "Error parsing reference: \"foo:-bad\" is not a valid repository/tag: invalid reference format"
        );
        let d = format!("foo@sha256:{}", "a".repeat(64));
        assert_eq!(
            tag_path("busybox", &d).unwrap_err().message,
            "refusing to create a tag with a digest reference"
        );
        let hex = "a".repeat(64);
        assert_eq!(
            tag_path("busybox", &hex).unwrap_err().message,
            format!("Error parsing reference: \"{hex}\" is not a valid repository/tag: invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings")
        );
    }
}
