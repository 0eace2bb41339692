//! Deserializers for the shapes Docker clients send: `null` where a value is expected, and
//! Docker's `StrSlice` (a JSON string or an array of strings).

use serde::{Deserialize, Deserializer};

/// `null` (or a missing field, with `#[serde(default)]`) becomes the type's default.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's `StrSlice`: `null` → `None`, `"a b"` → `Some(["a b"])`, `["a","b"]` → as is.
pub(crate) fn strslice<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    struct T {
        #[serde(default, deserialize_with = "null_default")]
        list: Vec<String>,
        #[serde(default, deserialize_with = "strslice")]
        cmd: Option<Vec<String>>,
    }

    #[test]
    fn nulls_and_strslices() {
        let t: T = serde_json::from_str(r#"{"list":null,"cmd":null}"#).unwrap();
        assert!(t.list.is_empty());
        assert_eq!(t.cmd, None);
        let t: T = serde_json::from_str(r#"{"cmd":"echo hi"}"#).unwrap();
        assert_eq!(t.cmd, Some(vec!["echo hi".to_string()]));
        let t: T = serde_json::from_str(r#"{"list":["a"],"cmd":["a","b"]}"#).unwrap();
        assert_eq!(t.list, vec!["a"]);
        assert_eq!(t.cmd, Some(vec!["a".to_string(), "b".to_string()]));
        let t: T = serde_json::from_str(r#"{"cmd":[]}"#).unwrap();
        assert_eq!(t.cmd, Some(vec![]));
    }
}
