//! `berth tls init` / `berth tls client`: certificates for TLS-protected TCP endpoints.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::TlsCommand;

pub fn run(cmd: &TlsCommand) -> Result<ExitCode> {
    match cmd {
        TlsCommand::Init(o) => {
            let report = berth_tls::init(&berth_tls::InitOptions {
                dir: o.dir.clone(),
                hostnames: o.hostnames.clone(),
                days: o.days,
                force: o.force,
            })?;
            for p in &report.written {
                println!("wrote {}", p.display());
            }
            let d = o.dir.display();
            println!(
                "server certificate valid for: {}",
                report.server_names.join(", ")
            );
            println!();
            println!("Start the daemon with TLS and client verification:");
            println!("  berthd -H tcp://0.0.0.0:2376 --tlsverify --tlscacert {d}/ca.pem --tlscert {d}/server-cert.pem --tlskey {d}/server-key.pem");
            println!("Give each client ca.pem, cert.pem and key.pem, then:");
            println!("  berth --tlsverify --tlscacert {d}/ca.pem --tlscert {d}/cert.pem --tlskey {d}/key.pem -H tcp://HOST:2376 info");
            println!("  (or DOCKER_CERT_PATH={d} DOCKER_TLS_VERIFY=1 DOCKER_HOST=tcp://HOST:2376 docker info)");
            println!("Keep ca-key.pem private: it signs more clients with `berth tls client`.");
        }
        TlsCommand::Client(o) => {
            let report = berth_tls::issue_client(&o.ca_dir, &o.out, &o.name, o.days)?;
            for p in &report.written {
                println!("wrote {}", p.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
