//! docker's `--filter key=value` flags → the filter JSON the API takes.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

/// Filters collected from flags and arguments, keyed and de-duplicated like docker's
/// `filters.Args`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, BTreeMap<String, bool>>);

impl Filters {
    /// Parses `key=value` flags; the key is trimmed and lower-cased, the value trimmed.
    pub fn parse(flags: &[String]) -> Result<Self> {
        let mut f = Filters::default();
        for flag in flags {
            let Some((k, v)) = flag.split_once('=') else {
                bail!("bad format of filter (expected name=value): {flag}");
            };
            f.add(&k.trim().to_lowercase(), v.trim());
        }
        Ok(f)
    }

    pub fn add(&mut self, key: &str, value: &str) {
        self.0
            .entry(key.to_string())
            .or_default()
            .insert(value.to_string(), true);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// docker's `filters.ToJSON`: `{"key":{"value":true}}`, which every API version reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_string())
    }
}

/// `key=value` flags → Docker's filter JSON.
pub fn filters_json(flags: &[String]) -> Result<String> {
    Ok(Filters::parse(flags)?.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_docker_filter_json() {
        let mut f = Filters::parse(&[
            " Dangling = true ".into(),
            "label=a=b".into(),
            "label=c".into(),
            "label=c".into(),
        ])
        .unwrap();
        f.add("reference", "busybox:*");
        assert_eq!(
            f.to_json(),
            r#"{"dangling":{"true":true},"label":{"a=b":true,"c":true},"reference":{"busybox:*":true}}"#
        );
        assert!(Filters::parse(&[]).unwrap().is_empty());
        assert_eq!(Filters::default().to_json(), "{}");
        let e = Filters::parse(&["bad".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad format of filter (expected name=value): bad"
        );
    }
}
