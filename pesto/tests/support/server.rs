//! A pesto server in the test's own runtime, on a free port of 127.0.0.1, which the test that
//! starts it also stops; and two plain HTTP clients for it: hyper's, and raw bytes over a socket.

use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pesto::{Endpoint, HttpService, PestoService, Server};
use tokio::sync::oneshot;

/// A server bound to port 0; aborted when dropped, stopped gracefully by [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Binds 127.0.0.1:0, lets `configure` set the server up (limits, tower layers), and serves
    /// `app` on a task.
    pub async fn start<E, L>(app: E, configure: impl FnOnce(Server) -> Server<L>) -> Running
    where
        E: Endpoint,
        L: tower::Layer<PestoService<E>> + Send + 'static,
        L::Service: HttpService,
    {
        let server = Server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        let server = configure(server);
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server.serve_with_shutdown(app, async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            stop: Some(stop),
            done,
        }
    }

    /// Signals a graceful shutdown and asserts that the server stops cleanly within 10 s.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), &mut self.done).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "server did not stop cleanly: {result:?}"
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.done.abort();
    }
}

/// `GET http://ADDR/path` through hyper's client: the status and the body as text.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: http::Uri = format!("http://{addr}{path}").parse().expect("uri");
    let response = client.get(uri).await.expect("request");
    let status = response.status().as_u16();
    let body = read_body(response.into_body()).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Sends `request` (its URI a path) to `addr` through hyper's client; the response with its
/// body read whole.
pub async fn send(addr: SocketAddr, request: http::Request<Empty<Bytes>>) -> http::Response<Bytes> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("http://{addr}{}", parts.uri).parse().expect("uri");
    let response = client
        .request(http::Request::from_parts(parts, body))
        .await
        .expect("request");
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, read_body(body).await)
}

/// All of a response body's bytes.
pub async fn read_body<B: Body>(body: B) -> Bytes
where
    B::Error: Debug,
{
    body.collect().await.expect("body").to_bytes()
}

/// A blocking connection to `addr` whose reads give up after `read_timeout`.
pub fn connect(addr: SocketAddr, read_timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(read_timeout))
        .expect("timeout");
    stream
}

/// Writes `request` as raw bytes on a new connection and reads until the server closes it
/// (or 10 s pass); returns what came back as text. Blocking: call it from `spawn_blocking`.
pub fn raw_exchange(addr: SocketAddr, request: Vec<u8>) -> String {
    let mut stream = connect(addr, Duration::from_secs(10));
    let _ = stream.write_all(&request);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
