//! `berth save` / `berth image save`: images as a tar archive, streamed to a file or
//! stdout as it arrives (never held in memory).

use std::io::{IsTerminal, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use berth_client::{body_stream, ClientError, Query};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::go_errno_text;
use crate::cli::SaveOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, opts: &SaveOpts) -> Result<ExitCode> {
    if opts.output.is_none() && std::io::stdout().is_terminal() {
        return Err(StatusError::new(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        )
        .into());
    }
    if let Some(p) = &opts.output {
        validate_output_path(p)
            .map_err(|e| StatusError::new(format!("failed to save image: {e}")))?;
    }
    let path = Query::new()
        .add_all("names", opts.images.iter().map(String::as_str))
        .with_path("/images/get");
    let resp = ctx.client.request(http::Method::GET, &path, None).await?;
    let body = body_stream(resp);
    match &opts.output {
        None => {
            copy(body, &mut std::io::stdout().lock()).await?;
        }
        Some(p) => copy_to_file(p, body).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every chunk of `body` to `out` as it arrives.
pub async fn copy<S, W>(mut body: S, out: &mut W) -> Result<u64>
where
    S: Stream<Item = Result<Bytes, ClientError>> + Unpin,
    W: Write + ?Sized,
{
    let mut n = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        out.write_all(&chunk)?;
        n += chunk.len() as u64;
    }
    out.flush()?;
    Ok(n)
}

/// docker's `CopyToFile`: write to a temporary file beside `path`, then rename it into
/// place, so a failed save leaves no half-written archive.
pub async fn copy_to_file<S>(path: &Path, body: S) -> Result<()>
where
    S: Stream<Item = Result<Bytes, ClientError>> + Unpin,
{
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".berth_temp_")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    copy(body, tmp.as_file_mut()).await?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// docker's `ValidateOutputPath`: the directory must exist, and the path, if it exists,
/// must be a regular file.
pub fn validate_output_path(path: &Path) -> Result<(), String> {
    let dir = parent_dir(path);
    if dir != Path::new(".") {
        if let Err(e) = std::fs::metadata(&dir) {
            if e.kind() == std::io::ErrorKind::NotFound {
                return Err(format!(
                    "invalid output path: stat {}: {}",
                    dir.display(),
                    go_errno_text(&e)
                ));
            }
        }
    }
    let Ok(md) = std::fs::metadata(path) else {
        return Ok(());
    };
    let ft = md.file_type();
    let what = if ft.is_file() {
        return Ok(());
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_char_device() {
        "a character device file"
    } else if ft.is_block_device() {
        "a block device file"
    } else if ft.is_fifo() {
        "a named pipe"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "an irregular file"
    };
    Err(format!("cannot write to {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, ClientError>> + Unpin {
        futures_util::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn validates_output_paths_like_docker() {
        let dir = tempfile::tempdir().unwrap();
        assert!(validate_output_path(&dir.path().join("new.tar")).is_ok());
        std::fs::write(dir.path().join("old.tar"), b"x").unwrap();
        assert!(validate_output_path(&dir.path().join("old.tar")).is_ok());
        assert_eq!(
            validate_output_path(dir.path()).unwrap_err(),
            "cannot write to a directory"
        );
        assert_eq!(
            validate_output_path(Path::new("/dev/null")).unwrap_err(),
            "cannot write to a character device file"
        );
        assert_eq!(
            validate_output_path(Path::new("/nonexistent-berth/x.tar")).unwrap_err(),
            "invalid output path: stat /nonexistent-berth: no such file or directory"
        );
        assert!(validate_output_path(Path::new("relative.tar")).is_ok());
    }

    #[tokio::test]
    async fn writes_through_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("img.tar");
        std::fs::write(&out, b"old").unwrap();
        copy_to_file(&out, chunks(&[b"ab", b"cd"])).await.unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"abcd");
        let broken = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"partial")),
            Err(ClientError::Transport("reset".into())),
        ]);
        assert!(copy_to_file(&out, broken).await.is_err());
        assert_eq!(std::fs::read(&out).unwrap(), b"abcd");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("img.tar")]);
        let mut v = Vec::new();
        assert_eq!(copy(chunks(&[b"x", b"yz"]), &mut v).await.unwrap(), 3);
        assert_eq!(v, b"xyz");
    }
}
