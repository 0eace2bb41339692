//! docker's `--since`/`--until` values → the Unix timestamps the API takes: a Go duration
//! (`10m`, `1h30m`, relative to now), a Unix time (`1700000000[.123]`), or an RFC 3339 date
//! or `YYYY-MM-DD[THH:MM:SS]` (UTC when no offset is given).

use anyhow::{bail, Result};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

pub fn to_api(value: &str, now: OffsetDateTime) -> Result<String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    if value != "0" {
        if let Some(d) = parse_go_duration(value) {
            let t = now - d;
            return Ok(format!("{}.{:09}", t.unix_timestamp(), t.nanosecond()));
        }
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') && value.matches('.').count() <= 1 {
        return Ok(value.to_string());
    }
    let t = OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(
                value,
                format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
            )
            .ok()
            .map(|p| p.assume_utc())
        })
        .or_else(|| {
            time::Date::parse(value, format_description!("[year]-[month]-[day]"))
                .ok()
                .map(|d| d.midnight().assume_utc())
        });
    match t {
        Some(t) => Ok(format!("{}.{:09}", t.unix_timestamp(), t.nanosecond())),
        None => bail!(
            "invalid time {value:?}: use a duration like 10m or 1h30m, a Unix timestamp, or a date like 2006-01-02T15:04:05Z"
        ),
    }
}

/// Go's `time.ParseDuration` for the units people type: h, m, s, ms, us/µs, ns.
fn parse_go_duration(s: &str) -> Option<time::Duration> {
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Some(time::Duration::seconds_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_relative_to_now() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        assert_eq!(to_api("10s", now).unwrap(), "999990.000000000");
        assert_eq!(
            to_api("1h30m", now).unwrap(),
            format!("{}.000000000", 1_000_000 - 5400)
        );
        assert_eq!(to_api("1700000000.5", now).unwrap(), "1700000000.5");
        assert_eq!(to_api("0", now).unwrap(), "0");
        assert_eq!(to_api("1970-01-02", now).unwrap(), "86400.000000000");
        assert_eq!(to_api("1970-01-01T00:01:00Z", now).unwrap(), "60.000000000");
        assert!(to_api("yesterday", now).is_err());
    }
}
