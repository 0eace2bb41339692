//! `berth import` / `berth image import`: a root filesystem tarball (a file or stdin)
//! becomes a one-layer image. The archive is streamed to the daemon as it is read.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::{body_stream, Query};
use http::Method;

use super::open_error;
use crate::cli::ImportOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::jsonmessage;
use crate::reference::Reference;

pub async fn run(ctx: &Ctx, opts: &ImportOpts) -> Result<ExitCode> {
    let path = import_path(opts)?;
    let input: Box<dyn tokio::io::AsyncRead + Send + Unpin> = if opts.source == "-" {
        Box::new(tokio::io::stdin())
    } else {
        let p = Path::new(&opts.source);
        Box::new(
            tokio::fs::File::open(p)
                .await
                .map_err(|e| open_error(p, &e))?,
        )
    };
    let resp = ctx
        .client
        .request_reader(Method::POST, &path, input, "application/x-tar")
        .await?;
    let stdout_terminal = std::io::stdout().is_terminal();
    jsonmessage::display_stream(
        body_stream(resp),
        std::io::stdout().lock(),
        stdout_terminal,
        |_| {},
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// `POST /images/create?fromSrc=-&repo=…&tag=…&message=…&changes=…` for the options,
/// after checking the reference like docker does.
pub fn import_path(opts: &ImportOpts) -> Result<String, StatusError> {
    if opts.source.starts_with("http://") || opts.source.starts_with("https://") {
        return Err(StatusError::new(format!(
            "importing from a URL is not supported yet: {} (download it, then import the file or pipe it to `berth import -`)",
            opts.source
        )));
    }
    let mut q = Query::new().add("fromSrc", "-");
    if let Some(r) = opts.reference.as_deref().filter(|r| !r.is_empty()) {
        let r = Reference::parse(r).map_err(|e| StatusError::new(e.to_string()))?;
        if r.digest().is_some() {
            return Err(StatusError::new("cannot import digest reference"));
        }
        q = q
            .add("repo", r.familiar_name())
            .add_opt("tag", r.tag().map(str::to_string));
    }
    Ok(q.add_opt("message", opts.message.as_deref())
        .add_all("changes", opts.change.iter().map(String::as_str))
        .add_opt("platform", opts.platform.as_ref().map(|p| p.to_lowercase()))
        .with_path("/images/create"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(source: &str, reference: Option<&str>) -> ImportOpts {
        ImportOpts {
            change: Vec::new(),
            message: None,
            platform: None,
            source: source.to_string(),
            reference: reference.map(str::to_string),
        }
    }

    #[test]
    fn builds_the_create_query() {
        assert_eq!(
            import_path(&opts("bb.tar", None)).unwrap(),
            "/images/create?fromSrc=-"
        );
        assert_eq!(
            import_path(&opts("-", Some("busybox"))).unwrap(),
            "/images/create?fromSrc=-&repo=busybox"
        );
        let mut o = opts("bb.tar", Some("localhost:5000/me/app:v1"));
        o.message = Some("hello import".into());
        o.change = vec!["ENV A=1".into(), r#"CMD ["/bin/sh"]"#.into()];
        o.platform = Some("Linux/AMD64".into());
        assert_eq!(
            import_path(&o).unwrap(),
            "/images/create?fromSrc=-&repo=localhost%3A5000%2Fme%2Fapp&tag=v1&message=hello%20import\
             &changes=ENV%20A%3D1&changes=CMD%20%5B%22%2Fbin%2Fsh%22%5D&platform=linux%2Famd64"
        );
    }

    #[test]
    fn refuses_bad_references_and_urls() {
        assert_eq!(
            import_path(&opts("bb.tar", Some("Foo")))
                .unwrap_err()
                .message,
            "invalid reference format: repository name (library/Foo) must be lowercase"
        );
        let d = format!("foo@sha256:{}", "a".repeat(64));
        assert_eq!(
            import_path(&opts("bb.tar", Some(&d))).unwrap_err().message,
            "cannot import digest reference"
        );
        let e = import_path(&opts("https://example.com/x.tar", None)).unwrap_err();
        assert!(
            e.message
                .starts_with("importing from a URL is not supported yet"),
            "{}",
            e.message
        );
    }
}
