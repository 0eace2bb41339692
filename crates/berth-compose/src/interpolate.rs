//! Variable interpolation in compose files, the Compose Specification's rules (a subset of
//! the shell's): `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}`
//! (unset), `${VAR:?error}` / `${VAR?error}` (fail), `${VAR:+alt}` / `${VAR+alt}`, and `$$`
//! for a literal `$`. Defaults and alternatives may themselves hold interpolations.

use serde_json::Value;

/// What interpolation reads variables from.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The result of interpolating one string: the text, and the variables that were unset and
/// had no default (Compose warns about each and uses an empty string).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub text: String,
    pub unset: Vec<String>,
}

/// Interpolates `input`. Errors are the message of a `${VAR:?err}` that fired, or a
/// description of a malformed template.
pub fn interpolate(input: &str, env: &dyn Lookup) -> Result<Interpolated, String> {
    let mut out = Interpolated::default();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    out.text = expand(&chars, &mut i, env, &mut out.unset, false)?;
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands from `chars[*i]`; inside a `${…:-…}` word (`nested`) it stops at the closing
/// brace that is not its own.
fn expand(
    chars: &[char],
    i: &mut usize,
    env: &dyn Lookup,
    unset: &mut Vec<String>,
    nested: bool,
) -> Result<String, String> {
    let mut out = String::new();
    while *i < chars.len() {
        let c = chars[*i];
        if nested && c == '}' {
            return Ok(out);
        }
        if c != '$' {
            out.push(c);
            *i += 1;
            continue;
        }
        *i += 1;
        match chars.get(*i) {
            Some('$') => {
                out.push('$');
                *i += 1;
            }
            Some('{') => {
                *i += 1;
                out.push_str(&braced(chars, i, env, unset)?);
            }
            Some(&c) if is_name_start(c) => {
                let start = *i;
                while *i < chars.len() && is_name_char(chars[*i]) {
                    *i += 1;
                }
                let name: String = chars[start..*i].iter().collect();
                match env.get(&name) {
                    Some(v) => out.push_str(&v),
                    None => unset.push(name),
                }
            }
            _ => {
                let rest: String = chars[*i - 1..].iter().collect();
                return Err(format!(
                    "invalid interpolation format for {rest:?}: a '$' must start a variable \
                     ($VAR or ${{VAR}}); write '$$' for a literal '$'"
                ));
            }
        }
    }
    if nested {
        return Err("missing closing brace '}' in a ${...} expression".into());
    }
    Ok(out)
}

/// After `${`: a name, an optional operator and word, and `}`.
fn braced(
    chars: &[char],
    i: &mut usize,
    env: &dyn Lookup,
    unset: &mut Vec<String>,
) -> Result<String, String> {
    let start = *i;
    while *i < chars.len() && is_name_char(chars[*i]) {
        *i += 1;
    }
    let name: String = chars[start..*i].iter().collect();
    if name.is_empty() || !is_name_start(chars[start]) {
        return Err(
            "invalid interpolation format: '${' must be followed by a variable name".into(),
        );
    }
    let value = env.get(&name);
    let Some(&op) = chars.get(*i) else {
        return Err(format!("missing closing brace '}}' after ${{{name}"));
    };
    if op == '}' {
        *i += 1;
        return Ok(value.unwrap_or_else(|| {
            unset.push(name);
            String::new()
        }));
    }
    let colon = op == ':';
    if colon {
        *i += 1;
    }
    let Some(&kind) = chars.get(*i) else {
        return Err(format!("missing closing brace '}}' after ${{{name}"));
    };
    if !matches!(kind, '-' | '?' | '+') {
        return Err(format!(
            "invalid interpolation format in ${{{name}...}}: expected one of ':-', '-', ':?', '?', ':+', '+' after the name"
        ));
    }
    *i += 1;
    // The word is expanded only when it is used, but parsed always (to find the brace);
    // its unset variables count only when it is used.
    let mut word_unset = Vec::new();
    let word = expand(chars, i, env, &mut word_unset, true)?;
    *i += 1; // the closing brace
    let is_set = value.is_some();
    let is_set_non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let present = if colon { is_set_non_empty } else { is_set };
    Ok(match kind {
        '-' if present => value.unwrap_or_default(),
        '-' => {
            unset.extend(word_unset);
            word
        }
        '?' if present => value.unwrap_or_default(),
        '?' => {
            let msg = if word.is_empty() {
                format!("required variable {name} is missing a value")
            } else {
                format!("required variable {name} is missing a value: {word}")
            };
            return Err(msg);
        }
        _ if present => {
            unset.extend(word_unset);
            word
        }
        _ => String::new(),
    })
}

/// Interpolates every string value of a tree (not the keys), in place. `path` names where
/// the tree is, for errors (`services.web.image`); warnings about unset variables are
/// pushed to `unset` once per variable.
pub fn interpolate_tree(
    value: &mut Value,
    path: &str,
    env: &dyn Lookup,
    unset: &mut Vec<String>,
) -> Result<(), (String, String)> {
    match value {
        Value::String(s) if s.contains('$') => {
            let r = interpolate(s, env).map_err(|e| (path.to_string(), e))?;
            for u in r.unset {
                if !unset.contains(&u) {
                    unset.push(u);
                }
            }
            *s = r.text;
        }
        Value::Array(items) => {
            for (n, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, &format!("{path}[{n}]"), env, unset)?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                interpolate_tree(v, &p, env, unset)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("foo".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8080".into()),
            _ => None,
        }
    }

    fn i(s: &str) -> String {
        interpolate(s, &env).unwrap().text
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(i("$FOO"), "foo");
        assert_eq!(i("${FOO}"), "foo");
        assert_eq!(i("a-${FOO}-b"), "a-foo-b");
        assert_eq!(i("$FOO.bar"), "foo.bar");
        assert_eq!(i("${PORT}:80"), "8080:80");
        assert_eq!(i("no vars"), "no vars");
    }

    #[test]
    fn dollar_dollar_is_a_literal_dollar() {
        assert_eq!(i("$$FOO"), "$FOO");
        assert_eq!(i("echo $${HOME}"), "echo ${HOME}");
        assert_eq!(i("$$$FOO"), "$foo");
    }

    #[test]
    fn defaults_with_and_without_colon() {
        assert_eq!(i("${UNSET:-d}"), "d");
        assert_eq!(i("${EMPTY:-d}"), "d");
        assert_eq!(i("${FOO:-d}"), "foo");
        assert_eq!(i("${UNSET-d}"), "d");
        assert_eq!(i("${EMPTY-d}"), "");
        assert_eq!(i("${UNSET:-}"), "");
        assert_eq!(i("${UNSET:-a b:c}"), "a b:c");
    }

    #[test]
    fn nested_defaults() {
        assert_eq!(i("${UNSET:-${FOO}}"), "foo");
        assert_eq!(i("${UNSET:-${ALSO:-x}-y}"), "x-y");
        assert_eq!(i("${FOO:-${NOPE}}"), "foo");
        // The unused default's unset variable is not reported.
        assert!(interpolate("${FOO:-${NOPE}}", &env)
            .unwrap()
            .unset
            .is_empty());
    }

    #[test]
    fn alternatives() {
        assert_eq!(i("${FOO:+alt}"), "alt");
        assert_eq!(i("${EMPTY:+alt}"), "");
        assert_eq!(i("${EMPTY+alt}"), "alt");
        assert_eq!(i("${UNSET+alt}"), "");
    }

    #[test]
    fn required_variables_fail_with_their_message() {
        let e = interpolate("${UNSET:?set it please}", &env).unwrap_err();
        assert!(e.contains("UNSET") && e.contains("set it please"), "{e}");
        let e = interpolate("${EMPTY:?}", &env).unwrap_err();
        assert!(e.contains("EMPTY"), "{e}");
        assert_eq!(i("${EMPTY?must}"), "");
        assert_eq!(i("${FOO:?must}"), "foo");
    }

    #[test]
    fn unset_variables_are_blank_and_reported() {
        let r = interpolate("a${UNSET}b$OTHER", &env).unwrap();
        assert_eq!(r.text, "ab");
        assert_eq!(r.unset, vec!["UNSET".to_string(), "OTHER".to_string()]);
    }

    #[test]
    fn malformed_templates_are_errors() {
        assert!(interpolate("${FOO", &env).is_err());
        assert!(interpolate("${}", &env).is_err());
        assert!(interpolate("${FOO:x}", &env).is_err());
        assert!(interpolate("cost: $5", &env).is_err());
        assert!(interpolate("${UNSET:-abc", &env).is_err());
        assert!(interpolate("end$", &env).is_err());
    }

    #[test]
    fn trees_interpolate_values_not_keys() {
        let mut v = serde_json::json!({"$FOO": "${FOO}", "list": ["$PORT", 3, true]});
        let mut unset = Vec::new();
        interpolate_tree(&mut v, "", &env, &mut unset).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"$FOO": "foo", "list": ["8080", 3, true]})
        );
        let mut bad = serde_json::json!({"services": {"web": {"image": "${X:?no image}"}}});
        let (path, msg) = interpolate_tree(&mut bad, "", &env, &mut unset).unwrap_err();
        assert_eq!(path, "services.web.image");
        assert!(msg.contains("no image"));
    }
}
