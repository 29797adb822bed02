//! PostgreSQL for the `postgres` tests: the machine's server (a table of its own for each test),
//! and servers a test starts on a free port and stops or kills.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pesto::session::{PostgresStore, SessionId};

/// The shared server: `PESTO_TEST_DATABASE_URL`, or the machine's `postgres://127.0.0.1/test`.
pub fn database_url() -> String {
    std::env::var("PESTO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://127.0.0.1/test".to_owned())
}

/// A table name of its own for each test, so tests running side by side never meet.
pub fn unique_table(test: &str) -> String {
    let id = SessionId::generate().expect("rng");
    format!("pesto_test_{test}_{}", &id.as_str()[..10])
}

/// A store on the shared server with a fresh table, migrated; or a failure that says how to get
/// a server: never a silent pass.
pub async fn fresh_store(test: &str) -> PostgresStore {
    let url = database_url();
    let store = match PostgresStore::connect(&url).await {
        Ok(store) => store,
        Err(error) => panic!(
            "{error} — start PostgreSQL (`pg_ctlcluster <version> main start`, as .ci/run does) \
             or point PESTO_TEST_DATABASE_URL at one"
        ),
    };
    let store = store
        .with_table(&unique_table(test))
        .expect("valid table name");
    store.migrate().await.expect("migrate");
    store
}

/// Drops a test's table.
pub async fn drop_table(store: &PostgresStore) {
    sqlx::query(&format!("DROP TABLE IF EXISTS {}", store.table()))
        .execute(store.pool())
        .await
        .expect("DROP TABLE");
}

/// A PostgreSQL server of the test's own, on a free port, in a temporary directory: stopped (or
/// killed) by the test, and killed when dropped.
pub struct LocalPostgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    /// Owns the directory; removed last.
    _dir: tempfile::TempDir,
}

impl LocalPostgres {
    /// `initdb` and start a server; fails, saying why, if the binaries are not installed.
    pub fn start() -> LocalPostgres {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        if running_as_root() {
            // initdb and postgres refuse to run as root: the directory goes to `postgres`.
            chown_to_postgres(dir.path());
        }
        run(as_postgres(&bin.join("initdb")).args([
            "-D",
            &data.to_string_lossy(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]));
        let server = LocalPostgres {
            port: free_port(),
            bin,
            data,
            _dir: dir,
        };
        server.resume();
        server
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        run(as_postgres(&self.bin.join("pg_ctl")).args([
            "-D",
            &self.data.to_string_lossy(),
            "-o",
            &options,
            "-l",
            &self.data.join("log").to_string_lossy(),
            "-w",
            "-t",
            "30",
            "start",
        ]));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL on port {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: as a crash, no shutdown checkpoint).
    pub fn kill(&self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .args([
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The directory of the distribution's PostgreSQL server binaries (the newest installed).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|bin| bin.join("initdb").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries under /usr/lib/postgresql: apt-get install postgresql"
        )
    })
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

fn chown_to_postgres(dir: &Path) {
    run(Command::new("chown").args(["postgres:postgres", &dir.to_string_lossy()]));
}

/// `program`, run as the `postgres` user when this process is root.
fn as_postgres(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("start a PostgreSQL tool");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
