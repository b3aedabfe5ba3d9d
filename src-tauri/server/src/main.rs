//! `partner-desk-server --help` lists every setting.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use server::config::LogFormat;
use server::Settings;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::parse();
    if settings.print_openapi {
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = std::io::stdout().write_all(server::openapi::document().as_bytes());
        return ExitCode::SUCCESS;
    }
    // Logs go to stderr; stdout carries only the line that says where the server listens.
    let filter = tracing_subscriber::EnvFilter::try_from_env("PARTNER_DESK_LOG")
        .unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match settings.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    let server = match server::start(&settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("partner-desk-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match server.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("partner-desk-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, database = %settings.database().display(), smtp = %server::mail::redact_url(&settings.smtp), "started");
    match server.run(server::shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("partner-desk-server: {e}");
            ExitCode::FAILURE
        }
    }
}
