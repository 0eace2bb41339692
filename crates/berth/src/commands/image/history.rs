//! `berth history` / `berth image history`: the layers an image was built from.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::encode_path;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{choose_format, created_since, ellipsis, truncate_id};
use crate::cli::HistoryOpts;
use crate::commands::{print_formatted, Ctx};
use crate::timestamp;

pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
pub const NON_HUMAN_TABLE: &str =
    "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

/// Width docker cuts `CREATED BY` to without `--no-trunc`.
const CREATED_BY_WIDTH: usize = 45;

/// One entry of `GET /images/{name}/history`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HistoryItem {
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Option<Vec<String>>,
    pub size: i64,
    pub comment: String,
}

pub async fn run(ctx: &Ctx, opts: &HistoryOpts) -> Result<ExitCode> {
    let path = format!("/images/{}/history", encode_path(&opts.image));
    let history: Vec<HistoryItem> = ctx.client.get_json(&path).await?;
    let items: Vec<Value> = history
        .iter()
        .map(|h| item(h, opts.human, !opts.no_trunc))
        .collect();
    let default = if opts.human {
        DEFAULT_TABLE
    } else {
        NON_HUMAN_TABLE
    };
    let format = choose_format(opts.format.as_deref(), opts.quiet, default);
    print_formatted(&format, default, HEADERS, &items)?;
    Ok(ExitCode::SUCCESS)
}

/// docker's `historyContext` fields, display-ready.
pub fn item(h: &HistoryItem, human: bool, trunc: bool) -> Value {
    let id = if h.id.is_empty() { "<missing>" } else { &h.id };
    let created_at = timestamp::go_rfc3339(h.created);
    let created_by = h.created_by.replace('\t', " ");
    json!({
        "ID": if trunc { truncate_id(id) } else { id.to_string() },
        "CreatedAt": created_at,
        "CreatedSince": if human { created_since(h.created) } else { created_at.clone() },
        "CreatedBy": if trunc { ellipsis(&created_by, CREATED_BY_WIDTH) } else { created_by },
        "Size": if human {
            berth_format::human_size_with_precision(h.size, 3)
        } else {
            h.size.to_string()
        },
        "Comment": h.comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> HistoryItem {
        serde_json::from_str(
            r#"{"Comment":"Imported from -","Created":1795439718,
                "CreatedBy":"/bin/sh -c #(nop)\tADD file:eb15dbd63394e063b805a3c32ca7bf0266ef6467 in /",
                "Id":"sha256:b5ffeef28e7cd31685d3ebf14be2bb1b633124fafddbfdda2810bc6bb6711c9a",
                "Size":1982256,"Tags":["imp2:latest"]}"#,
        )
        .unwrap()
    }

    #[test]
    fn truncates_like_docker() {
        let it = item(&entry(), true, true);
        assert_eq!(it["ID"], "b5ffeef28e7c");
        assert_eq!(
            it["CreatedBy"],
            "/bin/sh -c #(nop) ADD file:eb15dbd63394e063b…"
        );
        assert_eq!(it["CreatedBy"].as_str().unwrap().chars().count(), 45);
        assert_eq!(it["Size"], "1.98MB");
        assert_eq!(it["Comment"], "Imported from -");
        assert!(it["CreatedSince"].as_str().unwrap().ends_with(" ago"));

        let it = item(&entry(), false, false);
        assert_eq!(
            it["ID"],
            "sha256:b5ffeef28e7cd31685d3ebf14be2bb1b633124fafddbfdda2810bc6bb6711c9a"
        );
        assert_eq!(
            it["CreatedBy"],
            "/bin/sh -c #(nop) ADD file:eb15dbd63394e063b805a3c32ca7bf0266ef6467 in /"
        );
        assert_eq!(it["Size"], "1982256");
        assert_eq!(it["CreatedSince"], it["CreatedAt"]);
    }

    #[test]
    fn missing_layers() {
        let h = HistoryItem {
            created_by: "short".into(),
            ..HistoryItem::default()
        };
        let it = item(&h, true, true);
        assert_eq!(it["ID"], "<missing>");
        assert_eq!(it["CreatedBy"], "short");
        let h = HistoryItem {
            id: "<missing>".into(),
            ..HistoryItem::default()
        };
        assert_eq!(item(&h, true, false)["ID"], "<missing>");
    }

    #[test]
    fn renders_the_table() {
        let mut it = item(&entry(), true, true);
        it["CreatedSince"] = json!("2 minutes ago");
        let mut out = Vec::new();
        let spec = berth_format::FormatSpec::parse(&choose_format(None, false, DEFAULT_TABLE));
        berth_format::render(&spec, DEFAULT_TABLE, HEADERS, &[it], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "IMAGE          CREATED         CREATED BY                                      SIZE      COMMENT\n\
             b5ffeef28e7c   2 minutes ago   /bin/sh -c #(nop) ADD file:eb15dbd63394e063b…   1.98MB    Imported from -\n"
        );
    }
}
