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

/// Options of the `berth` command itself. As with docker, `-H` and `-c` go before the
/// command name (`berth -H unix:///x.sock history img`): after it they are the command's own
/// flags (`history -H/--human`, `import -c/--change`).
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalOpts {
    /// Daemon socket to connect to (unix:///path or tcp://host:port)
    #[arg(short = 'H', long = "host", value_name = "ADDR")]
    pub host: Option<String>,
    /// Name of the context to use (overrides BERTH_HOST/DOCKER_HOST and `context use`)
    #[arg(short = 'c', long, value_name = "NAME")]
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
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// List images
    Images(ImagesOpts),
    /// Show the history of an image
    History(HistoryOpts),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagOpts),
    /// Remove one or more images
    Rmi(RmiOpts),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveOpts),
    /// Load an image from a tar archive or STDIN
    Load(LoadOpts),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportOpts),
    /// Download an image from a registry
    Pull(PullOpts),
    /// Upload an image to a registry
    Push(PushOpts),
    /// Log in to a registry
    Login(LoginOpts),
    /// Log out from a registry
    Logout(LogoutOpts),
    /// Create certificates for TLS-protected TCP endpoints
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Build an image from a Dockerfile
    Build(BuildOpts),
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(VolumeCreateOpts),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(VolumeLsOpts),
    /// Display detailed information on one or more volumes
    Inspect {
        /// Format output using a custom template: 'json', or a Go template
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm {
        /// Force the removal of one or more volumes
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused local volumes
    Prune(VolumePruneOpts),
}

#[derive(Debug, Args)]
pub struct VolumeCreateOpts {
    /// Volume name (generated when omitted)
    pub name: Option<String>,
    /// Specify volume driver name
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume (key=value)
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set driver specific options (key=value)
    #[arg(short = 'o', long = "opt")]
    pub opts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VolumeLsOpts {
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Provide filter values (e.g. "dangling=true", "label=k=v", "name=x", "driver=local")
    #[arg(short, long = "filter", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct VolumePruneOpts {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show disk usage: images, containers, volumes, build cache
    Df(DfOpts),
    /// Display system-wide information
    Info(FormatOpt),
    /// Get real time events from the server
    Events(EventsOpts),
}

#[derive(Debug, Args)]
pub struct DfOpts {
    /// Show detailed information on space usage
    #[arg(short, long)]
    pub verbose: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    pub format: Option<String>,
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

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list", alias = "images")]
    Ls(ImagesOpts),
    /// Display detailed information on one or more images
    Inspect(ImageInspectOpts),
    /// Show the history of an image
    History(HistoryOpts),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagOpts),
    /// Remove one or more images
    #[command(visible_alias = "remove", alias = "rmi")]
    Rm(RmiOpts),
    /// Remove unused images
    Prune(ImagePruneOpts),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveOpts),
    /// Load an image from a tar archive or STDIN
    Load(LoadOpts),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportOpts),
    /// Download an image from a registry
    Pull(PullOpts),
    /// Upload an image to a registry
    Push(PushOpts),
}

#[derive(Debug, Args)]
pub struct PullOpts {
    /// Download all tagged images in the repository
    #[arg(short, long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable (os[/arch[/variant]])
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PushOpts {
    /// Push all tags of an image to the repository
    #[arg(short, long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LoginOpts {
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (prefer --password-stdin: a password on the command line is visible to others)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Registry (default: Docker Hub)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutOpts {
    /// Registry (default: Docker Hub)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

/// A `--filter key=value` flag value; anything without `=` is a usage error, as in docker.
pub fn parse_filter(s: &str) -> Result<String, String> {
    if s.contains('=') {
        Ok(s.to_string())
    } else {
        Err("bad format of filter (expected name=value)".to_string())
    }
}

#[derive(Debug, Args, Default)]
pub struct ImagesOpts {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided (dangling, label, reference, before, since)
    #[arg(short = 'f', long = "filter", value_name = "FILTER", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImageInspectOpts {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct HistoryOpts {
    /// Print sizes and dates in human readable format
    #[arg(
        short = 'H',
        long,
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL"
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct TagOpts {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct RmiOpts {
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    pub no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImagePruneOpts {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>", "label=<key>=<value>")
    #[arg(long = "filter", value_name = "FILTER", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SaveOpts {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadOpts {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ImportOpts {
    /// Apply Dockerfile instruction to the created image (repeatable)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable (os[/arch[/variant]])
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// A tar archive (plain or compressed), or - for STDIN
    #[arg(value_name = "file|URL|-")]
    pub source: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// `berth build` (issue #8).
#[derive(Debug, Args)]
pub struct BuildOpts {
    /// Name and optionally a tag in the 'name:tag' format (repeatable)
    #[arg(short, long, value_name = "NAME[:TAG]")]
    pub tag: Vec<String>,
    /// Name of the Dockerfile (default: 'PATH/Dockerfile'; '-' reads STDIN)
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<String>,
    /// Set build-time variables (KEY=VALUE, or KEY to take it from the environment)
    #[arg(long = "build-arg", value_name = "KEY[=VALUE]")]
    pub build_arg: Vec<String>,
    /// Set metadata for an image (KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Set the target build stage to build
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Suppress the build output and print the image ID on success
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Remove intermediate containers after a successful build
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub rm: bool,
    /// Always remove intermediate containers
    #[arg(long)]
    pub force_rm: bool,
    /// Networking mode for the RUN instructions
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Type of progress output: auto, plain, tty
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "tty"])]
    pub progress: String,
    /// The build context: a directory
    #[arg(value_name = "PATH")]
    pub context: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("berth").chain(args.iter().copied()))
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn history_human_flag_takes_an_optional_bool() {
        let human = |args: &[&str]| match parse(args).unwrap().command {
            Command::History(h) | Command::Image(ImageCommand::History(h)) => h.human,
            c => panic!("{c:?}"),
        };
        assert!(human(&["history", "img"]));
        assert!(human(&["history", "-H", "img"]));
        assert!(!human(&["history", "--human=false", "img"]));
        assert!(!human(&["history", "-H=false", "img"]));
        assert!(!human(&["image", "history", "--human=false", "img"]));
        // The global -H still works before the command.
        let cli = parse(&["-H", "unix:///x.sock", "history", "-H=false", "img"]).unwrap();
        assert_eq!(cli.global.host.as_deref(), Some("unix:///x.sock"));
    }

    #[test]
    fn image_commands_and_aliases() {
        let cli = parse(&[
            "-c", "ctx", "import", "-c", "ENV A=1", "--change", "CMD x", "f.tar", "r:t",
        ])
        .unwrap();
        assert_eq!(cli.global.context.as_deref(), Some("ctx"));
        match cli.command {
            Command::Import(o) => {
                assert_eq!(o.change, ["ENV A=1", "CMD x"]);
                assert_eq!(
                    (o.source.as_str(), o.reference.as_deref()),
                    ("f.tar", Some("r:t"))
                );
            }
            c => panic!("{c:?}"),
        }
        for args in [&["image", "ls"][..], &["image", "list"], &["images"]] {
            assert!(parse(args).is_ok(), "{args:?}");
        }
        for args in [
            &["image", "rm", "x"][..],
            &["image", "remove", "x"],
            &["rmi", "x"],
        ] {
            assert!(parse(args).is_ok(), "{args:?}");
        }
        assert!(parse(&["rmi"]).is_err());
        match parse(&["image", "pull", "-aq", "--platform", "linux/arm64", "x"])
            .unwrap()
            .command
        {
            Command::Image(ImageCommand::Pull(o)) => {
                assert!(o.all_tags && o.quiet);
                assert_eq!(o.platform.as_deref(), Some("linux/arm64"));
            }
            c => panic!("{c:?}"),
        }
        assert!(parse(&["push", "-a", "x"]).is_ok());
        match parse(&["login", "-u", "u", "--password-stdin", "reg:5000"])
            .unwrap()
            .command
        {
            Command::Login(o) => {
                assert!(o.password_stdin && o.password.is_none());
                assert_eq!(o.server.as_deref(), Some("reg:5000"));
            }
            c => panic!("{c:?}"),
        }
        assert!(parse(&["tag", "a"]).is_err());
        let e = parse(&["images", "-f", "bad"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("bad format of filter (expected name=value)"),
            "{e}"
        );
        assert!(e.use_stderr());
        match parse(&[
            "images",
            "-aq",
            "--digests",
            "--filter",
            "dangling=true",
            "busybox",
        ])
        .unwrap()
        .command
        {
            Command::Images(o) => {
                assert!(o.all && o.quiet && o.digests && !o.no_trunc);
                assert_eq!(o.filter, ["dangling=true"]);
                assert_eq!(o.reference.as_deref(), Some("busybox"));
            }
            c => panic!("{c:?}"),
        }
    }
}
