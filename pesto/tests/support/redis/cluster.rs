//! A Redis Cluster of three primaries (no replicas) that a test starts on free ports in a
//! temporary directory, plain or with TLS for clients, and kills when it ends.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_ports, redis_server_command, require, tls_args, wait_for_ping};
use crate::support::poll;

/// How long a cluster may take to form (or re-form) before the test fails.
pub const CLUSTER_DEADLINE: Duration = Duration::from_secs(10);

/// One node of the test cluster.
pub struct Node {
    /// Plain-text port: for setting the cluster up and looking at a node's keys.
    pub port: u16,
    /// The port clients are told about (`CLUSTER SLOTS`): the TLS port of a TLS cluster, else
    /// `port`.
    pub client_port: u16,
    /// The cluster bus.
    pub bus_port: u16,
    child: Option<Child>,
}

/// Three primaries on 127.0.0.1, killed when dropped (the directory goes with them).
pub struct Cluster {
    pub nodes: Vec<Node>,
    tls: bool,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the nodes, creates the cluster with `redis-cli --cluster create`, and waits until
    /// every node reports it healthy.
    pub fn start() -> Cluster {
        let cluster = Cluster::spawn_nodes(false);
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until_healthy();
        cluster
    }

    /// A cluster whose clients must use TLS (the test CA's certificate), and whose bus is plain.
    ///
    /// Redis 7.0 tells clients its TLS port only with `tls-cluster yes`, which also puts the bus
    /// on mutual TLS, for which the test certificate (server authentication only) does not do.
    /// So each node announces its TLS port as its client port (`cluster-announce-port`), and
    /// the cluster is made by hand over the plain ports (`redis-cli --cluster create` would
    /// check the result through the announced ports without TLS).
    pub fn start_tls() -> Cluster {
        let cluster = Cluster::spawn_nodes(true);
        let node_count = cluster.nodes.len();
        for (index, node) in cluster.nodes.iter().enumerate() {
            let first = 16384 * index / node_count;
            let last = 16384 * (index + 1) / node_count - 1;
            let mut conn = cluster.node_connection(index);
            let _: () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query(&mut conn)
                .expect("CLUSTER ADDSLOTSRANGE");
            let _: () = redis::cmd("CLUSTER")
                .arg("SET-CONFIG-EPOCH")
                .arg(index + 1)
                .query(&mut conn)
                .expect("CLUSTER SET-CONFIG-EPOCH");
            if index > 0 {
                let _: () = redis::cmd("CLUSTER")
                    .arg("MEET")
                    .arg("127.0.0.1")
                    .arg(node.port)
                    .arg(node.bus_port)
                    .query(&mut cluster.node_connection(0))
                    .expect("CLUSTER MEET");
            }
        }
        cluster.wait_until_healthy();
        cluster
    }

    fn spawn_nodes(tls: bool) -> Cluster {
        require("redis-server");
        require("redis-cli");
        let dir = tempfile::tempdir().expect("temporary directory");
        let ports = free_ports(9);
        let mut cluster = Cluster {
            nodes: ports
                .chunks(3)
                .map(|p| Node {
                    port: p[0],
                    client_port: if tls { p[2] } else { p[0] },
                    bus_port: p[1],
                    child: None,
                })
                .collect(),
            tls,
            dir,
        };
        for index in 0..cluster.nodes.len() {
            cluster.spawn(index);
        }
        for node in &cluster.nodes {
            wait_for_ping(node.port);
        }
        cluster
    }

    /// Starts node `index` (again, after a kill: its `nodes-P.conf` brings back its identity
    /// and slots, but no data, since nothing is persisted).
    pub fn spawn(&mut self, index: usize) {
        let dir: &Path = self.dir.path();
        let node = &mut self.nodes[index];
        let port = node.port.to_string();
        let mut command = redis_server_command();
        command
            .args(["--port", &port])
            .args(["--cluster-port", &node.bus_port.to_string()])
            .args(["--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(dir.join(format!("nodes-{port}.conf")))
            // Short, so that a killed node is noticed (and a restarted one accepted) quickly.
            .args(["--cluster-node-timeout", "1000"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(dir);
        if self.tls {
            let tls_port = node.client_port.to_string();
            command
                .args(tls_args(node.client_port))
                .args(["--cluster-announce-port", &tls_port]);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `redis-server` from PATH: {e}"));
        node.child = Some(child);
    }

    /// Kills node `index` (SIGKILL) and reaps it.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits (bounded) until every node says `cluster_state:ok` and knows all the others.
    pub fn wait_until_healthy(&self) {
        let healthy = format!("cluster_known_nodes:{}", self.nodes.len());
        for node in &self.nodes {
            poll::until(
                CLUSTER_DEADLINE,
                &format!(
                    "the Redis Cluster on ports {:?} to reach cluster_state:ok (CLUSTER INFO \
                     from {})",
                    self.ports(),
                    node.port
                ),
                || match cluster_info(node.port) {
                    Ok(info) if info.contains("cluster_state:ok") && info.contains(&healthy) => {
                        Ok(())
                    }
                    other => Err(other),
                },
            );
        }
    }

    fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The URLs of the first `n` nodes, for clients (`rediss://` for a TLS cluster).
    pub fn urls(&self, n: usize) -> Vec<String> {
        let scheme = if self.tls { "rediss" } else { "redis" };
        self.nodes
            .iter()
            .take(n)
            .map(|node| format!("{scheme}://127.0.0.1:{}", node.client_port))
            .collect()
    }

    /// A plain (non-cluster) connection to node `index`, to look at what it holds.
    pub fn node_connection(&self, index: usize) -> redis::Connection {
        let url = format!("redis://127.0.0.1:{}", self.nodes[index].port);
        redis::Client::open(url)
            .expect("url")
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("node reachable")
    }

    /// Keys under `prefix` held by node `index` (each node only holds its own slots).
    pub fn keys_on(&self, index: usize, prefix: &str) -> Vec<String> {
        let mut conn = self.node_connection(index);
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut conn)
            .expect("KEYS");
        keys.sort();
        keys
    }

    /// The index of the node that owns `redis_key`'s hash slot, as the cluster says.
    pub fn node_of(&self, redis_key: &str) -> usize {
        let mut conn = self.node_connection(1);
        let slot: i64 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(redis_key)
            .query(&mut conn)
            .expect("CLUSTER KEYSLOT");
        // Each entry: start slot, end slot, [primary host, primary port, id], replicas...
        let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query(&mut conn)
            .expect("CLUSTER SLOTS");
        let port = ranges
            .iter()
            .find_map(|range| {
                let start: i64 = redis::from_redis_value_ref(&range[0]).ok()?;
                let end: i64 = redis::from_redis_value_ref(&range[1]).ok()?;
                let primary: Vec<redis::Value> = redis::from_redis_value_ref(&range[2]).ok()?;
                let port: u16 = redis::from_redis_value_ref(&primary[1]).ok()?;
                (start..=end).contains(&slot).then_some(port)
            })
            .expect("some node owns every slot");
        self.nodes
            .iter()
            .position(|n| n.client_port == port)
            .expect("a node of this cluster")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index);
        }
    }
}

fn cluster_info(port: u16) -> redis::RedisResult<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_millis(500))?;
    redis::cmd("CLUSTER").arg("INFO").query(&mut conn)
}
