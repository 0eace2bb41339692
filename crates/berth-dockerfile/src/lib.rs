//! berth-dockerfile: what a Dockerfile says, without building anything.
//!
//! - [`parse`] turns Dockerfile text into [`Dockerfile`]: its parser directives
//!   (`# syntax=`, `# escape=`) and one [`Node`] per instruction, with line
//!   continuations joined, comments dropped and heredoc bodies (`RUN <<EOF`) attached.
//! - [`Instruction::from_node`] checks a node and gives the typed instruction (flags,
//!   JSON vs shell form, `KEY=value` pairs...), still unexpanded: which variables apply
//!   depends on the build's state, so expansion is the executor's call.
//! - [`shell::Expander`] is Docker's word expansion (`$VAR`, `${VAR:-default}`,
//!   `${VAR:+alt}`, quotes, the escape character).
//! - [`dockerignore`] reads `.dockerignore` files and matches paths with Docker's rules
//!   (`**`, `!` exceptions, a matching parent excludes its contents).
//!
//! It does no I/O and knows nothing of images or containers: the builder in berthd owns
//! those. Errors carry the line and column they refer to.

pub mod dockerignore;
mod error;
mod instruction;
mod parser;
pub mod shell;

pub use error::ParseError;
pub use instruction::{
    CommandForm, CopyArgs, FromArgs, Healthcheck, Instruction, RunArgs, KNOWN_INSTRUCTIONS,
};
pub use parser::{parse, Directives, Dockerfile, Heredoc, Node};
