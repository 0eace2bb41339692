//! `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D]
//! [--start-interval=D] [--retries=N] CMD ...` and `HEALTHCHECK NONE`.

use super::parse::{maybe_json, syntax};
use super::ChangeError;
use crate::config::HealthConfig;

const FLAGS: [&str; 5] = [
    "interval",
    "timeout",
    "start-period",
    "start-interval",
    "retries",
];

/// Docker's `container.MinimumDuration`: 1ms.
const MINIMUM_DURATION_NS: i64 = 1_000_000;

pub(super) fn parse(flags: &[String], rest: &str) -> Result<HealthConfig, ChangeError> {
    if rest.is_empty() {
        return Err(syntax("HEALTHCHECK requires at least one argument"));
    }
    let (kind, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let kind = kind.to_uppercase();
    let args = args.trim_start();
    if kind == "NONE" {
        if !args.is_empty() {
            return Err(syntax("HEALTHCHECK NONE takes no arguments"));
        }
        return Ok(HealthConfig {
            test: Some(vec![kind]),
            ..HealthConfig::default()
        });
    }
    let values = flag_values(flags)?;
    if kind != "CMD" {
        return Err(syntax(format!(
            "Unknown type {kind:?} in HEALTHCHECK (try CMD)"
        )));
    }
    let cmd = maybe_json(args)?;
    if cmd.args.is_empty() {
        return Err(syntax("Missing command after HEALTHCHECK CMD"));
    }
    let kind = if cmd.json { "CMD" } else { "CMD-SHELL" };
    let mut test = vec![kind.to_string()];
    test.extend(cmd.args);
    let value = |name: &str| {
        values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let interval = |name: &str| value(name).map(|v| interval(name, v)).transpose();
    Ok(HealthConfig {
        test: Some(test),
        interval: nonzero(interval("interval")?),
        timeout: nonzero(interval("timeout")?),
        start_period: nonzero(interval("start-period")?),
        start_interval: nonzero(interval("start-interval")?),
        retries: nonzero(value("retries").map(retries).transpose()?),
        ..HealthConfig::default()
    })
}

/// Docker omits zero durations and retries (`omitempty`).
fn nonzero(v: Option<i64>) -> Option<i64> {
    v.filter(|n| *n != 0)
}

/// Checks `name=value` flag words against the known flags.
fn flag_values(flags: &[String]) -> Result<Vec<(String, String)>, ChangeError> {
    let mut values: Vec<(String, String)> = Vec::new();
    for flag in flags {
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag.as_str(), None),
        };
        if !FLAGS.contains(&name) {
            return Err(syntax(format!("unknown flag: --{name}")));
        }
        if values.iter().any(|(n, _)| n == name) {
            return Err(syntax(format!("duplicate flag specified: --{name}")));
        }
        let Some(value) = value else {
            return Err(syntax(format!("missing a value on flag: --{name}")));
        };
        values.push((name.to_string(), value.to_string()));
    }
    Ok(values)
}

/// `parseOptInterval`: a Go duration of 0 or at least 1ms.
fn interval(name: &str, value: &str) -> Result<i64, ChangeError> {
    if value.is_empty() {
        return Ok(0);
    }
    let d = go_duration(value)?;
    if d != 0 && d < MINIMUM_DURATION_NS {
        return Err(syntax(format!("Interval {name:?} cannot be less than 1ms")));
    }
    Ok(d)
}

fn retries(value: &str) -> Result<i64, ChangeError> {
    if value.is_empty() {
        return Ok(0);
    }
    let n: i32 = value.parse().map_err(|_| {
        syntax(format!(
            "strconv.ParseInt: parsing {value:?}: invalid syntax"
        ))
    })?;
    if n < 0 {
        return Err(syntax(format!("--retries cannot be negative ({n})")));
    }
    Ok(i64::from(n))
}

/// Go's `time.ParseDuration` (`1h30m`, `1.5s`, `300ms`, `-2us`), in
/// nanoseconds.
fn go_duration(s: &str) -> Result<i64, ChangeError> {
    let invalid = || syntax(format!("time: invalid duration {s:?}"));
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(a) => a.split_at(a.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "" => return Err(syntax(format!("time: missing unit in duration {s:?}"))),
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(syntax(format!(
                    "time: unknown unit {unit:?} in duration {s:?}"
                )))
            }
        };
        let int: i128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| invalid())?
        };
        let frac_value: i128 = frac
            .bytes()
            .take(18)
            .fold(0, |acc, b| acc * 10 + i128::from(b - b'0'));
        let frac_scale = 10i128.pow(frac.len().min(18) as u32);
        total += int * scale + frac_value * scale / frac_scale;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
        rest = after;
    }
    let total = total as i64;
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(line: &str) -> Result<HealthConfig, String> {
        let (flags, rest) = super::super::words::extract_flags(line);
        parse(&flags, rest.trim()).map_err(|e| e.to_string())
    }

    #[test]
    fn forms() {
        let h = hc("--interval=5s --retries=3 CMD curl x").unwrap();
        assert_eq!(
            h.test,
            Some(vec!["CMD-SHELL".to_string(), "curl x".to_string()])
        );
        assert_eq!(
            (h.interval, h.retries, h.timeout),
            (Some(5_000_000_000), Some(3), None)
        );
        let h = hc(r#"cmd ["a", "b"]"#).unwrap();
        assert_eq!(h.test, Some(vec!["CMD".into(), "a".into(), "b".into()]));
        assert_eq!(hc("none").unwrap().test, Some(vec!["NONE".to_string()]));
        let h = hc("--interval=1m30s --timeout=2h --start-period=1.5s --start-interval=300ms --retries=0 CMD x")
            .unwrap();
        assert_eq!(h.interval, Some(90_000_000_000));
        assert_eq!(h.timeout, Some(7_200_000_000_000));
        assert_eq!(h.start_period, Some(1_500_000_000));
        assert_eq!((h.start_interval, h.retries), (Some(300_000_000), None));
    }

    #[test]
    fn errors() {
        for (line, msg) in [
            ("", "HEALTHCHECK requires at least one argument"),
            ("NONE x", "HEALTHCHECK NONE takes no arguments"),
            ("FOO x", r#"Unknown type "FOO" in HEALTHCHECK (try CMD)"#),
            ("CMD", "Missing command after HEALTHCHECK CMD"),
            ("--foo=1 CMD x", "unknown flag: --foo"),
            ("--interval CMD x", "missing a value on flag: --interval"),
            (
                "--retries=1 --retries=2 CMD x",
                "duplicate flag specified: --retries",
            ),
            (
                "--interval=0.5ms CMD x",
                r#"Interval "interval" cannot be less than 1ms"#,
            ),
            (
                "--interval=5 CMD x",
                r#"time: missing unit in duration "5""#,
            ),
            (
                "--interval=5q CMD x",
                r#"time: unknown unit "q" in duration "5q""#,
            ),
            ("--timeout=x CMD x", r#"time: invalid duration "x""#),
            ("--retries=-1 CMD x", "--retries cannot be negative (-1)"),
            (
                "--retries=x CMD x",
                r#"strconv.ParseInt: parsing "x": invalid syntax"#,
            ),
        ] {
            assert_eq!(hc(line).unwrap_err(), msg, "{line}");
        }
    }

    #[test]
    fn durations() {
        for (s, ns) in [
            ("0", 0),
            ("1ns", 1),
            ("1.5us", 1_500),
            ("2\u{b5}s", 2_000),
            ("300ms", 300_000_000),
            ("-1.5h", -5_400_000_000_000),
            ("1h2m3s", 3_723_000_000_000),
            (".5s", 500_000_000),
            ("+1m", 60_000_000_000),
        ] {
            assert_eq!(go_duration(s).unwrap(), ns, "{s}");
        }
        for bad in ["", "-", "s", "1.s.", "9999999999h"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }
}
