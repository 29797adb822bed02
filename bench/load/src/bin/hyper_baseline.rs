//! The baseline: a bare hyper 1 + hyper-util HTTP/1.1 server on one Tokio `current_thread`
//! runtime that reads each request's body and answers `200 ok` (text/plain) to everything.

use std::net::SocketAddr;

use clap::Parser;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use pesto_load::{announce, bare_ok, runtime};
use tokio::net::TcpListener;

/// Bare hyper: `200 ok` to every request.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    runtime().block_on(async move {
        let listener = TcpListener::bind(args.addr).await?;
        announce(listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(pair) => pair,
                Err(_) => continue,
            };
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(bare_ok))
                    .await;
            });
        }
    })
}
