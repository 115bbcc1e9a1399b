//! `ferry`: run Ferry on one machine (`ferry serve`).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferry::config::Limits;
use ferry::local::{self, LocalOptions};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Ferry: share files through presigned links."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole product locally: site, API, S3-compatible endpoint, identity provider.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Port of the site, API and sign-in pages.
    #[arg(long, env = "FERRY_PORT", default_value_t = 8080)]
    port: u16,
    /// Port of the S3-compatible endpoint.
    #[arg(long, env = "FERRY_S3_PORT", default_value_t = 9000)]
    s3_port: u16,
    /// Where files, metadata, users and keys are kept.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry-data")]
    data_dir: PathBuf,
    /// The built site (trunk's output).
    #[arg(long, env = "FERRY_SITE_DIR", default_value = "dist")]
    site_dir: PathBuf,
    /// Address to bind. Loopback by default: the local stack is for one machine.
    #[arg(long, env = "FERRY_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Ask for a confirmation code on sign-up instead of confirming automatically.
    #[arg(long, env = "FERRY_REQUIRE_CONFIRMATION")]
    require_confirmation: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let stack = local::start(LocalOptions {
                host: args.host,
                port: args.port,
                s3_port: args.s3_port,
                data_dir: args.data_dir,
                site_dir: args.site_dir,
                limits: Limits::from_env()?,
                require_confirmation: args.require_confirmation,
            })
            .await?;
            println!("Ferry is running at {}", stack.url());
            println!("  S3-compatible endpoint: {}", stack.s3_endpoint.url());
            stack.run_until_ctrl_c().await
        }
    }
}
