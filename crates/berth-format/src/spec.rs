//! docker's `--format` flag: what its value means and how items render.

use std::borrow::Cow;
use std::io::Write;

use serde_json::Value;

use crate::tabwriter::TabWriter;
use crate::template::Template;
use crate::FormatError;

const TABLE_KEY: &str = "table";
const JSON_KEY: &str = "json";
const JSON_TEMPLATE: &str = "{{json .}}";

/// The value of a `--format` flag.
///
/// Template text held by the variants is final: [`FormatSpec::parse`] has
/// already trimmed spaces and turned the two-character sequences `\t` and
/// `\n` into a tab and a newline, as docker/cli does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatSpec {
    /// An aligned table with a header row. `None` is the command's default
    /// table (`--format ""` or `--format table`); `Some` holds the template
    /// of `--format "table TEMPLATE"`.
    Table(Option<String>),
    /// `--format json`: one compact JSON object per line.
    Json,
    /// Any other value: the template executed once per item, each followed
    /// by a newline.
    Template(String),
}

impl Default for FormatSpec {
    fn default() -> Self {
        FormatSpec::Table(None)
    }
}

impl FormatSpec {
    /// Interpret a `--format` value the way docker/cli does.
    ///
    /// A value that starts with `table` is a table (docker tests the prefix,
    /// so `tablefoo` is the table template `foo`); exactly `json` is JSON
    /// lines; anything else is a template.
    pub fn parse(format: &str) -> FormatSpec {
        if format == JSON_KEY {
            return FormatSpec::Json;
        }
        if format.is_empty() {
            return FormatSpec::Table(None);
        }
        match format.strip_prefix(TABLE_KEY) {
            Some(rest) => {
                let template = prepare(rest);
                if template.is_empty() {
                    FormatSpec::Table(None)
                } else {
                    FormatSpec::Table(Some(template))
                }
            }
            None => FormatSpec::Template(prepare(format)),
        }
    }

    /// Whether the output is an aligned table with a header row.
    pub fn is_table(&self) -> bool {
        matches!(self, FormatSpec::Table(_))
    }
}

/// docker/cli's `preFormat`: trim spaces and unescape `\t` and `\n`.
fn prepare(format: &str) -> String {
    format
        .trim_matches(' ')
        .replace(r"\t", "\t")
        .replace(r"\n", "\n")
}

/// Render `items` to `out` as `spec` asks.
///
/// `default_table` is the command's default table format, used for
/// [`FormatSpec::Table(None)`](FormatSpec::Table), with or without its
/// leading `table` keyword (`"table {{.ID}}\t{{.Image}}"`). `headers` maps
/// field names to header text (`("ID", "CONTAINER ID")`); fields a table
/// template uses that `headers` lacks are headed by their upper-cased name.
///
/// As in docker/cli, every item is rendered before anything is written, so
/// a failing item leaves `out` untouched; a table always has its header row,
/// even with no items, and is aligned by [`TabWriter::docker`].
///
/// # Errors
///
/// [`FormatError::Parse`] for a bad template, [`FormatError::Execute`] when
/// an item fails to render, [`FormatError::Io`] when writing fails.
pub fn render<W: Write + ?Sized>(
    spec: &FormatSpec,
    default_table: &str,
    headers: &[(&str, &str)],
    items: &[Value],
    out: &mut W,
) -> Result<(), FormatError> {
    let source: Cow<'_, str> = match spec {
        FormatSpec::Table(None) => Cow::Owned(prepare(
            default_table
                .strip_prefix(TABLE_KEY)
                .unwrap_or(default_table),
        )),
        FormatSpec::Table(Some(template)) | FormatSpec::Template(template) => {
            Cow::Borrowed(template)
        }
        FormatSpec::Json => Cow::Borrowed(JSON_TEMPLATE),
    };
    let template = Template::parse(&source)?;
    let mut body = String::new();
    for item in items {
        template.execute_into(item, &mut body)?;
        body.push('\n');
    }
    if spec.is_table() {
        let mut table = TabWriter::docker(&mut *out);
        table.write_all(template.render_header(headers).as_bytes())?;
        table.write_all(b"\n")?;
        table.write_all(body.as_bytes())?;
        table.flush()?;
    } else {
        out.write_all(body.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IMAGES_TABLE: &str =
        "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
    const IMAGES_HEADERS: &[(&str, &str)] = &[
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("ID", "IMAGE ID"),
        ("CreatedSince", "CREATED"),
        ("Size", "SIZE"),
    ];

    fn images() -> Vec<Value> {
        vec![
            json!({"Repository": "alpine", "Tag": "latest", "ID": "aded1e1a5b37",
                   "CreatedSince": "2 weeks ago", "Size": "7.83MB"}),
            json!({"Repository": "docker.io/library/nginx", "Tag": "1.25", "ID": "a8758716bb6a",
                   "CreatedSince": "3 months ago", "Size": "187MB"}),
        ]
    }

    fn render_to_string(spec: &FormatSpec, items: &[Value]) -> Result<String, FormatError> {
        let mut out = Vec::new();
        render(spec, IMAGES_TABLE, IMAGES_HEADERS, items, &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn parse_spec() {
        assert_eq!(FormatSpec::parse(""), FormatSpec::Table(None));
        assert_eq!(FormatSpec::parse("table"), FormatSpec::Table(None));
        assert_eq!(FormatSpec::parse("table  "), FormatSpec::Table(None));
        assert_eq!(
            FormatSpec::parse(r"table {{.ID}}\t{{.Names}}"),
            FormatSpec::Table(Some("{{.ID}}\t{{.Names}}".into()))
        );
        assert_eq!(FormatSpec::parse("json"), FormatSpec::Json);
        assert_eq!(
            FormatSpec::parse(r" {{.ID}}\n{{.Names}} "),
            FormatSpec::Template("{{.ID}}\n{{.Names}}".into())
        );
        assert_eq!(
            FormatSpec::parse(" json"),
            FormatSpec::Template("json".into())
        );
        assert!(FormatSpec::default().is_table());
        assert!(!FormatSpec::Json.is_table());
    }

    #[test]
    fn default_table() {
        let out = render_to_string(&FormatSpec::parse("table"), &images()).unwrap();
        assert_eq!(
            out,
            "REPOSITORY                TAG       IMAGE ID       CREATED        SIZE\n\
             alpine                    latest    aded1e1a5b37   2 weeks ago    7.83MB\n\
             docker.io/library/nginx   1.25      a8758716bb6a   3 months ago   187MB\n"
        );
    }

    #[test]
    fn table_header_only_without_items() {
        let out = render_to_string(&FormatSpec::Table(None), &[]).unwrap();
        assert_eq!(out, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
    }

    #[test]
    fn custom_table_with_headers_and_fallback() {
        let spec = FormatSpec::parse(r"table {{.ID}}\t{{.Foo}}\t{{upper .Tag}}");
        let out = render_to_string(&spec, &images()).unwrap();
        assert_eq!(
            out,
            "IMAGE ID       FOO          TAG\n\
             aded1e1a5b37   <no value>   LATEST\n\
             a8758716bb6a   <no value>   1.25\n"
        );
    }

    #[test]
    fn json_lines() {
        let items = vec![json!({"ID": "a", "Size": 1}), json!({"ID": "b<c>"})];
        let out = render_to_string(&FormatSpec::parse("json"), &items).unwrap();
        assert_eq!(out, "{\"ID\":\"a\",\"Size\":1}\n{\"ID\":\"b<c>\"}\n");
    }

    #[test]
    fn plain_template_per_item() {
        let spec = FormatSpec::parse(r"{{.Repository}}:{{.Tag}}\t{{.Size}}");
        let out = render_to_string(&spec, &images()).unwrap();
        assert_eq!(
            out,
            "alpine:latest\t7.83MB\ndocker.io/library/nginx:1.25\t187MB\n"
        );
        assert_eq!(render_to_string(&spec, &[]).unwrap(), "");
    }

    #[test]
    fn errors_write_nothing() {
        let mut out = Vec::new();
        let err = render(&FormatSpec::parse("{{.ID"), "", &[], &images(), &mut out).unwrap_err();
        assert!(err.to_string().starts_with("template parsing error: "));
        let err = render(
            &FormatSpec::parse("table {{upper .Size}}"),
            "",
            &[],
            &[json!({"Size": "1B"}), json!({"Size": 2})],
            &mut out,
        )
        .unwrap_err();
        assert!(matches!(err, FormatError::Execute(_)));
        assert!(out.is_empty());
    }
}
