//! Every flag and command of the CLI, in one place (clap derive). Raw flags only: turning
//! them into a daemon endpoint happens in `hosts`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::opts::{
    go_duration, mem_swap_bytes, nano_cpus, parse_attach, parse_device, parse_mount, parse_restart,
    parse_tmpfs, parse_ulimit, ram_in_bytes, validate_env, validate_extra_host, validate_ip,
    validate_label, validate_sysctl, DeviceMapping, Mount, RestartPolicy, Ulimit,
};

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
    /// Search a registry for images
    Search(SearchOpts),
    /// Log out from a registry
    Logout(LogoutOpts),
    /// Create certificates for TLS-protected TCP endpoints
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Create and run a new container from an image
    Run(RunOpts),
    /// Create a new container
    Create(CreateOpts),
    /// Start one or more stopped containers
    Start(StartOpts),
    /// Stop one or more running containers
    Stop(StopOpts),
    /// Kill one or more running containers
    Kill(KillOpts),
    /// Restart one or more containers
    Restart(StopOpts),
    /// Remove one or more containers
    Rm(RmOpts),
    /// List containers
    Ps(PsOpts),
    /// Return low-level information on berth objects
    Inspect(InspectOpts),
    /// Fetch the logs of a container
    Logs(LogsOpts),
    /// Block until one or more containers stop, then print their exit codes
    Wait(ContainersArg),
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachOpts),
    /// Execute a command in a running container
    Exec(ExecOpts),
    /// Display the running processes of a container
    Top(TopOpts),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsOpts),
    /// Pause all processes within one or more containers
    Pause(ContainersArg),
    /// Unpause all processes within one or more containers
    Unpause(ContainersArg),
    /// Rename a container
    Rename(RenameOpts),
    /// Update configuration of one or more containers
    Update(UpdateOpts),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpOpts),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(ContainerArg),
    /// Create a new image from a container's changes
    Commit(CommitOpts),
    /// Export a container's filesystem as a tar archive
    Export(ExportOpts),
    /// List port mappings or a specific mapping for the container
    Port(PortOpts),
    /// Build an image from a Dockerfile
    Build(BuildOpts),
    /// Define and run multi-container applications (issue #9)
    Compose(crate::commands::compose::ComposeArgs),
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
    /// Remove unused data
    Prune(SystemPruneOpts), // check hook
    /// Check the data root for a crash's leftovers (dry run of berthd's start-up check)
    Check(SystemCheckOpts), // check hook
}

/// check hook: `berth system prune`.
#[derive(Debug, Args)]
pub struct SystemPruneOpts {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// check hook: `berth system check`.
#[derive(Debug, Args)]
pub struct SystemCheckOpts {
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
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
pub struct SearchOpts {
    /// Filter output based on conditions provided (stars=N, is-official=BOOL, is-automated=BOOL)
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Max number of search results
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// What to search for: a name, or REGISTRY/NAME for a private registry
    #[arg(value_name = "TERM")]
    pub term: String,
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

// ---------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachOpts),
    /// Create a new image from a container's changes
    Commit(CommitOpts),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpOpts),
    /// Create a new container
    Create(CreateOpts),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(ContainerArg),
    /// Execute a command in a running container
    Exec(ExecOpts),
    /// Export a container's filesystem as a tar archive
    Export(ExportOpts),
    /// Display detailed information on one or more containers
    Inspect(ContainerInspectOpts),
    /// Kill one or more running containers
    Kill(KillOpts),
    /// Fetch the logs of a container
    Logs(LogsOpts),
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(PsOpts),
    /// Pause all processes within one or more containers
    Pause(ContainersArg),
    /// List port mappings or a specific mapping for the container
    Port(PortOpts),
    /// Remove all stopped containers
    Prune(ContainerPruneOpts),
    /// Rename a container
    Rename(RenameOpts),
    /// Restart one or more containers
    Restart(StopOpts),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmOpts),
    /// Create and run a new container from an image
    Run(RunOpts),
    /// Start one or more stopped containers
    Start(StartOpts),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsOpts),
    /// Stop one or more running containers
    Stop(StopOpts),
    /// Display the running processes of a container
    Top(TopOpts),
    /// Unpause all processes within one or more containers
    Unpause(ContainersArg),
    /// Update configuration of one or more containers
    Update(UpdateOpts),
    /// Block until one or more containers stop, then print their exit codes
    Wait(ContainersArg),
}

/// Options shared by `create` and `run`: everything that goes into the create request.
#[derive(Debug, Args, Default, Clone)]
pub struct ContainerOpts {
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long = "attach", value_name = "STREAM", value_parser = parse_attach)]
    pub attach: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to copy it from here)
    #[arg(short = 'e', long = "env", value_name = "LIST", value_parser = validate_env)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "COMMAND")]
    pub entrypoint: Option<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "LIST", value_parser = validate_label)]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "FILE")]
    pub label_file: Vec<PathBuf>,
    /// Restart policy to apply when a container exits (no, always, unless-stopped, on-failure[:max-retries])
    #[arg(long, default_value = "no", value_parser = parse_restart)]
    pub restart: RestartPolicy,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Container NIS domain name
    #[arg(long)]
    pub domainname: Option<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "LIST")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "LIST")]
    pub cap_drop: Vec<String>,
    /// Security Options
    #[arg(long = "security-opt", value_name = "LIST")]
    pub security_opt: Vec<String>,
    /// Add a host device to the container
    #[arg(long = "device", value_name = "LIST", value_parser = parse_device)]
    pub device: Vec<DeviceMapping>,
    /// Sysctl options
    #[arg(long = "sysctl", value_name = "MAP", value_parser = validate_sysctl)]
    pub sysctl: Vec<String>,
    /// Ulimit options
    #[arg(long = "ulimit", value_name = "ULIMIT", value_parser = parse_ulimit)]
    pub ulimit: Vec<Ulimit>,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "BYTES", value_parser = ram_in_bytes)]
    pub shm_size: Option<i64>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// PID namespace to use
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC mode to use
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace to use
    #[arg(long)]
    pub uts: Option<String>,
    /// User namespace to use
    #[arg(long)]
    pub userns: Option<String>,
    /// Cgroup namespace to use (host|private)
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "BYTES", value_parser = ram_in_bytes)]
    pub memory: Option<i64>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "BYTES", value_parser = mem_swap_bytes, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "BYTES", value_parser = ram_in_bytes)]
    pub memory_reservation: Option<i64>,
    /// Tune container memory swappiness (0 to 100)
    #[arg(long = "memory-swappiness", default_value_t = -1, allow_hyphen_values = true)]
    pub memory_swappiness: i64,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(
        long = "oom-score-adj",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    pub oom_score_adj: i64,
    /// Number of CPUs
    #[arg(long, value_name = "DECIMAL", value_parser = nano_cpus)]
    pub cpus: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", default_value_t = 0)]
    pub cpu_shares: i64,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", default_value_t = 0, allow_hyphen_values = true)]
    pub cpu_quota: i64,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", default_value_t = 0)]
    pub cpu_period: i64,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", default_value = "")]
    pub cpuset_cpus: String,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", default_value = "")]
    pub cpuset_mems: String,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable
    #[arg(long = "blkio-weight", default_value_t = 0)]
    pub blkio_weight: u16,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", default_value = "")]
    pub cgroup_parent: String,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Connect a container to a network
    #[arg(long = "network", visible_alias = "net", value_name = "NETWORK")]
    pub network: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish", value_name = "LIST")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long = "expose", value_name = "LIST")]
    pub expose: Vec<String>,
    /// Set custom DNS servers
    #[arg(long = "dns", value_name = "LIST", value_parser = validate_ip)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "LIST")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", visible_alias = "dns-opt", value_name = "LIST")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "LIST", value_parser = validate_extra_host)]
    pub add_host: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_parser = validate_ip)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_parser = validate_ip)]
    pub ip6: Option<String>,
    /// Add network-scoped alias for the container
    #[arg(
        long = "network-alias",
        visible_alias = "net-alias",
        value_name = "LIST"
    )]
    pub network_alias: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "LIST")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "MOUNT", value_parser = parse_mount)]
    pub mount: Vec<Mount>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs", value_name = "LIST", value_parser = parse_tmpfs)]
    pub tmpfs: Vec<(String, String)>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "LIST")]
    pub volumes_from: Vec<String>,
    /// Command to run to check health
    #[arg(long = "health-cmd", value_name = "STRING")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h)
    #[arg(long = "health-interval", value_name = "DURATION", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_interval: Option<i64>,
    /// Maximum time to allow one check to run (ms|s|m|h)
    #[arg(long = "health-timeout", value_name = "DURATION", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_timeout: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)
    #[arg(long = "health-start-period", value_name = "DURATION", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_start_period: Option<i64>,
    /// Time between running the check during the start period (ms|s|m|h)
    #[arg(long = "health-start-interval", value_name = "DURATION", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_start_interval: Option<i64>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long = "health-retries", allow_hyphen_values = true)]
    pub health_retries: Option<i64>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Logging driver for the container
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt", value_name = "LIST")]
    pub log_opt: Vec<String>,
    /// Add additional groups to join
    #[arg(long = "group-add", value_name = "LIST")]
    pub group_add: Vec<String>,
    /// Runtime to use for this container
    #[arg(long)]
    pub runtime: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, default_value = "missing", value_parser = ["always", "missing", "never"])]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateOpts {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", required = true, trailing_var_arg = true, num_args = 1..)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunOpts {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", required = true, trailing_var_arg = true, num_args = 1..)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContainerArg {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct ContainersArg {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartOpts {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopOpts {
    /// Signal to send to the container
    #[arg(short, long)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_hyphen_values = true
    )]
    pub time: Option<i64>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillOpts {
    /// Signal to send to the container
    #[arg(short, long)]
    pub signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmOpts {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove the specified link
    #[arg(short, long)]
    pub link: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args, Default)]
pub struct PsOpts {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "FILTER", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
}

#[derive(Debug, Args)]
pub struct ContainerInspectOpts {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectOpts {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    pub size: bool,
    /// Only inspect objects of the given type (container, image, volume, network)
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    #[arg(required = true, value_name = "NAME|ID")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsOpts {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all", allow_hyphen_values = true)]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")
    #[arg(long)]
    pub until: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct AttachOpts {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub sig_proxy: bool,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct ExecOpts {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "LIST", value_parser = validate_env)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(value_name = "CONTAINER COMMAND [ARG...]", required = true, trailing_var_arg = true, num_args = 2..)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TopOpts {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Options for ps
    #[arg(
        value_name = "ps OPTIONS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatsOpts {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenameOpts {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

#[derive(Debug, Args)]
pub struct UpdateOpts {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<i64>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long, value_parser = nano_cpus)]
    pub cpus: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_parser = ram_in_bytes)]
    pub memory: Option<i64>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_parser = ram_in_bytes)]
    pub memory_reservation: Option<i64>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_parser = mem_swap_bytes, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_parser = parse_restart)]
    pub restart: Option<RestartPolicy>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CpOpts {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "SRC_PATH")]
    pub src: String,
    #[arg(value_name = "DEST_PATH")]
    pub dst: String,
}

#[derive(Debug, Args)]
pub struct CommitOpts {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "LIST")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub pause: bool,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportOpts {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct PortOpts {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

#[derive(Debug, Args)]
pub struct ContainerPruneOpts {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "FILTER", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
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
