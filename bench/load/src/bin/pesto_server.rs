//! The pesto server of the load runs: the secure-area app over a chosen store, or the
//! 1,000-route app, served by `pesto::Server` on one Tokio `current_thread` runtime.
//!
//! No `tracing` subscriber is installed, so the server's access-log event is disabled (pesto
//! still pays for the callsite check and the fields it gathers before it).

use std::net::SocketAddr;

use clap::Parser;
use pesto_load::{announce, pesto_app, runtime, AppKind};

/// pesto under load.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Which app to serve.
    #[arg(long, value_enum, default_value = "secure")]
    app: AppKind,
    /// Session store: `memory`, `file:DIR`, `redis://HOST:PORT` (feature `redis`) or
    /// `postgres://…` (feature `postgres`).
    #[arg(long, default_value = "memory")]
    store: String,
    /// Lazy sessions (created only once data is written); eager (pesto's default) otherwise.
    #[arg(long)]
    lazy: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match runtime().block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pesto-server: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let server = pesto::Server::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let served = match args.app {
        AppKind::Secure => {
            let store = pesto_app::open_store(&args.store).await?;
            serve(server, pesto_app::secure_app(store, args.lazy)).await
        }
        AppKind::Routes => serve(server, pesto_app::routes_app()).await,
    };
    served.map_err(|e| e.to_string())
}

/// Announces the address, then serves `app` until the process is stopped.
async fn serve(server: pesto::Server, app: impl pesto::Endpoint) -> std::io::Result<()> {
    announce(server.local_addr()?);
    server.serve(app).await
}
