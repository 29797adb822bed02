//! [`Server`]: serves an [`Endpoint`] — or any tower service, with tower layers around either —
//! over HTTP/1.1 with hyper 1 and tokio.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::layer::util::{Identity, Stack};
use tower::Layer;

mod accept_errors;
mod access_log;
mod allowed_hosts;
mod front;
mod head_size;
mod head_timeout;
mod stack;

use accept_errors::AcceptErrors;
use front::Front;
use head_timeout::{head_timeout, HeadWait};
use stack::{Bare, GuardedStack, Layered};

use crate::endpoint::{Endpoint, HttpService, PestoService};

/// The header count hyper allows when none is configured.
const HYPER_MAX_HEADERS: usize = 100;

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
///
/// Tower layers (tower-http's compression, timeouts, CORS, tracing…) go around the app with
/// [`Server::layer`]; the server's own limits and checks stay in front of them.
pub struct Server<L = Identity> {
    listener: TcpListener,
    header_read_timeout: Duration,
    max_headers: usize,
    max_header_bytes: usize,
    max_connections: usize,
    shutdown_timeout: Duration,
    allowed_hosts: Arc<[String]>,
    /// The tower layers around the app, outermost first ([`Server::layer`]).
    layer: L,
}

impl<L> std::fmt::Debug for Server<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_headers", &self.max_headers)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("max_connections", &self.max_connections)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("layer", &std::any::type_name::<L>())
            .finish()
    }
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
            max_headers: HYPER_MAX_HEADERS,
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(30),
            allowed_hosts: Arc::from(Vec::new()),
            layer: Identity::new(),
        }
    }
}

impl<L> Server<L> {
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
    /// Counted as written canonically (`name: value\r\n` per header), so a head of exactly this
    /// size is served and one byte more is refused, however the bytes arrive. Whitespace padded
    /// around values is dropped by the parser and not counted; hyper's read buffer, bounded by the
    /// same figure, limits it to about one read more.
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

    /// Puts a tower layer around the app, inside the server's own checks: the first layer
    /// added is the outermost, as with tower's `ServiceBuilder` (which is itself a layer, so a
    /// whole stack can be added at once).
    ///
    /// ```no_run
    /// # use pesto::prelude::*;
    /// # #[route("/", GET)] async fn home(req: &mut Request) -> &'static str { "hi" }
    /// # dispatcher_app!(App = [home]);
    /// # async fn run() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use tower_http::compression::CompressionLayer;
    /// use tower_http::timeout::TimeoutLayer;
    ///
    /// pesto::Server::bind("127.0.0.1:8080".parse().unwrap())
    ///     .await?
    ///     .layer(CompressionLayer::new())
    ///     .layer(TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, Duration::from_secs(10)))
    ///     .serve(App::new())
    ///     .await
    /// # }
    /// ```
    pub fn layer<N>(self, layer: N) -> Server<Stack<N, L>> {
        Server {
            listener: self.listener,
            header_read_timeout: self.header_read_timeout,
            max_headers: self.max_headers,
            max_header_bytes: self.max_header_bytes,
            max_connections: self.max_connections,
            shutdown_timeout: self.shutdown_timeout,
            allowed_hosts: self.allowed_hosts,
            layer: Stack::new(layer, self.layer),
        }
    }

    /// Serves `app`, inside the layers, until Ctrl-C or SIGTERM, then shuts down gracefully.
    ///
    /// # Errors
    /// Fails at once when the app cannot serve requests as assembled ([`Endpoint::check_app`]),
    /// and otherwise only on errors that end the listener; accept errors such as EMFILE are
    /// logged and retried.
    pub async fn serve<E>(self, app: E) -> std::io::Result<()>
    where
        E: Endpoint,
        L: Layer<PestoService<E>>,
        L::Service: HttpService,
    {
        self.serve_with_shutdown(app, shutdown_signal()).await
    }

    /// Serves `app` until `signal` completes, then stops accepting and waits (up to the
    /// shutdown timeout) for the requests in flight.
    ///
    /// # Errors
    /// As [`Server::serve`].
    pub async fn serve_with_shutdown<E, F>(self, app: E, signal: F) -> std::io::Result<()>
    where
        E: Endpoint,
        L: Layer<PestoService<E>>,
        L::Service: HttpService,
        F: Future<Output = ()> + Send,
    {
        // An app that would fail every request (state not given, no session middleware) does
        // not start: the problems are the error, before any connection is accepted.
        if let Err(problems) = app.check_app() {
            tracing::error!(%problems, "not serving");
            return Err(std::io::Error::other(problems));
        }
        let app = PestoService::new(app);
        // The layers hide the endpoint, so it is started here, before they wrap it.
        app.endpoint().start();
        let stack = self.layer.layer(app);
        // No layer around the app (the stack is the app's own service): the server calls the
        // app itself, handing it the client's address in the request's context (`stack.rs`).
        let bare = (&stack as &dyn Any)
            .downcast_ref::<PestoService<E>>()
            .map(|app| Bare(Arc::clone(app.endpoint())));
        match bare {
            Some(bare) => self.run(bare, signal).await,
            None => self.run(Layered(stack), signal).await,
        }
    }

    /// Serves a tower service that is not (only) a pesto [`Endpoint`], inside the layers, until
    /// Ctrl-C or SIGTERM; it gets every request that passes the server's checks, as a
    /// [`RawRequest`](crate::RawRequest), and its response body is streamed. Prefer
    /// [`Server::serve`] with [`Server::layer`] for a pesto app, which also starts the app's
    /// background work ([`Endpoint::start`]).
    ///
    /// # Errors
    /// As [`Server::serve`].
    pub async fn serve_service<S>(self, service: S) -> std::io::Result<()>
    where
        L: Layer<S>,
        L::Service: HttpService,
    {
        self.serve_service_with_shutdown(service, shutdown_signal())
            .await
    }

    /// [`Server::serve_service`] until `signal` completes, then a graceful shutdown as
    /// [`Server::serve_with_shutdown`].
    ///
    /// # Errors
    /// As [`Server::serve`].
    pub async fn serve_service_with_shutdown<S, F>(
        self,
        service: S,
        signal: F,
    ) -> std::io::Result<()>
    where
        L: Layer<S>,
        L::Service: HttpService,
        F: Future<Output = ()> + Send,
    {
        let stack = Layered(self.layer.layer(service));
        self.run(stack, signal).await
    }

    /// Accepts connections and serves `stack` behind the server's checks until `signal`
    /// completes, then shuts down gracefully.
    async fn run<S, F>(self, stack: S, signal: F) -> std::io::Result<()>
    where
        S: GuardedStack,
        F: Future<Output = ()> + Send,
    {
        let front = Front {
            stack,
            allowed_hosts: Arc::clone(&self.allowed_hosts),
            max_header_bytes: self.max_header_bytes,
        };
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let mut builder = http1::Builder::new();
        builder
            // The server times the wait for a head itself (`head_timeout.rs`): hyper's timeout
            // would arm a new timer for every request.
            .header_read_timeout(None)
            .max_buf_size(self.max_header_bytes)
            .keep_alive(true);
        // hyper parses into a stack array of its default size (100) unless told a count, and
        // then fills a vector of that count for every request: say it only when it differs.
        if self.max_headers != HYPER_MAX_HEADERS {
            builder.max_headers(self.max_headers);
        }
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
            let front = front.clone();
            let wait = HeadWait::new();
            let timed_out = head_timeout(Arc::clone(&wait), self.header_read_timeout);
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                front.answer(req, remote, &wait)
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                // The connection first: it is what wakes the task almost every time.
                tokio::select! {
                    biased;
                    ended = connection => if let Err(error) = ended {
                        tracing::debug!(%error, "connection ended with an error");
                    },
                    () = timed_out => tracing::debug!("closed: no request head within the header read timeout"),
                }
                drop(permit);
            });
        }
        drop(self.listener);
        // The stack (and the app in it) goes when the last connection lets go of it: the
        // session purge stops with the app.
        drop(front);
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(self.shutdown_timeout) => {
                tracing::warn!("shutdown timeout elapsed; closing remaining connections");
            }
        }
        Ok(())
    }
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
