//! Query strings and path segments, percent-encoded the way the Docker API expects them.
//!
//! ```
//! use berth_client::{encode_path, Query};
//!
//! let q = Query::new()
//!     .add("all", "1")
//!     .add("filters", r#"{"dangling":{"true":true}}"#)
//!     .add_if(false, "digests", "1");
//! assert_eq!(
//!     q.with_path("/images/json"),
//!     "/images/json?all=1&filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D"
//! );
//! assert_eq!(format!("/images/{}/json", encode_path("example.com:5000/a b:v1")),
//!            "/images/example.com:5000/a%20b:v1/json");
//! ```

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters (Go's `url.QueryEscape`, with `%20`
/// rather than `+` for a space).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What Go leaves alone in a URL path: unreserved characters and `$&+,/:;=@`, so image
/// references (`registry:5000/repo:tag`, `repo@sha256:…`) keep their shape.
const PATH: &AsciiSet = &QUERY
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// Percent-encodes a query-string key or value.
pub fn encode_query_component(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

/// Percent-encodes a value placed in a URL path (an image or container name), keeping
/// `/`, `:` and `@` as they are.
pub fn encode_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

/// An ordered list of query parameters; a key may repeat (`names=a&names=b`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value`.
    pub fn add(mut self, key: &str, value: impl Into<String>) -> Self {
        self.push(key, value);
        self
    }

    /// Appends `key=value` when `cond` holds.
    pub fn add_if(self, cond: bool, key: &str, value: impl Into<String>) -> Self {
        if cond {
            self.add(key, value)
        } else {
            self
        }
    }

    /// Appends `key=value` when there is a value.
    pub fn add_opt(self, key: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.add(key, v),
            None => self,
        }
    }

    /// Appends `key=v` for each value.
    pub fn add_all<I, V>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        for v in values {
            self.push(key, v);
        }
        self
    }

    /// Appends `key=value` in place.
    pub fn push(&mut self, key: &str, value: impl Into<String>) {
        self.pairs.push((key.to_string(), value.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The parameters, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// `path?query`, or just `path` without parameters.
    pub fn with_path(&self, path: &str) -> String {
        if self.pairs.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{self}")
        }
    }
}

/// The encoded query string, without the leading `?`.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(
                f,
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_components() {
        assert_eq!(encode_query_component("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(
            encode_query_component("ENV A=1 B&c/d"),
            "ENV%20A%3D1%20B%26c%2Fd"
        );
        assert_eq!(encode_query_component("é"), "%C3%A9");
        assert_eq!(
            encode_path("registry:5000/repo@sha256:ab"),
            "registry:5000/repo@sha256:ab"
        );
        assert_eq!(encode_path("a?b#c d%"), "a%3Fb%23c%20d%25");
    }

    #[test]
    fn builds_queries() {
        let q = Query::new()
            .add("names", "a")
            .add_all("names", ["b:1", "c"])
            .add_if(true, "quiet", "1")
            .add_if(false, "no", "x")
            .add_opt("tag", Some("v1"))
            .add_opt("none", None::<String>);
        assert_eq!(q.to_string(), "names=a&names=b%3A1&names=c&quiet=1&tag=v1");
        assert_eq!(q.with_path("/images/get"), format!("/images/get?{q}"));
        assert_eq!(Query::new().with_path("/images/json"), "/images/json");
        assert!(Query::new().is_empty());
        assert_eq!(q.pairs().len(), 5);
    }
}
