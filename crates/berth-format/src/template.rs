//! Go `text/template` over JSON values, with docker/cli's extra functions.
//!
//! The engine is the `gotmpl` crate. This module adds what docker/cli's
//! `templates` package adds on top of Go's engine: the `json`, `split`,
//! `join`, `title`, `lower`, `upper`, `pad` and `truncate` functions, the
//! identity "header" variants used to render a table's header row, and
//! Go's parse-time check that every function a template names exists.

use std::sync::Arc;

use gotmpl::parse::{Expr, ListNode, Node, Parser, PipeNode};
use gotmpl::{FuncMap, TemplateError, Value};
use serde_json::Value as Json;

use crate::FormatError;

/// Functions Go's `text/template` predefines.
const GO_BUILTINS: &[&str] = &[
    "and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne", "not", "or",
    "print", "printf", "println", "slice", "urlquery",
];

/// Functions docker/cli adds (`templates.basicFunctions`).
const DOCKER_FUNCTIONS: &[&str] = &[
    "json", "join", "lower", "pad", "split", "title", "truncate", "upper",
];

/// A parsed Go template, executed over `serde_json::Value` data.
///
/// JSON objects behave like Go maps: `{{.Name}}` looks a key up and a
/// missing key prints `<no value>`. JSON numbers that are integers stay
/// integers (`{{.Size}}` prints `1024`, not `1024.0`).
pub struct Template {
    source: String,
    inner: gotmpl::Template,
    fields: Vec<Vec<String>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Parse `source` as a Go template with docker's functions available.
    ///
    /// # Errors
    ///
    /// [`FormatError::Parse`] for a syntax error or a call of a function
    /// that does not exist, worded like Go's
    /// (`template: :1: function "foo" not defined`).
    pub fn parse(source: &str) -> Result<Self, FormatError> {
        let (tree, defines) = Parser::with_name(Some(""), source, "{{", "}}")
            .and_then(Parser::parse)
            .map_err(|e| FormatError::Parse(describe(e)))?;
        let mut refs = References::default();
        refs.list(&tree);
        for define in &defines {
            refs.list(&define.body);
        }
        if let Some((name, line)) = refs.unknown_function {
            return Err(FormatError::Parse(format!(
                "template: :{line}: function {name:?} not defined"
            )));
        }
        let inner = gotmpl::Template::new("")
            .funcs(basic_functions())
            .parse(source)
            .map_err(|e| FormatError::Parse(describe(e)))?;
        Ok(Template {
            source: source.to_owned(),
            inner,
            fields: refs.fields,
        })
    }

    /// Execute the template with `data` as dot and return the output.
    ///
    /// # Errors
    ///
    /// [`FormatError::Execute`] when execution fails (for example `upper`
    /// applied to a number, or a field looked up on a string).
    pub fn execute(&self, data: &Json) -> Result<String, FormatError> {
        let mut out = String::new();
        self.execute_into(data, &mut out)?;
        Ok(out)
    }

    /// Execute the template, appending its output to `out`.
    pub(crate) fn execute_into(&self, data: &Json, out: &mut String) -> Result<(), FormatError> {
        self.inner
            .execute_fmt(out, &to_template_value(data))
            .map_err(|e| FormatError::Execute(describe(e)))
    }

    /// Render the table header row the way docker/cli does: execute the same
    /// template, with the header functions, against a context mapping each
    /// field name to its header text.
    ///
    /// `headers` maps field names (or dotted paths such as `Labels.foo`) to
    /// header text; a field the template uses that `headers` lacks gets its
    /// name upper-cased (`.Foo` → `FOO`, `.Labels.foo` → `FOO`). Like docker,
    /// an execution failure is ignored and whatever was written before it is
    /// the header.
    pub(crate) fn render_header(&self, headers: &[(&str, &str)]) -> String {
        let mut context = serde_json::Map::new();
        for (field, text) in headers {
            context.insert((*field).to_owned(), Json::String((*text).to_owned()));
        }
        for path in &self.fields {
            insert_header(&mut context, path, "", headers);
        }
        let mut out = String::new();
        if let Ok(header) = gotmpl::Template::new("")
            .funcs(header_functions())
            .parse(&self.source)
        {
            // Docker ignores header execution errors and keeps partial output.
            let _ = header.execute_fmt(&mut out, &to_template_value(&Json::Object(context)));
        }
        out
    }
}

/// Add the header text for one field path to the header context, nesting
/// maps for dotted paths so that `.Labels.foo` resolves to a string.
fn insert_header(
    map: &mut serde_json::Map<String, Json>,
    path: &[String],
    prefix: &str,
    headers: &[(&str, &str)],
) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = if prefix.is_empty() {
        first.clone()
    } else {
        format!("{prefix}.{first}")
    };
    if rest.is_empty() {
        map.entry(first.clone()).or_insert_with(|| {
            let text = headers
                .iter()
                .find(|(field, _)| *field == key)
                .map_or_else(|| first.to_uppercase(), |(_, text)| (*text).to_owned());
            Json::String(text)
        });
        return;
    }
    let entry = map
        .entry(first.clone())
        .or_insert_with(|| Json::Object(serde_json::Map::new()));
    if !entry.is_object() {
        *entry = Json::Object(serde_json::Map::new());
    }
    if let Json::Object(inner) = entry {
        insert_header(inner, rest, &key, headers);
    }
}

/// Field paths rooted at the data (`.A.B`, `$.A`) and the first call of an
/// unknown function, gathered from a parse tree.
#[derive(Default)]
struct References {
    fields: Vec<Vec<String>>,
    unknown_function: Option<(String, usize)>,
}

impl References {
    fn list(&mut self, list: &ListNode) {
        for node in &list.nodes {
            self.node(node);
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::List(list) => self.list(list),
            Node::Action(action) => self.pipe(&action.pipe),
            Node::If(branch) | Node::Range(branch) | Node::With(branch) => {
                self.pipe(&branch.pipe);
                self.list(&branch.body);
                if let Some(else_body) = &branch.else_body {
                    self.list(else_body);
                }
            }
            Node::Template(call) => {
                if let Some(pipe) = &call.pipe {
                    self.pipe(pipe);
                }
            }
            Node::Define(define) => self.list(&define.body),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }

    fn pipe(&mut self, pipe: &PipeNode) {
        for command in &pipe.commands {
            for arg in &command.args {
                self.expr(arg);
            }
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Field(_, path) => self.field(path),
            Expr::Variable(_, name, path) if name == "$" => self.field(path),
            Expr::Identifier(pos, name) => {
                let known = GO_BUILTINS.contains(&name.as_str())
                    || DOCKER_FUNCTIONS.contains(&name.as_str());
                if !known && self.unknown_function.is_none() {
                    self.unknown_function = Some((name.to_string(), pos.line));
                }
            }
            Expr::Pipe(_, pipe) => self.pipe(pipe),
            Expr::Chain(_, inner, _) => self.expr(inner),
            _ => {}
        }
    }

    fn field(&mut self, path: &[gotmpl::parse::SmolStr]) {
        if path.is_empty() {
            return;
        }
        let path: Vec<String> = path.iter().map(ToString::to_string).collect();
        if !self.fields.contains(&path) {
            self.fields.push(path);
        }
    }
}

/// Word a gotmpl error like Go does where the information allows it.
fn describe(err: TemplateError) -> String {
    match err {
        TemplateError::Parse { line, message, .. } | TemplateError::Lex { line, message, .. } => {
            format!("template: :{line}: {message}")
        }
        TemplateError::Exec(message) => message,
        other => other.to_string(),
    }
}

/// Convert JSON data to the engine's value type.
fn to_template_value(value: &Json) -> Value {
    match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Uint(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::String(s.as_str().into()),
        Json::Array(items) => Value::List(items.iter().map(to_template_value).collect()),
        Json::Object(map) => Value::Map(Arc::new(
            map.iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_template_value(v)))
                .collect(),
        )),
    }
}

/// Convert an engine value back to JSON, as Go's `json.Marshal` sees it.
/// `None` for what Go cannot marshal (functions, NaN, infinities).
fn to_json(value: &Value) -> Option<Json> {
    Some(match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Uint(u) => Json::from(*u),
        Value::Float(f) => float_to_json(*f)?,
        Value::String(s) => Json::String(s.to_string()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect::<Option<_>>()?),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Some((k.to_string(), to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// Go marshals an integral float64 below 1e21 without a fraction (`3`,
/// not `3.0`).
fn float_to_json(f: f64) -> Option<Json> {
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 {
        if f.abs() < 9.0e18 {
            return Some(Json::from(f as i64));
        }
        if f > 0.0 && f < 1.8e19 {
            return Some(Json::from(f as u64));
        }
    }
    serde_json::Number::from_f64(f).map(Json::Number)
}

/// docker's `json` function: compact JSON, HTML characters left alone,
/// U+2028/U+2029 escaped like Go's encoder, no trailing newline. What Go
/// cannot marshal renders as the empty string, as in docker.
fn go_json(value: &Value) -> String {
    to_json(value)
        .and_then(|json| serde_json::to_string(&json).ok())
        .map(|s| {
            s.replace('\u{2028}', "\\u2028")
                .replace('\u{2029}', "\\u2029")
        })
        .unwrap_or_default()
}

fn exec_error(message: String) -> TemplateError {
    TemplateError::Exec(message)
}

fn arg_count(name: &str, want: usize, args: &[Value]) -> TemplateError {
    exec_error(format!(
        "wrong number of args for {name}: want {want} got {}",
        args.len()
    ))
}

fn string_arg(value: &Value) -> gotmpl::Result<&str> {
    match value {
        Value::String(s) => Ok(s),
        Value::Nil => Err(exec_error("invalid value; expected string".to_owned())),
        other => Err(exec_error(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
    }
}

fn int_arg(value: &Value) -> gotmpl::Result<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::Uint(u) => {
            i64::try_from(*u).map_err(|_| exec_error(format!("value {u} overflows int")))
        }
        Value::Nil => Err(exec_error("invalid value; expected int".to_owned())),
        other => Err(exec_error(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        ))),
    }
}

fn string_value(s: impl Into<Arc<str>>) -> Value {
    Value::String(s.into())
}

/// Go's `unicode.ToUpper`: a one-to-one mapping, so characters whose full
/// upper case is several characters (`ß`) stay as they are.
fn upper_char(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`: one-to-one (`İ` becomes `i`).
fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Go's `strings.Title` word boundary test.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

fn json_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [value] = args else {
        return Err(arg_count("json", 1, args));
    };
    Ok(string_value(go_json(value)))
}

fn split_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [s, sep] = args else {
        return Err(arg_count("split", 2, args));
    };
    let (s, sep) = (string_arg(s)?, string_arg(sep)?);
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| string_value(c.to_string())).collect()
    } else {
        s.split(sep).map(string_value).collect()
    };
    Ok(Value::List(parts.into()))
}

fn join_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [list, sep] = args else {
        return Err(arg_count("join", 2, args));
    };
    let sep = string_arg(sep)?;
    let items: &[Value] = match list {
        Value::List(items) => items,
        // A missing value is a nil []string to Go: joins to "".
        Value::Nil => &[],
        other => {
            return Err(exec_error(format!(
                "wrong type for value; expected []string; got {}",
                other.type_name()
            )));
        }
    };
    let parts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::String(s) => s.to_string(),
            other => other.to_string(),
        })
        .collect();
    Ok(string_value(parts.join(sep)))
}

fn title_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [s] = args else {
        return Err(arg_count("title", 1, args));
    };
    let mut prev = ' ';
    let titled: String = string_arg(s)?
        .chars()
        .map(|c| {
            let out = if is_separator(prev) { upper_char(c) } else { c };
            prev = c;
            out
        })
        .collect();
    Ok(string_value(titled))
}

fn lower_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [s] = args else {
        return Err(arg_count("lower", 1, args));
    };
    Ok(string_value(
        string_arg(s)?.chars().map(lower_char).collect::<String>(),
    ))
}

fn upper_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [s] = args else {
        return Err(arg_count("upper", 1, args));
    };
    Ok(string_value(
        string_arg(s)?.chars().map(upper_char).collect::<String>(),
    ))
}

/// docker's `pad`: `left` spaces before and `right` after a non-empty string.
fn pad_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [s, left, right] = args else {
        return Err(arg_count("pad", 3, args));
    };
    let s = string_arg(s)?;
    let (left, right) = (int_arg(left)?, int_arg(right)?);
    if s.is_empty() {
        return Ok(string_value(s));
    }
    let (Ok(left), Ok(right)) = (usize::try_from(left), usize::try_from(right)) else {
        return Err(exec_error(
            "error calling pad: strings: negative Repeat count".to_owned(),
        ));
    };
    Ok(string_value(format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(right)
    )))
}

/// docker's `truncate`: the first `n` characters of a string.
fn truncate_fn(args: &[Value]) -> gotmpl::Result<Value> {
    let [s, n] = args else {
        return Err(arg_count("truncate", 2, args));
    };
    let s = string_arg(s)?;
    let Ok(n) = usize::try_from(int_arg(n)?) else {
        return Err(exec_error(
            "error calling truncate: slice bounds out of range".to_owned(),
        ));
    };
    Ok(string_value(s.chars().take(n).collect::<String>()))
}

/// Header variant of a one-argument function: the column name unchanged.
fn header_identity(args: &[Value]) -> gotmpl::Result<Value> {
    let [s] = args else {
        return Err(arg_count("header function", 1, args));
    };
    Ok(string_value(string_arg(s)?))
}

/// Header variant of a two-argument function: the column name unchanged.
fn header_first_of_two(args: &[Value]) -> gotmpl::Result<Value> {
    let [s, _] = args else {
        return Err(arg_count("header function", 2, args));
    };
    Ok(string_value(string_arg(s)?))
}

/// docker/cli's `templates.basicFunctions`.
fn basic_functions() -> FuncMap {
    let mut funcs = FuncMap::new();
    funcs.insert("json".into(), Arc::new(json_fn));
    funcs.insert("split".into(), Arc::new(split_fn));
    funcs.insert("join".into(), Arc::new(join_fn));
    funcs.insert("title".into(), Arc::new(title_fn));
    funcs.insert("lower".into(), Arc::new(lower_fn));
    funcs.insert("upper".into(), Arc::new(upper_fn));
    funcs.insert("pad".into(), Arc::new(pad_fn));
    funcs.insert("truncate".into(), Arc::new(truncate_fn));
    funcs
}

/// docker/cli's `templates.HeaderFunctions` layered over the basic ones:
/// every function but `pad` returns the column name untouched.
fn header_functions() -> FuncMap {
    let mut funcs = basic_functions();
    for name in ["json", "title", "lower", "upper"] {
        funcs.insert(name.into(), Arc::new(header_identity));
    }
    for name in ["split", "join", "truncate"] {
        funcs.insert(name.into(), Arc::new(header_first_of_two));
    }
    funcs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(template: &str, data: &Json) -> String {
        match Template::parse(template).and_then(|t| t.execute(data)) {
            Ok(out) => out,
            Err(e) => format!("ERROR {e}"),
        }
    }

    #[test]
    fn field_access() {
        let data = json!({"ID": "abc123", "Size": 1024, "Ratio": 0.5, "Up": true});
        assert_eq!(run("{{.ID}}", &data), "abc123");
        assert_eq!(run("{{.Size}} {{.Ratio}} {{.Up}}", &data), "1024 0.5 true");
        assert_eq!(run("{{.Missing}}", &data), "<no value>");
        assert_eq!(run("{{.Missing.Deeper}}", &data), "<no value>");
    }

    #[test]
    fn nested_map_and_control_flow() {
        let data = json!({
            "Labels": {"foo": "bar", "a.b": "c"},
            "Names": ["web", "db"],
            "State": {"Running": false}
        });
        assert_eq!(run("{{.Labels.foo}}", &data), "bar");
        assert_eq!(run(r#"{{index .Labels "a.b"}}"#, &data), "c");
        assert_eq!(
            run("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", &data),
            "a.b=c;foo=bar;"
        );
        assert_eq!(run("{{range .Names}}<{{.}}>{{end}}", &data), "<web><db>");
        assert_eq!(
            run("{{if .State.Running}}up{{else}}down{{end}}", &data),
            "down"
        );
        assert_eq!(run("{{$.Names}}", &data), "[web db]");
    }

    #[test]
    fn json_function() {
        let data = json!({
            "Name": "a<b>&c",
            "Size": 3,
            "Nested": {"z": 1, "a": [true, null, 2.5]},
        });
        assert_eq!(run("{{json .Name}}", &data), r#""a<b>&c""#);
        assert_eq!(run("{{json .Size}}", &data), "3");
        assert_eq!(
            run("{{json .Nested}}", &data),
            r#"{"a":[true,null,2.5],"z":1}"#
        );
        assert_eq!(run("{{json .Missing}}", &data), "null");
        assert_eq!(run(r#"{{json "\u2028"}}"#, &data), r#""\u2028""#);
        assert_eq!(
            go_json(&Value::Float(3.0)),
            "3",
            "Go marshals integral floats without a fraction"
        );
        assert_eq!(go_json(&Value::Float(f64::NAN)), "");
    }

    #[test]
    fn join_and_split() {
        let data = json!({"Names": ["web", "db"], "Image": "nginx:1.25", "None": null});
        assert_eq!(run(r#"{{join .Names ", "}}"#, &data), "web, db");
        assert_eq!(run(r#"{{join .Missing ","}}"#, &data), "");
        assert_eq!(run(r#"{{split .Image ":"}}"#, &data), "[nginx 1.25]");
        assert_eq!(run(r#"{{index (split .Image ":") 1}}"#, &data), "1.25");
        assert_eq!(run(r#"{{split "ab" ""}}"#, &data), "[a b]");
        assert_eq!(run(r#"{{len (split "" ",")}}"#, &data), "1");
    }

    #[test]
    fn case_functions() {
        let data = json!({"S": "hello wORLD-foo_bar straße"});
        assert_eq!(run("{{upper .S}}", &data), "HELLO WORLD-FOO_BAR STRAßE");
        assert_eq!(run("{{lower .S}}", &data), "hello world-foo_bar straße");
        assert_eq!(run("{{title .S}}", &data), "Hello WORLD-Foo_bar Straße");
        assert_eq!(run("{{.S | upper}}", &data), "HELLO WORLD-FOO_BAR STRAßE");
    }

    #[test]
    fn println_pad_truncate() {
        let data = json!({"A": "x", "N": 5, "Empty": "", "U": "héllo"});
        assert_eq!(run("{{println .A .N}}", &data), "x 5\n");
        assert_eq!(run("[{{pad .A 2 1}}]", &data), "[  x ]");
        assert_eq!(run("[{{pad .Empty 2 1}}]", &data), "[]");
        assert_eq!(run("{{truncate .U 2}}", &data), "hé");
        assert_eq!(run("{{truncate .U 50}}", &data), "héllo");
        assert_eq!(
            run("{{pad .A -1 0}}", &data),
            "ERROR template parsing error: error calling pad: strings: negative Repeat count"
        );
    }

    #[test]
    fn wrong_argument_types_are_execution_errors() {
        let data = json!({"N": 5});
        assert_eq!(
            run("{{upper .N}}", &data),
            "ERROR template parsing error: wrong type for value; expected string; got int"
        );
        assert_eq!(
            run("{{upper .Missing}}", &data),
            "ERROR template parsing error: invalid value; expected string"
        );
        assert!(matches!(
            Template::parse("{{.N.X}}").and_then(|t| t.execute(&data)),
            Err(FormatError::Execute(_))
        ));
    }

    #[test]
    fn bad_templates_fail_to_parse() {
        let err = Template::parse("{{.ID").unwrap_err();
        assert!(matches!(err, FormatError::Parse(_)));
        assert_eq!(
            err.to_string(),
            "template parsing error: template: :1: unclosed action"
        );
        let err = Template::parse("{{.ID}}\n{{nosuch .ID}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"template parsing error: template: :2: function "nosuch" not defined"#
        );
        assert!(Template::parse(r#"{{define "x"}}{{bogus}}{{end}}"#).is_err());
    }

    #[test]
    fn header_uses_header_functions_and_fallback_names() {
        let t = Template::parse(
            r#"{{.ID}}|{{upper .Names}}|{{json .Foo}}|{{truncate .Command 5}}|{{pad .Size 1 1}}|{{.Labels.app}}"#,
        )
        .unwrap();
        let header = t.render_header(&[("ID", "CONTAINER ID"), ("Names", "NAMES")]);
        assert_eq!(header, "CONTAINER ID|NAMES|FOO|COMMAND| SIZE |APP");
        let t = Template::parse("{{.Labels.app}}").unwrap();
        assert_eq!(t.render_header(&[("Labels.app", "APP LABEL")]), "APP LABEL");
    }

    #[test]
    fn header_failure_keeps_partial_output() {
        let t = Template::parse("{{.ID}}\t{{range .Mounts}}{{.}}{{end}}").unwrap();
        assert_eq!(t.render_header(&[]), "ID\t");
    }
}
