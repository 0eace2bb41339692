//! docker's `inspect` output (`cli/command/inspect`), shared by every `… inspect` command:
//! without `--format`, the daemon's JSON documents as one array indented with 4 spaces,
//! keys in the daemon's order; `--format json`, the same array compact; any other format,
//! a template executed per document.

use std::io::Write;

use berth_format::Template;
use serde_json::Value;

use crate::error::StatusError;

enum Mode {
    Indented,
    Json,
    Template(Box<Template>),
}

/// Collects the inspected documents, then writes them all at once.
pub struct Inspector {
    mode: Mode,
    raw: Vec<Vec<u8>>,
    rendered: String,
}

impl Inspector {
    /// A bad template is exit status 64, as in docker.
    pub fn new(format: Option<&str>) -> Result<Self, StatusError> {
        let mode = match format.unwrap_or("") {
            "" => Mode::Indented,
            "json" => Mode::Json,
            f => Mode::Template(Box::new(
                Template::parse(f).map_err(|e| StatusError::with_code(64, e.to_string()))?,
            )),
        };
        Ok(Self {
            mode,
            raw: Vec::new(),
            rendered: String::new(),
        })
    }

    /// Adds one document, as the daemon sent it. With a template, an error executing it
    /// comes back as the message to report.
    pub fn add(&mut self, raw: &[u8]) -> Result<(), String> {
        match &self.mode {
            Mode::Template(t) => {
                let value: Value = serde_json::from_slice(raw)
                    .map_err(|e| format!("unable to read inspect data: {e}"))?;
                let text = t.execute(&value).map_err(|e| e.to_string())?;
                self.rendered.push_str(&text);
                self.rendered.push('\n');
            }
            _ => self.raw.push(raw.to_vec()),
        }
        Ok(())
    }

    /// Writes the output: `[]` when nothing was added (an empty line with a template).
    pub fn finish<W: Write>(self, out: &mut W) -> std::io::Result<()> {
        match self.mode {
            Mode::Template(_) => {
                if self.rendered.is_empty() {
                    out.write_all(b"\n")
                } else {
                    out.write_all(self.rendered.as_bytes())
                }
            }
            mode => {
                let mut array = b"[".to_vec();
                for (i, r) in self.raw.iter().enumerate() {
                    if i > 0 {
                        array.push(b',');
                    }
                    array.extend_from_slice(r);
                }
                array.push(b']');
                let indent = matches!(mode, Mode::Indented).then_some("    ");
                let text = reformat_json(&array, indent);
                out.write_all(text.as_bytes())?;
                out.write_all(b"\n")
            }
        }
    }
}

/// Go's `json.Indent(dst, src, "", indent)` (or `json.Compact` without an indent) on
/// valid JSON: whitespace between tokens is replaced, strings and key order are kept
/// byte for byte, and empty `{}`/`[]` stay on one line.
pub fn reformat_json(src: &[u8], indent: Option<&str>) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        if let Some(ind) = indent {
            out.push(b'\n');
            for _ in 0..depth {
                out.extend_from_slice(ind.as_bytes());
            }
        }
    };
    for &c in src {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need_indent && c != b'}' && c != b']' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            b'"' => {
                in_string = true;
                out.push(c);
            }
            b'{' | b'[' => {
                need_indent = true;
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => {
                out.push(c);
                if indent.is_some() {
                    out.push(b' ');
                }
            }
            b'}' | b']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[u8] = br#"{"Id":"sha256:1","RepoTags":["a:1","b \"x\" , : {"],"RepoDigests":[],"Config":{},"Nested":{"K":[1,{"z":null,"a":true}]}}
"#;

    fn finish(i: Inspector) -> String {
        let mut out = Vec::new();
        i.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn indents_like_go() {
        let mut i = Inspector::new(None).unwrap();
        i.add(DOC).unwrap();
        assert_eq!(
            finish(i),
            r#"[
    {
        "Id": "sha256:1",
        "RepoTags": [
            "a:1",
            "b \"x\" , : {"
        ],
        "RepoDigests": [],
        "Config": {},
        "Nested": {
            "K": [
                1,
                {
                    "z": null,
                    "a": true
                }
            ]
        }
    }
]
"#
        );
        assert_eq!(finish(Inspector::new(None).unwrap()), "[]\n");
    }

    #[test]
    fn json_is_one_compact_array() {
        let mut i = Inspector::new(Some("json")).unwrap();
        i.add(DOC).unwrap();
        i.add(b"{ \"Id\" : 2 }").unwrap();
        assert_eq!(
            finish(i),
            "[{\"Id\":\"sha256:1\",\"RepoTags\":[\"a:1\",\"b \\\"x\\\" , : {\"],\"RepoDigests\":[],\"Config\":{},\"Nested\":{\"K\":[1,{\"z\":null,\"a\":true}]}},{\"Id\":2}]\n"
        );
    }

    #[test]
    fn templates_run_per_document() {
        let mut i = Inspector::new(Some("{{.Id}} {{json .RepoDigests}}")).unwrap();
        i.add(DOC).unwrap();
        i.add(DOC).unwrap();
        assert_eq!(finish(i), "sha256:1 []\nsha256:1 []\n");
        assert_eq!(finish(Inspector::new(Some("{{.Id}}")).unwrap()), "\n");
        let e = Inspector::new(Some("{{.Id")).err().unwrap();
        assert_eq!(e.code, 64);
        assert!(
            e.message.starts_with("template parsing error"),
            "{}",
            e.message
        );
        let mut i = Inspector::new(Some("{{upper .Nested}}")).unwrap();
        assert!(i
            .add(DOC)
            .unwrap_err()
            .starts_with("template parsing error"));
    }
}
