//! berth-format: what the docker CLI's `--format` flag does, for berth.
//!
//! This crate owns:
//! - Go `text/template` rendering over `serde_json::Value` data
//!   ([`Template`]), on the `gotmpl` engine, with docker/cli's extra
//!   functions `json`, `join`, `split`, `upper`, `lower`, `title`, `pad`
//!   and `truncate` next to Go's builtins (`println`, `printf`, `index`, ...);
//! - the meaning of a `--format` value ([`FormatSpec`]: default table,
//!   `table TEMPLATE`, `json`, or a plain template) and rendering a list of
//!   items with it ([`render`]), including the header row docker derives by
//!   executing the table template against the column names;
//! - a port of docker/cli's fork of Go's `text/tabwriter` ([`TabWriter`]);
//! - go-units' size and duration wording ([`human_size`],
//!   [`human_size_with_precision`], [`bytes_size`], [`human_duration`]).
//!
//! It does not own what the items are: each command turns its API objects
//! into JSON objects whose keys are docker's template field names (`ID`,
//! `Names`, `CreatedSince`, ...), with values already formatted for display,
//! and supplies its default table template and its column headers. Nor does
//! it own flags such as `--quiet` or `--no-trunc`, or `docker inspect`'s
//! output without `--format`.

mod error;
mod spec;
mod tabwriter;
mod template;
mod units;

pub use error::FormatError;
pub use spec::{render, FormatSpec};
pub use tabwriter::TabWriter;
pub use template::Template;
pub use units::{bytes_size, human_duration, human_size, human_size_with_precision};
