//! `berth image …` and its top-level aliases (`images`, `history`, `tag`, `rmi`, `save`,
//! `load`, `import`): one module per command, helpers they share here.

pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod ls;
pub mod prune;
pub mod pull;
pub mod push;
pub mod rm;
pub mod save;
pub mod tag;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use unicode_width::UnicodeWidthChar;

use super::Ctx;
use crate::cli::ImageCommand;
use crate::context::ContextStore;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, store: &ContextStore, cmd: &ImageCommand) -> Result<ExitCode> {
    match cmd {
        ImageCommand::Ls(o) => ls::run(ctx, o).await,
        ImageCommand::Inspect(o) => inspect::run(ctx, o).await,
        ImageCommand::History(o) => history::run(ctx, o).await,
        ImageCommand::Tag(o) => tag::run(ctx, o).await,
        ImageCommand::Rm(o) => rm::run(ctx, o).await,
        ImageCommand::Prune(o) => prune::run(ctx, o).await,
        ImageCommand::Save(o) => save::run(ctx, o).await,
        ImageCommand::Load(o) => load::run(ctx, o).await,
        ImageCommand::Import(o) => import::run(ctx, o).await,
        ImageCommand::Pull(o) => pull::run(ctx, store, o).await,
        ImageCommand::Push(o) => push::run(ctx, store, o).await,
    }
}

/// docker's `stringid.TruncateID`: drop the algorithm, keep 12 characters.
pub fn truncate_id(id: &str) -> String {
    let id = id.split_once(':').map_or(id, |(_, hex)| hex);
    id.chars().take(12).collect()
}

/// docker's `formatter.Ellipsis`: at most `max` display columns, the last one `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let width: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if width <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// "2 hours ago", from a Unix time.
pub fn created_since(created: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let age = (now - created as f64).max(0.0);
    format!(
        "{} ago",
        berth_format::human_duration(Duration::from_secs_f64(age))
    )
}

/// The `--format` to render with, docker's way: no value or `table` means the default
/// table (`{{.ID}}` lines with `-q`); anything else is used as given.
pub fn choose_format(format: Option<&str>, quiet: bool, default_table: &str) -> String {
    match format.unwrap_or("") {
        "" | "table" if quiet => "{{.ID}}".to_string(),
        "" | "table" => default_table.to_string(),
        f => f.to_string(),
    }
}

/// Go's `os.Open` error wording: `open FILE: no such file or directory`.
pub fn open_error(path: &Path, e: &std::io::Error) -> StatusError {
    StatusError::new(format!("open {}: {}", path.display(), go_errno_text(e)))
}

/// The C library's text for an I/O error, lower-cased like Go's (`permission denied`).
pub fn go_errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let text = nix::errno::Errno::from_raw(code).desc();
            let mut c = text.chars();
            match c.next() {
                Some(first) => first.to_lowercase().chain(c).collect(),
                None => String::new(),
            }
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_ids_like_docker() {
        assert_eq!(
            truncate_id("sha256:26e1e9a0e45b8d4597d71f42ddf981a600f6080cb80ce7ffec4537c62028aa64"),
            "26e1e9a0e45b"
        );
        assert_eq!(truncate_id("26e1e9a0e45b8d45"), "26e1e9a0e45b");
        assert_eq!(truncate_id("<missing>"), "<missing>");
        assert_eq!(truncate_id(""), "");
    }

    #[test]
    fn ellipsis_counts_columns() {
        assert_eq!(ellipsis("short", 45), "short");
        assert_eq!(ellipsis(&"a".repeat(45), 45), "a".repeat(45));
        assert_eq!(
            ellipsis(&"a".repeat(46), 45),
            format!("{}…", "a".repeat(44))
        );
        assert_eq!(ellipsis("日本語です", 6), "日本…");
        assert_eq!(ellipsis("abc", 0), "");
    }

    #[test]
    fn chooses_formats() {
        assert_eq!(choose_format(None, false, "table X"), "table X");
        assert_eq!(choose_format(Some("table"), true, "table X"), "{{.ID}}");
        assert_eq!(choose_format(Some(""), true, "table X"), "{{.ID}}");
        assert_eq!(choose_format(Some("{{.Tag}}"), true, "table X"), "{{.Tag}}");
        assert_eq!(choose_format(Some("json"), false, "table X"), "json");
    }

    #[test]
    fn go_style_errors() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            open_error(Path::new("nosuch.tar"), &e).message,
            "open nosuch.tar: no such file or directory"
        );
        assert!(created_since(0).ends_with(" ago"));
        assert_eq!(created_since(i64::MAX / 4), "Less than a second ago");
    }
}
