//! A single `redis-server` that a test starts on a port of its own, freezes, kills and starts
//! again.

use std::process::{Child, Command};
use std::time::Duration;

use super::{redis_server_command, tls_args, wait_for_ping};
use crate::support::poll;

/// A `redis-server` child on its own port, killed when dropped (even if the test panics).
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// A plain server on `port`, ready to answer.
    pub fn start(port: u16) -> RedisServer {
        let mut command = redis_server_command();
        command.args(["--port", &port.to_string()]);
        let server = RedisServer::spawn(command, port);
        wait_for_ping(port);
        server
    }

    /// A server that only speaks TLS on `port`, with the test certificates; its port is open.
    pub fn start_tls(port: u16) -> RedisServer {
        let mut command = redis_server_command();
        command.args(["--port", "0"]).args(tls_args(port));
        let server = RedisServer::spawn(command, port);
        poll::until(
            Duration::from_secs(10),
            &format!("redis-server (TLS) on port {port} to start"),
            || std::net::TcpStream::connect(("127.0.0.1", port)),
        );
        server
    }

    fn spawn(mut command: Command, port: u16) -> RedisServer {
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start `redis-server` from PATH ({e}); install redis-server")
        });
        RedisServer {
            port,
            child: Some(child),
        }
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn pid(&self) -> String {
        self.child
            .as_ref()
            .map(|c| c.id().to_string())
            .expect("running")
    }

    /// Freezes the server (SIGSTOP), or thaws it (SIGCONT) when `stop` is false: while frozen,
    /// connections stay open but nothing answers.
    pub fn freeze(&self, stop: bool) {
        let signal = if stop { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &self.pid()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Kills the server (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
