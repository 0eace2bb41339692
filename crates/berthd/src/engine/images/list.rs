//! `GET /images/json`: image summaries with Docker's filters.

use std::collections::{BTreeMap, HashMap};

use berth_api::images::ImageSummary;
use berth_api::ApiError;
use berth_store::ImageRecord;

use super::store_err;
use crate::engine::Engine;

/// What `GET /images/json` asks for.
#[derive(Debug, Default)]
pub struct ListOptions {
    pub filters: BTreeMap<String, Vec<String>>,
    pub shared_size: bool,
    /// `all`: also the intermediate images of builds (hidden otherwise, like dockerd's
    /// images with children). (builder, issue #8)
    pub all: bool,
}

const FILTERS: &[&str] = &["before", "dangling", "label", "reference", "since", "until"];

impl Engine {
    pub fn list_images(&self, opts: &ListOptions) -> Result<Vec<ImageSummary>, ApiError> {
        if let Some(bad) = opts.filters.keys().find(|k| !FILTERS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let db = self.db();
        let records = db.images().map_err(store_err)?;
        let before = self.filter_time(opts, "before")?;
        let since = self.filter_time(opts, "since")?;
        let shared = if opts.shared_size {
            layer_use_counts(&records)
        } else {
            HashMap::new()
        };
        let mut out = Vec::new();
        for img in &records {
            // builder (issue #8): an untagged build step with steps built on it is an
            // intermediate image.
            if !opts.all
                && db.tags_of(&img.id).map_err(store_err)?.is_empty()
                && db.build_cache_has_children(&img.id).map_err(store_err)?
            {
                continue;
            }
            let summary = self.image_summary(img, opts.shared_size.then_some(&shared))?;
            if before.is_some_and(|t| img.created >= t) || since.is_some_and(|t| img.created <= t) {
                continue;
            }
            if let Some(until) = opts.filters.get("until").and_then(|v| v.first()) {
                let limit = crate::api::parse_until(until)?;
                if img.created > limit {
                    continue;
                }
            }
            if !matches_filters(&opts.filters, &summary) {
                continue;
            }
            out.push(summary);
        }
        Ok(out)
    }

    /// The creation time of the image a `before`/`since` filter names.
    fn filter_time(&self, opts: &ListOptions, key: &str) -> Result<Option<i64>, ApiError> {
        match opts.filters.get(key).and_then(|v| v.first()) {
            Some(name) => Ok(Some(self.resolve_image(name)?.created)),
            None => Ok(None),
        }
    }

    pub fn image_summary(
        &self,
        img: &ImageRecord,
        shared: Option<&HashMap<String, usize>>,
    ) -> Result<ImageSummary, ApiError> {
        let db = self.db();
        let config = self.image_config(&img.id)?;
        let labels: HashMap<String, String> = config["config"]["Labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let shared_size = match shared {
            None => -1,
            Some(counts) => {
                let mut n = 0;
                for chain in &img.layers {
                    if counts.get(chain).copied().unwrap_or(0) > 1 {
                        n += db
                            .layer(chain)
                            .map_err(store_err)?
                            .map(|l| l.size)
                            .unwrap_or(0);
                    }
                }
                n
            }
        };
        let (repo_tags, repo_digests) = self.image_names(&img.id)?;
        Ok(ImageSummary {
            id: img.id.clone(),
            parent_id: String::new(),
            repo_tags,
            repo_digests,
            created: img.created,
            size: img.size,
            shared_size,
            virtual_size: img.size,
            labels,
            containers: -1,
        })
    }
}

/// How many images use each layer.
pub(super) fn layer_use_counts(records: &[ImageRecord]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for img in records {
        for chain in &img.layers {
            *counts.entry(chain.clone()).or_insert(0) += 1;
        }
    }
    counts
}

fn matches_filters(filters: &BTreeMap<String, Vec<String>>, s: &ImageSummary) -> bool {
    filters.iter().all(|(key, values)| match key.as_str() {
        "dangling" => values.iter().any(|v| {
            let want = matches!(v.as_str(), "true" | "1");
            want == s.repo_tags.is_empty()
        }),
        "label" => values.iter().all(|v| match v.split_once('=') {
            Some((k, val)) => s.labels.get(k).is_some_and(|x| x == val),
            None => s.labels.contains_key(v),
        }),
        "reference" => values.iter().any(|pattern| {
            s.repo_tags
                .iter()
                .chain(&s.repo_digests)
                .any(|t| reference_matches(pattern, t))
        }),
        _ => true,
    })
}

/// Docker matches `reference` filters with Go's `path.Match` against the familiar name and
/// against `name:tag`.
fn reference_matches(pattern: &str, familiar_ref: &str) -> bool {
    let Ok(p) = glob::Pattern::new(pattern) else {
        return false;
    };
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let name = familiar_ref
        .split_once('@')
        .map(|(n, _)| n)
        .unwrap_or(familiar_ref);
    let name_only = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    };
    p.matches_with(familiar_ref, opts) || p.matches_with(name_only, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_patterns_follow_path_match() {
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(reference_matches("busybox:lat*", "busybox:latest"));
        assert!(reference_matches("busy*", "busybox:latest"));
        assert!(!reference_matches("*", "library/x:1"));
        assert!(reference_matches("*/*", "library/x:1"));
        assert!(reference_matches(
            "localhost:5000/app",
            "localhost:5000/app:v1"
        ));
        assert!(!reference_matches("other", "busybox:latest"));
    }

    #[test]
    fn dangling_and_label_filters() {
        let mut s = ImageSummary::default();
        s.labels.insert("a".into(), "1".into());
        let f = |k: &str, v: &str| BTreeMap::from([(k.to_string(), vec![v.to_string()])]);
        assert!(matches_filters(&f("dangling", "true"), &s));
        assert!(!matches_filters(&f("dangling", "false"), &s));
        assert!(matches_filters(&f("label", "a=1"), &s));
        assert!(matches_filters(&f("label", "a"), &s));
        assert!(!matches_filters(&f("label", "a=2"), &s));
        s.repo_tags.push("x:1".into());
        assert!(!matches_filters(&f("dangling", "true"), &s));
    }
}
