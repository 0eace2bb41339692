//! Sizes, CPU counts and durations written the way docker's flags take them
//! (`go-units.RAMInBytes`, `opts.NanoCPUs`, Go's `time.ParseDuration`).

/// docker's `units.RAMInBytes`: `512m`, `1.5g`, `1024`, `2 GiB`, `64kb` — binary
/// multiples (k = 1024). Negative sizes are refused.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let Some(sep) = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(format!("invalid size: '{s}'"));
    };
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    if size < 0.0 || num.starts_with('-') {
        return Err(format!("invalid size: '{s}'"));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = || format!("invalid suffix: '{sfx}'");
    let lower = sfx.to_ascii_lowercase();
    let b = lower.as_bytes();
    if b.len() > 3 {
        return Err(bad());
    }
    if b[0] == b'b' {
        return if b.len() > 1 {
            Err(bad())
        } else {
            Ok(size as i64)
        };
    }
    let mul: f64 = match b[0] {
        b'k' => 1024f64,
        b'm' => 1024f64.powi(2),
        b'g' => 1024f64.powi(3),
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    if (b.len() == 2 && b[1] != b'b') || (b.len() == 3 && &b[1..] != b"ib") {
        return Err(bad());
    }
    Ok((size * mul) as i64)
}

/// `--memory-swap`: a size, or `-1` for unlimited swap.
pub fn mem_swap_bytes(s: &str) -> Result<i64, String> {
    if s == "-1" {
        return Ok(-1);
    }
    ram_in_bytes(s)
}

/// docker's `opts.NanoCPUs`: `--cpus 1.5` → 1500000000. More than nine decimals that are
/// not zero is "too precise".
pub fn nano_cpus(s: &str) -> Result<i64, String> {
    let fail = || format!("failed to parse {s} as a rational number");
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(fail());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 9 {
        return Err("value is too precise".to_string());
    }
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| fail())?
    };
    let frac_nanos: i64 = format!("{frac:0<9}").parse().map_err(|_| fail())?;
    let n = int
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(frac_nanos))
        .ok_or_else(fail)?;
    Ok(if neg { -n } else { n })
}

/// Go's `time.ParseDuration`, in nanoseconds: `1h30m`, `5s`, `250ms`, `-1s`, `0`.
pub fn go_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
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
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let mul = match unit {
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        total += value * mul;
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let n = total.round() as i64;
    Ok(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_follow_go_units() {
        assert_eq!(ram_in_bytes("512m"), Ok(512 * 1024 * 1024));
        assert_eq!(ram_in_bytes("1g"), Ok(1 << 30));
        assert_eq!(ram_in_bytes("1.5G"), Ok(3 << 29));
        assert_eq!(ram_in_bytes("64kb"), Ok(65536));
        assert_eq!(ram_in_bytes("2 MiB"), Ok(2 << 20));
        assert_eq!(ram_in_bytes("1024"), Ok(1024));
        assert_eq!(ram_in_bytes("10b"), Ok(10));
        assert_eq!(ram_in_bytes("12x"), Err("invalid suffix: 'x'".into()));
        assert_eq!(ram_in_bytes("1mbb"), Err("invalid suffix: 'mbb'".into()));
        assert_eq!(ram_in_bytes("1mx"), Err("invalid suffix: 'mx'".into()));
        assert_eq!(ram_in_bytes("x"), Err("invalid size: 'x'".into()));
        assert_eq!(ram_in_bytes("-1"), Err("invalid size: '-1'".into()));
        assert_eq!(ram_in_bytes(""), Err("invalid size: ''".into()));
        assert!(ram_in_bytes("1.2.3m").is_err());
        assert_eq!(mem_swap_bytes("-1"), Ok(-1));
        assert_eq!(mem_swap_bytes("1g"), Ok(1 << 30));
        assert_eq!(mem_swap_bytes("1q"), Err("invalid suffix: 'q'".into()));
    }

    #[test]
    fn cpus_become_nano_cpus() {
        assert_eq!(nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(nano_cpus("2"), Ok(2_000_000_000));
        assert_eq!(nano_cpus(".25"), Ok(250_000_000));
        assert_eq!(nano_cpus("0.000000001"), Ok(1));
        assert_eq!(nano_cpus("1.5000000000000"), Ok(1_500_000_000));
        assert_eq!(nano_cpus("-1"), Ok(-1_000_000_000));
        assert_eq!(
            nano_cpus("1.0000000001"),
            Err("value is too precise".into())
        );
        assert_eq!(
            nano_cpus("abc"),
            Err("failed to parse abc as a rational number".into())
        );
        assert!(nano_cpus("").is_err());
    }

    #[test]
    fn durations_follow_go() {
        assert_eq!(go_duration("5s"), Ok(5_000_000_000));
        assert_eq!(go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(go_duration("250ms"), Ok(250_000_000));
        assert_eq!(go_duration("-1s"), Ok(-1_000_000_000));
        assert_eq!(go_duration("0"), Ok(0));
        assert_eq!(
            go_duration("5"),
            Err("time: missing unit in duration \"5\"".into())
        );
        assert_eq!(
            go_duration("5x"),
            Err("time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert_eq!(go_duration("x"), Err("time: invalid duration \"x\"".into()));
        assert!(go_duration("").is_err());
    }
}
