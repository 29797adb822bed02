//! The recipe routes of the dispatch guide (docs/dispatch.md), served over HTTP.
//!
//! ```text
//! cargo run --example dispatch -- --addr 127.0.0.1:8080
//! curl http://127.0.0.1:8080/recipes/fish/7
//! ```

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use pesto::prelude::*;
use pesto::{html_escape, Server};

#[route("/recipes", GET)]
async fn recipe_index(_req: &mut Request) -> Response {
    Response::text("This is the recipe index page")
}

#[route("/recipes/<category:unicode>/<id:int>", GET)]
async fn show_recipe(_req: &mut Request, category: String, id: u32) -> String {
    format!("recipe #{id} in {category}")
}

#[route("/contact-form", GET)]
async fn contact_form(_req: &mut Request) -> Response {
    Response::html(format!(
        "<form method=\"post\" action=\"{}\"><textarea name=\"message\"></textarea>\
         <button>Send</button></form>",
        html_escape(&contact_form_submit.url().to_string())
    ))
}

#[route("/contact-form", POST)]
async fn contact_form_submit(req: &mut Request) -> Response {
    tracing::info!(
        message = req.get("message").unwrap_or_default(),
        "contact form"
    );
    Response::redirect(recipe_index.url())
}

#[route("/documents/<dir:path>/<name:unicode>.pdf", GET)]
async fn document(_req: &mut Request, dir: String, name: String) -> String {
    format!("document {name}.pdf in {dir}")
}

dispatcher_app!(
    App = [
        recipe_index,
        show_recipe,
        contact_form,
        contact_form_submit,
        document
    ]
);

/// Serves the dispatch guide's recipe routes.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Serve under this path prefix, e.g. `/cookbook`.
    #[arg(long)]
    mount: Option<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let server = Server::bind(args.addr).await?;
    println!("listening on http://{}", server.local_addr()?);
    std::io::stdout().flush()?;
    match args.mount {
        Some(prefix) => server.serve(pesto::mount(&prefix, App::new())).await,
        None => server.serve(App::new()).await,
    }
}
