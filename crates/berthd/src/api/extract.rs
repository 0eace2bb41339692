//! Request extractors whose rejections are Docker's error JSON, not axum's plain text.

use axum::extract::FromRequestParts;
use berth_api::ApiError;
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::Error;

/// Query parameters, parsed with `serde_urlencoded`; a bad one is a 400 with a message.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(Query)
            .map_err(|e| Error(ApiError::invalid(format!("invalid query parameter: {e}"))))
    }
}

/// Largest JSON request body accepted (container configs are a few KiB; 4 MiB is generous).
pub const MAX_JSON_BODY: usize = 4 << 20;

/// A JSON request body, checked like dockerd's `CheckForJSON`/`ReadJSON`: a non-empty body
/// must say `Content-Type: application/json`; malformed JSON is a 400 naming the problem;
/// an oversized body is a 413. An empty body reads as `{}`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Error> {
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
            .await
            .map_err(|_| {
                Error(ApiError::new(
                    berth_api::ErrorKind::PayloadTooLarge,
                    format!("request body is larger than {MAX_JSON_BODY} bytes"),
                ))
            })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        if bytes != b"{}" {
            let ok = content_type
                .as_deref()
                .and_then(|ct| ct.split(';').next())
                .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"));
            if !ok {
                return Err(Error(ApiError::invalid(format!(
                    "unsupported Content-Type header ({}): must be 'application/json'",
                    content_type.as_deref().unwrap_or("")
                ))));
            }
        }
        serde_json::from_slice(bytes)
            .map(JsonBody)
            .map_err(|e| Error(ApiError::invalid(format!("invalid JSON: {e}"))))
    }
}

/// Query parameters as ordered pairs, for endpoints that repeat keys (`names=a&names=b`,
/// `changes=...`) or take Docker's lenient booleans.
pub struct QueryPairs(Vec<(String, String)>);

impl QueryPairs {
    /// For tests: pairs as given.
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        QueryPairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn get_all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// dockerd's `BoolValue`: anything but "", "0", "no", "false", "none" is true.
    pub fn bool(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            )
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let q = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(
            form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        ))
    }
}

/// A request body as a blocking reader, for work on blocking threads (unpacking,
/// hashing). Create it on the async side; read it from `spawn_blocking`.
pub fn body_reader(body: axum::body::Body) -> Box<dyn std::io::Read + Send> {
    use futures_util::TryStreamExt;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(stream);
    Box::new(tokio_util::io::SyncIoBridge::new(reader))
}

/// Parses a Docker timestamp parameter (`since`, `until`): `SECONDS[.FRACTION]` → Unix nanos,
/// the fraction scaled by its digit count like dockerd's `timetypes.ParseTimestamps`.
pub fn parse_timestamp(name: &str, value: &str) -> Result<i64, Error> {
    let bad = || {
        Error(ApiError::invalid(format!(
            "invalid value for {name}: {value:?}: expected a Unix timestamp like 1700000000.000000000"
        )))
    };
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos = if frac.is_empty() {
        0
    } else {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        frac.parse::<i64>().map_err(|_| bad())? * 10i64.pow(9 - frac.len() as u32)
    };
    secs.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(nanos))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_repeat_and_parse_bools() {
        let q = QueryPairs(
            form_urlencoded::parse(b"names=a&names=b%3A1&force=1&quiet=false&x=")
                .into_owned()
                .collect(),
        );
        assert_eq!(q.get_all("names"), ["a", "b:1"]);
        assert!(q.bool("force"));
        assert!(!q.bool("quiet"));
        assert!(!q.bool("x"));
        assert!(!q.bool("missing"));
    }

    #[test]
    fn timestamps_scale_their_fraction() {
        assert_eq!(parse_timestamp("since", "10").unwrap(), 10_000_000_000);
        assert_eq!(parse_timestamp("since", "10.5").unwrap(), 10_500_000_000);
        assert_eq!(
            parse_timestamp("since", "10.000000001").unwrap(),
            10_000_000_001
        );
        assert!(parse_timestamp("since", "yesterday").is_err());
        assert!(parse_timestamp("since", "1.x").is_err());
    }
}
