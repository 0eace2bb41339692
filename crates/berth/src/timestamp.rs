//! docker's `--since`/`--until` values → the Unix timestamps the API takes: a Go duration
//! (`10m`, `1h30m`, relative to now), a Unix time (`1700000000[.123]`), or an RFC 3339 date
//! or `YYYY-MM-DD[THH:MM:SS]` (UTC when no offset is given). Also Unix times shown in the
//! local time zone the way Go prints them.

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

/// A Unix time in the local time zone: the offset in seconds and the zone's abbreviation
/// (from the C library, which reads `TZ` and /etc/localtime like Go does).
fn local_zone(unix: i64) -> (i32, String) {
    use nix::libc;
    extern "C" {
        fn tzset();
    }
    // SAFETY: tzset only (re)reads TZ; localtime_r fills the `tm` we own and returns null on
    // failure; tm_zone, when set, points at a static NUL-terminated string of the C library.
    unsafe {
        tzset();
        let t: libc::time_t = unix as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return (0, "UTC".to_string());
        }
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        };
        (tm.tm_gmtoff as i32, zone)
    }
}

fn local_time(unix: i64) -> (OffsetDateTime, String) {
    let (offset, zone) = local_zone(unix);
    let offset = time::UtcOffset::from_whole_seconds(offset).unwrap_or(time::UtcOffset::UTC);
    let t = OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    (t, zone)
}

/// `±hhmm` of an offset.
fn numeric_offset(t: &OffsetDateTime, colon: bool) -> String {
    let secs = t.offset().whole_seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let (h, m) = (secs.abs() / 3600, secs.abs() / 60 % 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// Go's `time.Unix(unix, 0).String()`: `2026-11-23 13:12:22 +0000 UTC`, local time.
pub fn go_time_string(unix: i64) -> String {
    let (t, zone) = local_time(unix);
    let zone = if zone.is_empty() {
        numeric_offset(&t, false)
    } else {
        zone
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {} {zone}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        numeric_offset(&t, false)
    )
}

/// Go's `time.Unix(unix, 0).Format(time.RFC3339)`: `2026-11-23T13:12:22Z` or
/// `2026-11-23T14:12:22+01:00`, local time.
pub fn go_rfc3339(unix: i64) -> String {
    let (t, _) = local_time(unix);
    let zone = if t.offset().is_utc() {
        "Z".to_string()
    } else {
        numeric_offset(&t, true)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
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

    #[test]
    fn go_time_strings() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_439_542).unwrap();
        let (off, _) = local_zone(1_795_439_542);
        let local = t.to_offset(time::UtcOffset::from_whole_seconds(off).unwrap());
        let s = go_time_string(1_795_439_542);
        assert!(
            s.starts_with(&format!("2026-11-23 {:02}:", local.hour())),
            "{s}"
        );
        let r = go_rfc3339(1_795_439_542);
        assert!(r.starts_with("2026-11-23T"), "{r}");
        if off == 0 {
            assert_eq!(r, "2026-11-23T13:12:22Z");
            assert!(s.starts_with("2026-11-23 13:12:22 +0000 "), "{s}");
        }
    }
}
