//! The two kinds of Redis connection the store drives (one server, or a Cluster) behind one
//! type, how each is opened, and the cluster-wide routing that `purge` needs.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{
    Client, Cmd, ConnectionInfo, FromRedisValue, Pipeline, RedisError, RedisFuture,
    TlsCertificates, Value,
};

/// Where the sessions live.
pub(super) enum Backend {
    /// One Redis server (or a proxy or primary endpoint in front of several).
    Single(Client),
    /// A Redis Cluster, reached through some of its nodes; the client is built when the
    /// connection is opened, so that it gets the timeout in force then.
    Cluster {
        nodes: Vec<ConnectionInfo>,
        root_certificates: Option<Vec<u8>>,
    },
}

impl Backend {
    /// Opens the connection, with `timeout` for connecting and for each response: for one
    /// server, a `ConnectionManager` set up without connecting (it connects on first use and
    /// reconnects after a failure); for a cluster, connected (nodes and slot map) now.
    pub(super) async fn open(&self, timeout: Duration) -> redis::RedisResult<Connection> {
        match self {
            Backend::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    // No timer of redis-rs's own per command: `RedisStore::run` bounds every
                    // command by the same timeout already, and a timed-out command makes the
                    // manager reconnect in neither case. A second timer per command would add
                    // its registration and, on Tokio's current-thread runtime, one more
                    // needless wake-up of the I/O driver (an `eventfd` write; tokio#5207).
                    .set_response_timeout(None)
                    // Retry soon and often: the outer timeout bounds what a request
                    // waits, and a restarted Redis should be picked up within a second.
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500))
                    .set_number_of_retries(3);
                ConnectionManager::new_lazy_with_config(client.clone(), config)
                    .map(Connection::Single)
            }
            Backend::Cluster {
                nodes,
                root_certificates,
            } => {
                let client = cluster_client(nodes, root_certificates.as_deref(), timeout)?;
                client.get_async_connection().await.map(Connection::Cluster)
            }
        }
    }
}

/// An open connection of either kind. Both are handles on a task that redis-rs runs in the
/// background, so a clone is cheap and shares the connection.
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// A cluster node, as the cluster client names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    host: String,
    port: u16,
}

impl Connection {
    /// Runs `cmd` on `node` (a cluster primary), or wherever the connection routes it when
    /// `node` is `None`.
    pub(super) async fn query_on<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        node: Option<&Node>,
    ) -> redis::RedisResult<T> {
        match (self, node) {
            (Connection::Cluster(c), Some(node)) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: node.host.clone(),
                    port: node.port,
                });
                let value = c.route_command(cmd.clone(), routing).await?;
                Ok(redis::from_redis_value(value)?)
            }
            (c, _) => cmd.query_async(c).await,
        }
    }

    /// The nodes whose keys `purge` must walk: every primary of a cluster (each asked with a
    /// `PING`, so that an unreachable one is an error rather than silently skipped), or `None`
    /// for the one server.
    pub(super) async fn scan_targets(&mut self) -> redis::RedisResult<Vec<Option<Node>>> {
        let Connection::Cluster(c) = self else {
            return Ok(vec![None]);
        };
        let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        // Without a response policy, the reply maps each primary's address to its answer.
        let reply = c.route_command(redis::cmd("PING"), routing).await?;
        let Value::Map(answers) = reply else {
            return Err(RedisError::from((
                redis::ErrorKind::Client,
                "unexpected reply to PING on all primaries",
                format!("{reply:?}"),
            )));
        };
        let mut nodes = Vec::with_capacity(answers.len());
        for (address, answer) in answers {
            if let Value::ServerError(error) = answer {
                return Err(error.into());
            }
            let address: String = redis::from_redis_value(address)?;
            let node = address
                .rsplit_once(':')
                .and_then(|(host, port)| {
                    Some(Node {
                        host: host.to_owned(),
                        port: port.parse().ok()?,
                    })
                })
                .ok_or_else(|| {
                    RedisError::from((
                        redis::ErrorKind::Client,
                        "unexpected cluster node address",
                        address.clone(),
                    ))
                })?;
            nodes.push(Some(node));
        }
        Ok(nodes)
    }
}

/// The cluster client for `nodes`, with the store's timeout and, if given, its trusted CAs.
pub(super) fn cluster_client(
    nodes: &[ConnectionInfo],
    root_certificates: Option<&[u8]>,
    timeout: Duration,
) -> redis::RedisResult<ClusterClient> {
    let mut builder = ClusterClient::builder(nodes.iter().cloned())
        .connection_timeout(timeout)
        .response_timeout(timeout)
        // As for a single server: retry soon; the outer timeout bounds what a request waits.
        .min_retry_wait(50)
        .max_retry_wait(500);
    if let Some(pem) = root_certificates {
        builder = builder.certs(TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.to_vec()),
        });
    }
    builder.build()
}
