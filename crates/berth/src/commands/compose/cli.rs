//! The clap definitions of `berth compose` (kept here, beside the commands, so `cli.rs`
//! only names the one `Compose(ComposeArgs)` variant).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Compose configuration files (default: compose.yaml / docker-compose.yml and override)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the first file's directory)
    #[arg(long = "project-directory", value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Alternate environment files (default: .env in the project directory)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Profiles to enable
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profile: Vec<String>,
    #[command(subcommand)]
    pub command: ComposeCommand,
}

#[derive(Debug, Subcommand)]
pub enum ComposeCommand {
    /// Create and start containers
    Up(UpOpts),
    /// Stop and remove containers, networks (and volumes, images)
    Down(DownOpts),
    /// List containers
    Ps(PsOpts),
    /// View output from containers
    Logs(LogsOpts),
    /// Build or rebuild services
    Build(ServicesOpt),
    /// Pull service images
    Pull(ServicesOpt),
    /// Push service images
    Push(ServicesOpt),
    /// Execute a command in a running container
    Exec(ExecOpts),
    /// Run a one-off command on a service
    Run(RunOpts),
    /// Start services
    Start(ServicesOpt),
    /// Stop services
    Stop(StopOpts),
    /// Restart services
    Restart(StopOpts),
    /// Remove stopped service containers
    Rm(RmOpts),
    /// Force stop service containers
    Kill(KillOpts),
    /// Pause services
    Pause(ServicesOpt),
    /// Unpause services
    Unpause(ServicesOpt),
    /// Parse, resolve and render the compose file in canonical format
    Config(ConfigOpts),
    /// Display the running processes
    Top(ServicesOpt),
    /// Print the public port for a port binding
    Port(PortOpts),
    /// List images used by the created containers
    Images(ServicesOpt),
    /// List running compose projects
    Ls(LsOpts),
}

#[derive(Debug, Args, Default)]
pub struct ServicesOpt {
    pub services: Vec<String>,
}

#[derive(Debug, Args, Default)]
pub struct UpOpts {
    /// Detached mode: run containers in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Don't build an image, even if it's missing
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Wait for services to be running|healthy (implies --detach)
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration to wait for the project to be running|healthy (seconds)
    #[arg(long = "wait-timeout", value_name = "SECONDS")]
    pub wait_timeout: Option<u64>,
    /// Scale SERVICE to NUM instances (SERVICE=NUM)
    #[arg(long, value_name = "SERVICE=NUM")]
    pub scale: Vec<String>,
    /// Recreate containers even if their configuration hasn't changed
    #[arg(long = "force-recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long = "no-recreate")]
    pub no_recreate: bool,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Don't start the services after creating them
    #[arg(long = "no-start")]
    pub no_start: bool,
    /// Use this timeout in seconds for container shutdown when containers are recreated
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<i64>,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DownOpts {
    /// Remove named volumes declared in the "volumes" section and anonymous volumes
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove images used by services: "local" (built ones) or "all"
    #[arg(long, value_name = "TYPE", value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<i64>,
}

#[derive(Debug, Args)]
pub struct PsOpts {
    /// Show all stopped containers
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only display IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display services
    #[arg(long)]
    pub services: bool,
    /// Format output: "table" or "json"
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    pub service: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsOpts {
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecOpts {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Disable pseudo-TTY allocation
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "KEY=VAL")]
    pub env: Vec<String>,
    /// Run the command as this user
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Path to workdir directory for this command
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Give extended privileges to the process
    #[arg(long)]
    pub privileged: bool,
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u64,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunOpts {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Disable pseudo-TTY allocation
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "KEY=VAL")]
    pub env: Vec<String>,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Override the entrypoint of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Run as specified username or uid
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Publish the service's ports
    #[arg(long = "service-ports")]
    pub service_ports: bool,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopOpts {
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<i64>,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmOpts {
    /// Don't ask to confirm removal
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short = 's', long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short = 'v', long)]
    pub volumes: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillOpts {
    /// SIGNAL to send to the container
    #[arg(short = 's', long, default_value = "SIGKILL")]
    pub signal: String,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConfigOpts {
    /// Format the output: yaml or json
    #[arg(long, default_value = "yaml")]
    pub format: String,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the profile names, one per line
    #[arg(long)]
    pub profiles: bool,
    /// Only validate the configuration, don't print anything
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print the service config hash, one per line ("*" for all)
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
}

#[derive(Debug, Args)]
pub struct PortOpts {
    /// tcp or udp
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u64,
    pub service: String,
    pub private_port: u16,
}

#[derive(Debug, Args)]
pub struct LsOpts {
    /// Show all stopped Compose projects
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only display project names
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Format the output: table or json
    #[arg(long, default_value = "table")]
    pub format: String,
}
