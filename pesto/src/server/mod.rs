//! [`Server`]: serves an [`Endpoint`] over HTTP/1.1 with hyper 1 and tokio.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

mod accept_errors;
mod access_log;
mod head_size;

use accept_errors::AcceptErrors;
use head_size::head_size;

use crate::endpoint::Endpoint;
use crate::exchange::{box_body, RemoteAddr, Response};

/// An HTTP/1.1 server: keep-alive, graceful shutdown on Ctrl-C/SIGTERM, a header read timeout,
/// limits on header size and count and on open connections, and one `tracing` line per request.
///
/// ```no_run
/// # use pesto::prelude::*;
/// # #[route("/", GET)] async fn home(req: &mut Request) -> &'static str { "hi" }
/// # dispatcher_app!(App = [home]);
/// # async fn run() -> std::io::Result<()> {
/// let server = pesto::Server::bind("127.0.0.1:0".parse().unwrap()).await?;
/// println!("listening on http://{}", server.local_addr()?);
/// server.serve(App::new()).await
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    header_read_timeout: Duration,
    max_headers: usize,
    max_header_bytes: usize,
    max_connections: usize,
    shutdown_timeout: Duration,
    allowed_hosts: Arc<[String]>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    ///
    /// # Errors
    /// Fails if the address cannot be bound.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Server> {
        Ok(Server::from_listener(TcpListener::bind(addr).await?))
    }

    /// Serves on an already bound listener.
    pub fn from_listener(listener: TcpListener) -> Server {
        Server {
            listener,
            header_read_timeout: Duration::from_secs(30),
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(30),
            allowed_hosts: Arc::from(Vec::new()),
        }
    }

    /// The bound address.
    ///
    /// # Errors
    /// Fails if the socket's address cannot be read.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How long a client may take to send a request's headers (default 30 s) before the
    /// connection is closed (against slow-loris clients).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// The most headers a request may have (default 100); more gets 431.
    #[must_use]
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// The most bytes of request line and headers (default 64 KiB, at least 8 KiB); more gets 431.
    ///
    /// Counted as written canonically (`name: value\r\n` per header, whitespace around values
    /// that the parser drops not included), so a head of exactly this size is served and one byte
    /// more is refused, however the bytes arrive.
    #[must_use]
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(8192);
        self
    }

    /// The most connections served at once (default 10,000); further clients wait to be accepted.
    #[must_use]
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.max(1);
        self
    }

    /// Answers 400 to requests whose `Host` is not one of `hosts` (without port; a leading dot
    /// also allows subdomains: `.example.org`), as Django's `ALLOWED_HOSTS`. The host ends up in
    /// absolute URLs and redirects, so a server reachable under foreign names should set it.
    /// By default every host is accepted.
    #[must_use]
    pub fn allowed_hosts<I, H>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = H>,
        H: Into<String>,
    {
        let hosts: Vec<String> = hosts
            .into_iter()
            .map(|h| h.into().to_ascii_lowercase())
            .collect();
        self.allowed_hosts = Arc::from(hosts);
        self
    }

    /// How long shutdown waits for requests in flight (default 30 s).
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    ///
    /// # Errors
    /// Fails at once when the app cannot serve requests as assembled ([`Endpoint::check_app`]),
    /// and otherwise only on errors that end the listener; accept errors such as EMFILE are
    /// logged and retried.
    pub async fn serve<E: Endpoint>(self, app: E) -> std::io::Result<()> {
        self.serve_with_shutdown(app, shutdown_signal()).await
    }

    /// Serves until `signal` completes, then stops accepting and waits (up to the shutdown
    /// timeout) for the requests in flight.
    ///
    /// # Errors
    /// As [`Server::serve`].
    pub async fn serve_with_shutdown<E, F>(self, app: E, signal: F) -> std::io::Result<()>
    where
        E: Endpoint,
        F: std::future::Future<Output = ()> + Send,
    {
        // An app that would fail every request (state not given, no session middleware) does
        // not start: the problems are the error, before any connection is accepted.
        if let Err(problems) = app.check_app() {
            tracing::error!(%problems, "not serving");
            return Err(std::io::Error::other(problems));
        }
        let app = Arc::new(app);
        app.start();
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_headers(self.max_headers)
            .max_buf_size(self.max_header_bytes)
            .keep_alive(true);
        tokio::pin!(signal);
        let mut accept_errors = AcceptErrors::default();
        loop {
            let permit = tokio::select! {
                () = &mut signal => break,
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let (stream, remote) = tokio::select! {
                () = &mut signal => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => {
                        if let Some(failures) = accept_errors.reset() {
                            tracing::info!(failures, "accepting connections again");
                        }
                        pair
                    }
                    Err(error) => {
                        // EMFILE and friends are transient: pause instead of ending the server,
                        // and log one line, then a count, rather than one line per retry.
                        if let Some(failures) = accept_errors.record(Instant::now()) {
                            tracing::warn!(%error, failures, "accept failed; retrying");
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let app = Arc::clone(&app);
            let allowed_hosts = Arc::clone(&self.allowed_hosts);
            let max_header_bytes = self.max_header_bytes;
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let app = Arc::clone(&app);
                let head_ok = head_size(&req) <= max_header_bytes;
                let host_ok = host_allowed(&allowed_hosts, &req);
                async move {
                    // The access line's fields are copied only when the line will be written.
                    let logged = tracing::enabled!(target: "pesto::access", tracing::Level::INFO)
                        .then(|| (Instant::now(), req.method().clone(), req.uri().clone()));
                    let mut req = req.map(box_body);
                    req.extensions_mut().insert(RemoteAddr(remote));
                    let response = if !head_ok {
                        // The client is past the limit: close rather than read what follows.
                        Response::text("431 Request Header Fields Too Large\n")
                            .with_status(http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                            .with_header(http::header::CONNECTION, "close")
                    } else if host_ok {
                        app.call(req).await
                    } else {
                        Response::text("400 Bad Request\nhost not allowed\n")
                            .with_status(http::StatusCode::BAD_REQUEST)
                    }
                    .into_http();
                    if let Some((started, method, uri)) = logged {
                        let path = access_log::redacted_path(uri.path());
                        tracing::info!(
                            target: "pesto::access",
                            %remote,
                            %method,
                            %path,
                            status = response.status().as_u16(),
                            elapsed_us = started.elapsed().as_micros() as u64,
                        );
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "connection ended with an error");
                }
                drop(permit);
            });
        }
        drop(self.listener);
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(self.shutdown_timeout) => {
                tracing::warn!("shutdown timeout elapsed; closing remaining connections");
            }
        }
        Ok(())
    }
}

/// Whether the request's host is in `allowed` (an empty list allows every host).
fn host_allowed<B>(allowed: &[String], req: &http::Request<B>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let host = req
        .uri()
        .host()
        .map(str::to_owned)
        .or_else(|| {
            let header = req.headers().get(http::header::HOST)?.to_str().ok()?;
            let authority: http::uri::Authority = header.parse().ok()?;
            Some(authority.host().to_owned())
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    allowed.iter().any(|a| match a.strip_prefix('.') {
        Some(domain) => host == domain || host.ends_with(a.as_str()),
        None => host == *a,
    })
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
