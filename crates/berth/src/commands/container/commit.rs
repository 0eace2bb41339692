//! `berth commit`: `POST /commit?container=…&repo=…&tag=…` and print the new image's ID.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use serde_json::Value;

use crate::cli::CommitOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::reference::Reference;

pub fn commit_path(o: &CommitOpts) -> Result<String, StatusError> {
    let (repo, tag) = match &o.reference {
        Some(r) => {
            let parsed = Reference::parse(r).map_err(|e| StatusError::new(e.to_string()))?;
            if parsed.digest().is_some() {
                return Err(StatusError::new(
                    "refusing to create a tag with a digest reference",
                ));
            }
            (
                Some(parsed.familiar_name()),
                parsed.tag().map(str::to_string),
            )
        }
        None => (None, None),
    };
    Ok(Query::new()
        .add("container", o.container.clone())
        .add_opt("repo", repo)
        .add_opt("tag", tag)
        .add_opt("comment", o.message.clone())
        .add_opt("author", o.author.clone())
        .add_all("changes", o.change.iter().cloned())
        .add_if(!o.pause, "pause", "0")
        .with_path("/commit"))
}

pub async fn run(ctx: &Ctx, o: &CommitOpts) -> Result<ExitCode> {
    let path = commit_path(o)?;
    let v: Value = ctx.client.post_json(&path, None).await?;
    println!("{}", v["Id"].as_str().unwrap_or(""));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_query() {
        let o = CommitOpts {
            author: Some("me".into()),
            change: vec!["ENV A=1".into(), "CMD x".into()],
            message: Some("msg".into()),
            pause: false,
            container: "web".into(),
            reference: Some("repo/app:v1".into()),
        };
        assert_eq!(
            commit_path(&o).unwrap(),
            "/commit?container=web&repo=repo%2Fapp&tag=v1&comment=msg&author=me&changes=ENV%20A%3D1&changes=CMD%20x&pause=0"
        );
        let o = CommitOpts {
            reference: None,
            pause: true,
            author: None,
            message: None,
            change: vec![],
            container: "c".into(),
        };
        assert_eq!(commit_path(&o).unwrap(), "/commit?container=c");
    }
}
