//! `berth images` / `berth image ls`: list images, one row per repository tag.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{choose_format, created_since, truncate_id};
use crate::cli::ImagesOpts;
use crate::commands::{print_formatted, Ctx};
use crate::filters::Filters;
use crate::reference::Reference;
use crate::timestamp;

pub const DEFAULT_TABLE: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
pub const DIGEST_TABLE: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("VirtualSize", "VIRTUAL SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
];

/// The fields of the API's `ImageSummary` the listing shows; lenient about what a daemon
/// leaves out (`null` tags, no `VirtualSize` after API 1.43, ...).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageSummary {
    pub id: String,
    pub repo_tags: Option<Vec<String>>,
    pub repo_digests: Option<Vec<String>>,
    pub created: i64,
    pub size: i64,
    pub shared_size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub containers: Option<i64>,
}

/// One table row: an image under one repository (and tag, and digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub repository: String,
    pub tag: String,
    pub digest: String,
    /// Index of the image in the list the rows were built from.
    pub image: usize,
}

pub async fn run(ctx: &Ctx, opts: &ImagesOpts) -> Result<ExitCode> {
    let mut filters = Filters::parse(&opts.filter)?;
    if let Some(r) = &opts.reference {
        filters.add("reference", r);
    }
    let path = Query::new()
        .add_if(opts.all, "all", "1")
        .add_if(!filters.is_empty(), "filters", filters.to_json())
        .add("digests", "1")
        .with_path("/images/json");
    let mut images: Vec<ImageSummary> = ctx.client.get_json(&path).await?;
    sort_images(&mut images);
    let rows = build_rows(&images, opts.digests);
    let items: Vec<Value> = rows
        .iter()
        .map(|r| item(r, &images[r.image], !opts.no_trunc))
        .collect();
    let format = images_format(opts.format.as_deref(), opts.quiet, opts.digests);
    print_formatted(&format, DEFAULT_TABLE, HEADERS, &items)?;
    Ok(ExitCode::SUCCESS)
}

/// Newest first, as dockerd lists them; images created the same second keep the daemon's
/// order.
pub fn sort_images(images: &mut [ImageSummary]) {
    images.sort_by_key(|i| std::cmp::Reverse(i.created));
}

/// docker's `NewImageFormat`: the default table (with a DIGEST column for `--digests`),
/// `{{.ID}}` for `-q`, else the user's format, a table one getting the digest column too.
pub fn images_format(format: Option<&str>, quiet: bool, digests: bool) -> String {
    let default = if digests { DIGEST_TABLE } else { DEFAULT_TABLE };
    let f = choose_format(format, quiet, default);
    if digests && f.starts_with("table") && !f.contains("{{.Digest}}") {
        format!("{f}\t{{{{.Digest}}}}")
    } else {
        f
    }
}

/// Whether docker counts the image as dangling: no names at all (or the old daemons'
/// `<none>:<none>` / `<none>@<none>` placeholders).
fn is_dangling(img: &ImageSummary) -> bool {
    let tags = img.repo_tags.as_deref().unwrap_or_default();
    let digests = img.repo_digests.as_deref().unwrap_or_default();
    (tags.is_empty() && digests.is_empty())
        || (tags == ["<none>:<none>"] && digests == ["<none>@<none>"])
}

/// docker's `imageFormat`: a `<none>` row for a dangling image; otherwise one row per tag
/// of each repository (times each digest of that repository with `--digests`), then rows
/// for repositories known only by digest. Repositories keep the order the daemon names
/// them in.
pub fn build_rows(images: &[ImageSummary], show_digests: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, img) in images.iter().enumerate() {
        let row = |repository: &str, tag: &str, digest: &str| Row {
            repository: repository.to_string(),
            tag: tag.to_string(),
            digest: digest.to_string(),
            image: i,
        };
        if is_dangling(img) {
            rows.push(row("<none>", "<none>", "<none>"));
            continue;
        }
        let mut repo_tags: Vec<(String, Vec<String>)> = Vec::new();
        for r in img.repo_tags.iter().flatten() {
            let Ok(r) = Reference::parse(r) else {
                continue;
            };
            if let (Some(tag), None) = (r.tag().map(str::to_string), r.digest()) {
                push_grouped(&mut repo_tags, r.familiar_name(), tag);
            }
        }
        let mut repo_digests: Vec<(String, Vec<String>)> = Vec::new();
        for r in img.repo_digests.iter().flatten() {
            let Ok(r) = Reference::parse(r) else {
                continue;
            };
            if let Some(d) = r.digest().map(str::to_string) {
                push_grouped(&mut repo_digests, r.familiar_name(), d);
            }
        }
        for (repo, tags) in &repo_tags {
            let digests = match repo_digests.iter().position(|(r, _)| r == repo) {
                Some(p) => repo_digests.remove(p).1,
                None => Vec::new(),
            };
            for tag in tags {
                if !show_digests || digests.is_empty() {
                    rows.push(row(repo, tag, "<none>"));
                } else {
                    for d in &digests {
                        rows.push(row(repo, tag, d));
                    }
                }
            }
        }
        for (repo, digests) in &repo_digests {
            if show_digests {
                for d in digests {
                    rows.push(row(repo, "<none>", d));
                }
            } else {
                rows.push(row(repo, "<none>", ""));
            }
        }
    }
    rows
}

fn push_grouped(groups: &mut Vec<(String, Vec<String>)>, key: String, value: String) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, values)) => values.push(value),
        None => groups.push((key, vec![value])),
    }
}

/// The row as the template sees it: docker's `imageContext` fields, display-ready.
pub fn item(row: &Row, img: &ImageSummary, trunc: bool) -> Value {
    let size = |n: i64| berth_format::human_size_with_precision(n, 3);
    let shared = img.shared_size.unwrap_or(-1);
    json!({
        "ID": if trunc { truncate_id(&img.id) } else { img.id.clone() },
        "Repository": row.repository,
        "Tag": row.tag,
        "Digest": row.digest,
        "CreatedSince": created_since(img.created),
        "CreatedAt": timestamp::go_time_string(img.created),
        "Size": size(img.size),
        "Containers": match img.containers {
            None | Some(-1) => "N/A".to_string(),
            Some(n) => n.to_string(),
        },
        "VirtualSize": berth_format::human_size(img.virtual_size.unwrap_or(img.size)),
        "SharedSize": if shared == -1 { "N/A".to_string() } else { size(shared) },
        "UniqueSize": if shared == -1 || img.size == -1 {
            "N/A".to_string()
        } else {
            size(img.size - shared)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID1: &str = "sha256:26e1e9a0e45b8d4597d71f42ddf981a600f6080cb80ce7ffec4537c62028aa64";
    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn img(id: &str, created: i64, tags: &[&str], digests: &[&str]) -> ImageSummary {
        ImageSummary {
            id: id.to_string(),
            repo_tags: Some(tags.iter().map(|s| s.to_string()).collect()),
            repo_digests: Some(digests.iter().map(|s| s.to_string()).collect()),
            created,
            size: 1_982_256,
            shared_size: Some(-1),
            virtual_size: Some(1_982_256),
            containers: Some(-1),
        }
    }

    fn triples(rows: &[Row]) -> Vec<(String, String, String, usize)> {
        rows.iter()
            .map(|r| {
                (
                    r.repository.clone(),
                    r.tag.clone(),
                    r.digest.clone(),
                    r.image,
                )
            })
            .collect()
    }

    fn t(r: &str, tag: &str, d: &str, i: usize) -> (String, String, String, usize) {
        (r.into(), tag.into(), d.into(), i)
    }

    #[test]
    fn one_row_per_tag_and_none_for_dangling() {
        let images = vec![
            img(
                ID1,
                10,
                &["busybox:latest", "example.com/foo/bar:v1", "busybox:1.36"],
                &[],
            ),
            img("sha256:ac8e", 9, &[], &[]),
            ImageSummary {
                id: "sha256:old".into(),
                repo_tags: Some(vec!["<none>:<none>".into()]),
                repo_digests: Some(vec!["<none>@<none>".into()]),
                ..ImageSummary::default()
            },
            ImageSummary {
                id: "sha256:null".into(),
                ..ImageSummary::default()
            },
        ];
        assert_eq!(
            triples(&build_rows(&images, false)),
            vec![
                t("busybox", "latest", "<none>", 0),
                t("busybox", "1.36", "<none>", 0),
                t("example.com/foo/bar", "v1", "<none>", 0),
                t("<none>", "<none>", "<none>", 1),
                t("<none>", "<none>", "<none>", 2),
                t("<none>", "<none>", "<none>", 3),
            ]
        );
    }

    #[test]
    fn digest_rows_like_docker() {
        let images = vec![img(
            ID1,
            10,
            &["docker.io/library/busybox:latest", "me/app:v1", "me/app:v2"],
            &[
                &format!("busybox@{D1}"),
                &format!("me/app@{D1}"),
                &format!("me/app@{D2}"),
                &format!("other/only@{D2}"),
            ],
        )];
        assert_eq!(
            triples(&build_rows(&images, false)),
            vec![
                t("busybox", "latest", "<none>", 0),
                t("me/app", "v1", "<none>", 0),
                t("me/app", "v2", "<none>", 0),
                t("other/only", "<none>", "", 0),
            ]
        );
        assert_eq!(
            triples(&build_rows(&images, true)),
            vec![
                t("busybox", "latest", D1, 0),
                t("me/app", "v1", D1, 0),
                t("me/app", "v1", D2, 0),
                t("me/app", "v2", D1, 0),
                t("me/app", "v2", D2, 0),
                t("other/only", "<none>", D2, 0),
            ]
        );
        // Digests only: not dangling.
        let images = vec![img(ID1, 1, &[], &[&format!("busybox@{D1}")])];
        assert_eq!(
            triples(&build_rows(&images, true)),
            vec![t("busybox", "<none>", D1, 0)]
        );
    }

    #[test]
    fn items_truncate_ids_and_word_sizes() {
        let images = vec![img(ID1, 0, &["busybox:latest"], &[])];
        let rows = build_rows(&images, false);
        let it = item(&rows[0], &images[0], true);
        assert_eq!(it["ID"], "26e1e9a0e45b");
        assert_eq!(it["Size"], "1.98MB");
        assert_eq!(it["VirtualSize"], "1.982MB");
        assert_eq!(it["Containers"], "N/A");
        assert_eq!(it["SharedSize"], "N/A");
        assert_eq!(it["UniqueSize"], "N/A");
        assert!(it["CreatedSince"].as_str().unwrap().ends_with(" ago"));
        let it = item(&rows[0], &images[0], false);
        assert_eq!(it["ID"], ID1);
        let mut shared = images[0].clone();
        shared.shared_size = Some(1_000_000);
        shared.containers = Some(2);
        shared.virtual_size = None;
        let it = item(&rows[0], &shared, true);
        assert_eq!(it["SharedSize"], "1MB");
        assert_eq!(it["UniqueSize"], "982kB");
        assert_eq!(it["Containers"], "2");
        assert_eq!(it["VirtualSize"], "1.982MB");
    }

    #[test]
    fn sorts_newest_first_keeping_ties() {
        let mut images = vec![
            img("a", 1, &["a:1"], &[]),
            img("b", 3, &["b:1"], &[]),
            img("c", 1, &["c:1"], &[]),
            img("d", 3, &["d:1"], &[]),
        ];
        sort_images(&mut images);
        let ids: Vec<_> = images.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["b", "d", "a", "c"]);
    }

    #[test]
    fn formats_like_docker() {
        assert_eq!(images_format(None, false, false), DEFAULT_TABLE);
        assert_eq!(images_format(None, false, true), DIGEST_TABLE);
        assert_eq!(images_format(Some("table"), true, true), "{{.ID}}");
        assert_eq!(images_format(None, true, false), "{{.ID}}");
        assert_eq!(
            images_format(Some("table {{.ID}}"), false, true),
            "table {{.ID}}\t{{.Digest}}"
        );
        assert_eq!(
            images_format(Some("table {{.Digest}}"), false, true),
            "table {{.Digest}}"
        );
        assert_eq!(images_format(Some("{{.ID}}"), true, true), "{{.ID}}");
        assert_eq!(images_format(Some("json"), false, true), "json");
    }

    #[test]
    fn renders_the_default_table() {
        let images = vec![
            img(ID1, 0, &["busybox:latest", "example.com/foo/bar:v1"], &[]),
            img(
                "sha256:ac8ebe48bd0a944404ef246b7615bd75bf683b2ee6616dad7bcadd3b7d474939",
                0,
                &[],
                &[],
            ),
        ];
        let rows = build_rows(&images, false);
        let mut items: Vec<Value> = rows
            .iter()
            .map(|r| item(r, &images[r.image], true))
            .collect();
        for i in &mut items {
            i["CreatedSince"] = json!("2 minutes ago");
        }
        let mut out = Vec::new();
        let spec = berth_format::FormatSpec::parse(&images_format(None, false, false));
        berth_format::render(&spec, DEFAULT_TABLE, HEADERS, &items, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "REPOSITORY            TAG       IMAGE ID       CREATED         SIZE\n\
             busybox               latest    26e1e9a0e45b   2 minutes ago   1.98MB\n\
             example.com/foo/bar   v1        26e1e9a0e45b   2 minutes ago   1.98MB\n\
             <none>                <none>    ac8ebe48bd0a   2 minutes ago   1.98MB\n"
        );
        let mut out = Vec::new();
        let spec = berth_format::FormatSpec::parse(&images_format(None, false, true));
        berth_format::render(&spec, DEFAULT_TABLE, HEADERS, &items[..1], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "REPOSITORY   TAG       DIGEST    IMAGE ID       CREATED         SIZE\n\
             busybox      latest    <none>    26e1e9a0e45b   2 minutes ago   1.98MB\n"
        );
    }
}
