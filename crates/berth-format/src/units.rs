//! Sizes and durations for humans, as docker's go-units library words them.

use std::time::Duration;

const DECIMAL_UNITS: &[&str] = &["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// go-units `HumanSize`: decimal units and 4 significant digits
/// (`1000` → `1kB`, `4261024` → `4.261MB`).
pub fn human_size(bytes: i64) -> String {
    human_size_with_precision(bytes, 4)
}

/// go-units `HumanSizeWithPrecision`: decimal units and `precision`
/// significant digits, Go's `%.*g`. docker's image and container tables use
/// precision 3 (`4261024` → `4.26MB`).
pub fn human_size_with_precision(bytes: i64, precision: usize) -> String {
    let (size, unit) = scale(bytes as f64, 1000.0, DECIMAL_UNITS);
    format!("{}{unit}", format_g(size, precision))
}

/// go-units `BytesSize`: binary units and 4 significant digits
/// (`1536` → `1.5KiB`).
pub fn bytes_size(bytes: i64) -> String {
    let (size, unit) = scale(bytes as f64, 1024.0, BINARY_UNITS);
    format!("{}{unit}", format_g(size, 4))
}

/// Divide by `base` while the size is at least `base` and a larger unit
/// exists.
fn scale(mut size: f64, base: f64, units: &'static [&'static str]) -> (f64, &'static str) {
    let mut unit = 0;
    while size >= base && unit + 1 < units.len() {
        size /= base;
        unit += 1;
    }
    (size, units.get(unit).copied().unwrap_or_default())
}

/// Go's `%.*g`: `precision` significant digits, exponent form when the
/// exponent is below -4 or at least the precision, trailing zeros removed.
fn format_g(value: f64, precision: usize) -> String {
    let precision = precision.max(1);
    let scientific = format!("{:.*e}", precision - 1, value);
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i64 = exponent.parse().unwrap_or(0);
    if exponent < -4 || exponent >= precision as i64 {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{}e{sign}{:02}",
            trim_fraction_zeros(mantissa),
            exponent.unsigned_abs()
        );
    }
    let decimals = usize::try_from(precision as i64 - 1 - exponent).unwrap_or(0);
    trim_fraction_zeros(&format!("{value:.decimals$}")).to_owned()
}

fn trim_fraction_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// go-units `HumanDuration`, as in docker's "Up 3 hours" and
/// "2 weeks ago".
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 1 {
        return "Less than a second".to_owned();
    }
    if seconds == 1 {
        return "1 second".to_owned();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".to_owned();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let exact_hours = duration.as_secs_f64() / 3600.0;
    // Go: int(d.Hours() + 0.5), hours rounded to nearest.
    let hours = (exact_hours + 0.5) as u64;
    if hours == 1 {
        return "About an hour".to_owned();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", exact_hours as u64 / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: i64 = 1000;
    const MB: i64 = 1000 * KB;
    const GB: i64 = 1000 * MB;
    const KIB: i64 = 1024;
    const MIB: i64 = 1024 * KIB;
    const GIB: i64 = 1024 * MIB;

    #[test]
    fn human_sizes() {
        // Cases from go-units' size_test.go.
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1024), "1.024kB");
        assert_eq!(human_size(MB), "1MB");
        assert_eq!(human_size(1_048_576), "1.049MB");
        assert_eq!(human_size(2 * MB), "2MB");
        assert_eq!(human_size(3_420_000_000), "3.42GB");
        assert_eq!(human_size(5_372_000_000_000), "5.372TB");
        assert_eq!(human_size(2_220_000_000_000_000), "2.22PB");
        assert_eq!(human_size(4_261_024), "4.261MB");
        assert_eq!(human_size(i64::MAX), "9.223EB");
        assert_eq!(human_size(-5), "-5B");
    }

    #[test]
    fn human_sizes_with_precision() {
        // docker images / docker ps -s use precision 3.
        assert_eq!(human_size_with_precision(4_261_024, 3), "4.26MB");
        assert_eq!(human_size_with_precision(7_834_112, 3), "7.83MB");
        assert_eq!(human_size_with_precision(187 * MB + 400 * KB, 3), "187MB");
        assert_eq!(human_size_with_precision(GB, 3), "1GB");
        // Go's %.3g of 999.9 rounds up into exponent form.
        assert_eq!(human_size_with_precision(999_900, 3), "1e+03kB");
        assert_eq!(human_size_with_precision(1_500, 0), "2kB");
    }

    #[test]
    fn bytes_sizes() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(KIB), "1KiB");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(MIB), "1MiB");
        assert_eq!(bytes_size(2 * MIB), "2MiB");
        assert_eq!(bytes_size(3_672_178_442), "3.42GiB");
        assert_eq!(bytes_size(GIB), "1GiB");
    }

    #[test]
    fn g_formatting() {
        assert_eq!(format_g(0.00001234, 3), "1.23e-05");
        assert_eq!(format_g(0.0001234, 3), "0.000123");
        assert_eq!(format_g(123456.0, 4), "1.235e+05");
        assert_eq!(format_g(1200.0, 4), "1200");
        assert_eq!(format_g(2.5, 1), "2");
    }

    #[test]
    fn human_durations() {
        // Cases from go-units' duration_test.go.
        let s = Duration::from_secs;
        let minute = 60;
        let hour = 60 * minute;
        let day = 24 * hour;
        let week = 7 * day;
        let month = 30 * day;
        let year = 365 * day;
        let cases: &[(Duration, &str)] = &[
            (Duration::from_millis(450), "Less than a second"),
            (s(1), "1 second"),
            (s(45), "45 seconds"),
            (s(59), "59 seconds"),
            (s(60), "About a minute"),
            (s(3 * minute), "3 minutes"),
            (s(35 * minute + 40), "35 minutes"),
            (s(59 * minute), "59 minutes"),
            (s(hour), "About an hour"),
            (s(hour + 29 * minute), "About an hour"),
            (s(hour + 31 * minute), "2 hours"),
            (s(3 * hour + 29 * minute), "3 hours"),
            (s(3 * hour + 31 * minute), "4 hours"),
            (s(day), "24 hours"),
            (s(day + 12 * hour), "36 hours"),
            (s(2 * day), "2 days"),
            (s(7 * day), "7 days"),
            (s(13 * day + 5 * hour), "13 days"),
            (s(2 * week), "2 weeks"),
            (s(2 * week + 4 * day), "2 weeks"),
            (s(4 * week + 3 * day), "4 weeks"),
            (s(month), "4 weeks"),
            (s(month + 2 * week), "6 weeks"),
            (s(2 * month), "2 months"),
            (s(3 * month + week), "3 months"),
            (s(5 * month + 2 * week), "5 months"),
            (s(13 * month), "13 months"),
            (s(24 * month), "24 months"),
            (s(24 * month + 2 * week), "2 years"),
            (s(3 * year + 2 * month), "3 years"),
        ];
        for (duration, want) in cases {
            assert_eq!(human_duration(*duration), *want, "{duration:?}");
        }
    }
}
