//! `KEY=VALUE` flags and files: `-e`, `--env-file`, `-l`, `--label-file` (docker's
//! `opts.ValidateEnv`, `ValidateLabel` and `kvfile.Parse`).

use std::collections::BTreeMap;
use std::path::Path;

/// docker's `ValidateEnv`: `K=V` as is; a bare `K` takes its value from our environment
/// when set there (and is passed as `K`, unsetting it, when not).
pub fn validate_env(val: &str) -> Result<String, String> {
    let (k, has_value) = match val.split_once('=') {
        Some((k, _)) => (k, true),
        None => (val, false),
    };
    if k.is_empty() {
        return Err(format!("invalid environment variable: {val}"));
    }
    if has_value {
        return Ok(val.to_string());
    }
    Ok(match std::env::var_os(k) {
        Some(v) => format!("{k}={}", v.to_string_lossy()),
        None => val.to_string(),
    })
}

/// docker's `ValidateLabel`: a name before any `=`, without blanks.
pub fn validate_label(val: &str) -> Result<String, String> {
    let key = val.split_once('=').map_or(val, |(k, _)| k).trim();
    if key.is_empty() {
        return Err(format!("invalid label '{val}': empty name"));
    }
    if key.contains(char::is_whitespace) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(val.to_string())
}

/// docker's `kvfile.Parse` on the text of a file: blank lines and `#` comments skipped,
/// leading blanks trimmed, a UTF-8 BOM ignored; `K=V` lines kept as they are; a bare `K`
/// is looked up with `lookup` and dropped when that finds nothing.
pub fn parse_kv_text(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (var, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        if var.contains(char::is_whitespace) {
            return Err(format!("variable '{var}' contains whitespaces"));
        }
        if var.is_empty() {
            return Err(format!("no variable name on line '{line}'"));
        }
        match value {
            Some(v) => out.push(format!("{var}={v}")),
            None => {
                if let Some(v) = lookup(var.trim()) {
                    out.push(format!("{}={v}", var.trim()));
                }
            }
        }
    }
    Ok(out)
}

/// Reads a KEY=VALUE file; errors name the file the way docker does.
pub fn read_kv_file(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "open {}: {}",
            path.display(),
            crate::commands::image::go_errno_text(&e)
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid env file ({}): contains invalid utf8 bytes: {e}",
            path.display()
        )
    })?;
    parse_kv_text(&text, lookup).map_err(|e| format!("invalid env file ({}): {e}", path.display()))
}

/// Environment for a container: every `--env-file` (in order), then the `-e` flags.
pub fn read_env(files: &[std::path::PathBuf], flags: &[String]) -> Result<Vec<String>, String> {
    let lookup = |k: &str| std::env::var(k).ok();
    let mut out = Vec::new();
    for f in files {
        out.extend(read_kv_file(f, &lookup)?);
    }
    out.extend(flags.iter().cloned());
    Ok(out)
}

/// Labels: every `--label-file` then the `-l` flags, into a map (a bare name has an empty
/// value; a later one wins).
pub fn read_labels(
    files: &[std::path::PathBuf],
    flags: &[String],
) -> Result<BTreeMap<String, String>, String> {
    let mut all = Vec::new();
    for f in files {
        all.extend(read_kv_file(f, &|_| Some(String::new()))?);
    }
    all.extend(flags.iter().cloned());
    Ok(to_map(&all))
}

/// `K=V` strings → a map (docker's `ConvertKVStringsToMap`).
pub fn to_map(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|i| {
            let (k, v) = i.split_once('=').unwrap_or((i, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_flags_take_values_from_our_environment() {
        assert_eq!(validate_env("A=1").unwrap(), "A=1");
        assert_eq!(validate_env("A=").unwrap(), "A=");
        assert_eq!(
            validate_env("=x").unwrap_err(),
            "invalid environment variable: =x"
        );
        // PATH is always set for the tests; a made-up name is not.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(validate_env("PATH").unwrap(), format!("PATH={path}"));
        assert_eq!(
            validate_env("BERTH_SURELY_UNSET_VAR").unwrap(),
            "BERTH_SURELY_UNSET_VAR"
        );
    }

    #[test]
    fn env_files_follow_kvfile_rules() {
        let lookup = |k: &str| (k == "FOO").then(|| "bar".to_string());
        let got = parse_kv_text(
            "\u{feff}# comment\n  A=1\nB\nFOO\n  C= x \n\nD=a=b\n",
            &lookup,
        )
        .unwrap();
        assert_eq!(got, ["A=1", "FOO=bar", "C= x ", "D=a=b"]);
        assert_eq!(
            parse_kv_text("C =x\n", &lookup).unwrap_err(),
            "variable 'C ' contains whitespaces"
        );
        assert_eq!(
            parse_kv_text("=x\n", &lookup).unwrap_err(),
            "no variable name on line '=x'"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        std::fs::write(&f, "X=1\nY=2\n").unwrap();
        assert_eq!(
            read_env(std::slice::from_ref(&f), &["Z=3".into(), "X=9".into()]).unwrap(),
            ["X=1", "Y=2", "Z=3", "X=9"]
        );
        let missing = dir.path().join("nope");
        assert_eq!(
            read_env(std::slice::from_ref(&missing), &[]).unwrap_err(),
            format!("open {}: no such file or directory", missing.display())
        );
        std::fs::write(&f, b"A=\xff\n").unwrap();
        assert!(read_env(std::slice::from_ref(&f), &[])
            .unwrap_err()
            .contains("invalid utf8"));
    }

    #[test]
    fn labels_merge_files_then_flags() {
        assert_eq!(
            validate_label("=x").unwrap_err(),
            "invalid label '=x': empty name"
        );
        assert_eq!(
            validate_label("a b=1").unwrap_err(),
            "label 'a b' contains whitespaces"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("labels");
        std::fs::write(&f, "a=file\nflag\n").unwrap();
        let m = read_labels(&[f], &["a=flag".into(), "c".into()]).unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"a":"flag","c":"","flag":""}"#
        );
    }
}
