//! Fixtures shared by the end-to-end tests: start the real example binaries on port 0 (killed
//! when the test ends), talk to them over real HTTP, and wait, bounded, for what they do in the
//! background.
#![allow(dead_code)]

pub mod scale_out;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The path of an example binary built by `cargo test` (which builds examples) or `cargo build --examples`.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile> directory");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "example binary {} not found: run the tests with `cargo test --workspace` (which builds examples) \
         or build it with `cargo build --examples`",
        path.display()
    );
    path
}

/// The `secure_area` binary.
pub fn secure_area_binary() -> PathBuf {
    example_binary("secure_area")
}

/// A running example process; killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything the process printed on stdout before `listening on`.
    pub banner: Vec<String>,
}

impl Running {
    /// `http://ADDR` plus `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` with `args` (which must include `--addr 127.0.0.1:0` or similar) and waits
/// for its `listening on http://ADDR` line.
pub fn spawn(binary: PathBuf, args: &[&str]) -> Running {
    let mut child = Command::new(&binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("listening on http://") {
                let _ = tx.send(Ok((addr.trim().to_owned(), banner.clone())));
                // Keep draining so the child never blocks on a full pipe.
                continue;
            }
            banner.push(line);
        }
        let _ = tx.send(Err(banner));
    });
    let mut running = Running {
        child,
        addr: "0.0.0.0:0".parse().expect("placeholder"),
        banner: Vec::new(),
    };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok((addr, banner))) => {
            running.addr = addr.parse().expect("listening address");
            running.banner = banner;
            running
        }
        Ok(Err(banner)) => panic!(
            "{} exited before listening; stdout: {banner:?}",
            binary.display()
        ),
        Err(_) => panic!(
            "{} did not print `listening on` within 60 s",
            binary.display()
        ),
    }
}

/// Starts `secure_area` on a free port with `args` added.
pub fn spawn_secure_area(args: &[&str]) -> Running {
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend_from_slice(args);
    spawn(secure_area_binary(), &all)
}

/// A response read over HTTP.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value the response sets for cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                let (n, rest) = c.split_once('=')?;
                (n == name).then(|| rest.split(';').next().unwrap_or_default().to_owned())
            })
    }
}

/// Sends one request with an optional `Cookie` header and form body; never follows redirects.
pub async fn send(method: &str, url: &str, cookie: Option<&str>, form: Option<&str>) -> Reply {
    let mut builder = http::Request::builder().method(method).uri(url);
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    let body = match form {
        Some(form) => {
            builder = builder.header("content-type", "application/x-www-form-urlencoded");
            Full::new(Bytes::from(form.to_owned()))
        }
        None => Full::new(Bytes::new()),
    };
    let raw = exchange(builder.body(body).expect("request")).await;
    Reply {
        status: raw.status,
        headers: raw.headers,
        body: String::from_utf8_lossy(&raw.body).into_owned(),
    }
}

/// A response read over HTTP with its body's bytes as sent (a gzip body, say).
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request with `headers` and no body; never follows redirects.
pub async fn send_with_headers(method: &str, url: &str, headers: &[(&str, &str)]) -> RawReply {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    exchange(builder.body(Full::new(Bytes::new())).expect("request")).await
}

/// Posts the urlencoded `form` with `headers`; never follows redirects.
pub async fn post_form(url: &str, headers: &[(&str, &str)], form: &str) -> Reply {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let raw = exchange(
        builder
            .body(Full::new(Bytes::from(form.to_owned())))
            .expect("request"),
    )
    .await;
    Reply {
        status: raw.status,
        headers: raw.headers,
        body: String::from_utf8_lossy(&raw.body).into_owned(),
    }
}

/// Sends `request` (bounded by 30 s) and reads the whole answer.
async fn exchange(request: http::Request<Full<Bytes>>) -> RawReply {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .expect("server answered within 30 s")
        .expect("HTTP exchange");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    RawReply {
        status,
        headers,
        body,
    }
}

/// The `pesto_session` query parameter of an absolute URL.
pub fn query_session(location: &str) -> Option<String> {
    let (_, query) = location.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "pesto_session").then(|| v.to_owned())
    })
}

/// Calls `check` every 50 ms until it gives a value, for at most `within`, and returns that
/// value; panics with `what` (what was waited for) when time runs out.
pub async fn eventually<T>(
    within: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {within:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
