//! Every flag and command of the CLI, in one place (clap derive). Raw flags only: turning
//! them into a daemon endpoint happens in `hosts`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// berth — a Docker-compatible container engine client
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalOpts {
    /// Daemon socket to connect to (unix:///path or tcp://host:port)
    #[arg(short = 'H', long = "host", global = true, value_name = "ADDR")]
    pub host: Option<String>,
    /// Name of the context to use (overrides BERTH_HOST/DOCKER_HOST and `context use`)
    #[arg(short = 'c', long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Location of client config files (default ~/.berth; env BERTH_CONFIG)
    #[arg(long, global = true, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// Enable debug output
    #[arg(short = 'D', long, global = true)]
    pub debug: bool,
    /// Use TLS; implied by --tlsverify
    #[arg(long, global = true)]
    pub tls: bool,
    /// Use TLS and verify the daemon's certificate (env DOCKER_TLS_VERIFY)
    #[arg(long, global = true)]
    pub tlsverify: bool,
    /// Trust certs signed only by this CA
    #[arg(long, global = true, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,
    /// Path to the TLS client certificate
    #[arg(long, global = true, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,
    /// Path to the TLS client key
    #[arg(long, global = true, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the berth version information
    Version(FormatOpt),
    /// Display system-wide information
    Info(FormatOpt),
    /// Get real time events from the server
    Events(EventsOpts),
    /// Manage berth (system info, events)
    #[command(subcommand)]
    System(SystemCommand),
    /// Manage contexts (named daemon endpoints)
    #[command(subcommand)]
    Context(ContextCommand),
    /// Create certificates for TLS-protected TCP endpoints
    #[command(subcommand)]
    Tls(TlsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Display system-wide information
    Info(FormatOpt),
    /// Get real time events from the server
    Events(EventsOpts),
}

#[derive(Debug, Args)]
pub struct FormatOpt {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short = 'f', long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct EventsOpts {
    /// Filter output based on conditions provided (e.g. type=container, event=start)
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'json', or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show all events created since timestamp (Unix time, RFC 3339 date, or duration like 10m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// Create a context
    Create(ContextCreate),
    /// List contexts
    #[command(alias = "list")]
    Ls(ContextLs),
    /// Set the current context
    Use { name: String },
    /// Remove one or more contexts
    #[command(alias = "remove")]
    Rm {
        /// Force the removal of a context in use
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Display detailed information on one or more contexts
    Inspect {
        /// Format output using a custom template
        #[arg(short, long)]
        format: Option<String>,
        names: Vec<String>,
    },
    /// Print the name of the current context
    Show,
}

#[derive(Debug, Args)]
pub struct ContextCreate {
    pub name: String,
    /// Description of the context
    #[arg(long, default_value = "")]
    pub description: String,
    /// Set the docker endpoint: host=ADDR,ca=FILE,cert=FILE,key=FILE,skip-tls-verify=BOOL
    #[arg(long, value_name = "ENDPOINT")]
    pub docker: Option<String>,
}

#[derive(Debug, Args)]
pub struct ContextLs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Only show context names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Create a CA, a server certificate and a client certificate (Docker's file names)
    Init(TlsInit),
    /// Sign another client certificate with an existing CA
    Client(TlsClient),
}

#[derive(Debug, Args)]
pub struct TlsInit {
    /// Directory for ca.pem, ca-key.pem, server-cert.pem, server-key.pem, cert.pem, key.pem
    #[arg(long, default_value = "/etc/berth/tls")]
    pub dir: PathBuf,
    /// Extra DNS name or IP address for the server certificate (repeatable)
    #[arg(long = "hostname", value_name = "NAME")]
    pub hostnames: Vec<String>,
    /// Validity in days
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Replace existing files
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TlsClient {
    /// Directory holding ca.pem and ca-key.pem
    #[arg(long, default_value = "/etc/berth/tls")]
    pub ca_dir: PathBuf,
    /// Where to write cert.pem, key.pem and a copy of ca.pem
    #[arg(long)]
    pub out: PathBuf,
    /// Common name of the client
    #[arg(long, default_value = "client")]
    pub name: String,
    /// Validity in days
    #[arg(long, default_value_t = 365)]
    pub days: u32,
}
