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
