//! RFC 3339 timestamps with nanoseconds in UTC (`2026-11-23T13:00:00.123456789Z`), the form
//! Docker writes in json-file logs and `State.FinishedAt`. Hand-written to avoid a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `t` as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (always nine fraction digits).
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let mut s = String::with_capacity(30);
    push_rfc3339_nanos(&mut s, t);
    s
}

/// Appends the timestamp to `out` (no allocation on the log hot path).
pub fn push_rfc3339_nanos(out: &mut String, t: SystemTime) {
    use std::fmt::Write;
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        d.subsec_nanos()
    );
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let t = UNIX_EPOCH + Duration::new(1_795_438_800, 123_456_789);
        assert_eq!(rfc3339_nanos(t), "2026-11-23T13:00:00.123456789Z");
        // Leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339_nanos(t), "2000-02-29T00:00:00.000000000Z");
    }
}
