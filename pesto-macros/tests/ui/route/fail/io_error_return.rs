use pesto::prelude::*;

// An `Err` must answer by itself: an io::Error is not a response (use pesto::Error).
#[route("/", GET)]
async fn index(_req: &mut Request) -> Result<String, std::io::Error> {
    Ok(std::fs::read_to_string("/etc/hostname")?)
}

fn main() {}
