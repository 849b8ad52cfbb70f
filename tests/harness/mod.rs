//! The test harness: drive the real `swarmpi` binary on the lab's simulated
//! servers (`scripts/lab`), each a real Docker daemon in its own network
//! namespace. Nothing here mocks Docker or SSH.
//!
//! The lab must be up (`scripts/lab up 3`, which the README's test command
//! does). If it is not, every lab test fails with a message saying so: they
//! never skip.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Servers the tests expect: a and b form the swarm, c stays outside it
/// (for "already in another swarm" and leave tests).
pub const SERVERS: [&str; 3] = ["a", "b", "c"];

static SERIAL: Mutex<()> = Mutex::new(());

pub struct Lab {
    root: PathBuf,
    /// Each server's address and dockerd pid, as `scripts/lab status` says.
    servers: Vec<LabServer>,
    _serial: MutexGuard<'static, ()>,
}

/// One simulated server: the only place tests learn lab internals from.
#[derive(Debug, Clone)]
struct LabServer {
    name: String,
    addr: String,
    dockerd_pid: Option<u32>,
}

/// `a  10.77.0.2  dockerd pid 9413  unix:///...` (or `dockerd DOWN`).
fn parse_status(stdout: &str) -> Vec<LabServer> {
    stdout
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let pid = match words.get(2..4) {
                Some(["dockerd", "pid"]) => words.get(4).and_then(|p| p.parse().ok()),
                _ => None,
            };
            Some(LabServer {
                name: words.first()?.to_string(),
                addr: words.get(1)?.to_string(),
                dockerd_pid: pid,
            })
        })
        .collect()
}

/// What one command printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    fn from_output(output: Output, elapsed: Duration) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
        }
    }

    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code, 0, "command failed:\n{self}");
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32, message: &str) -> Run {
        assert_eq!(self.code, code, "unexpected exit code:\n{self}");
        assert!(self.stderr.contains(message), "stderr lacks {message:?}:\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:.1} s\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }
}

impl Lab {
    /// The lab, checked to be up; holds a lock so lab tests run one at a time
    /// even under plain `cargo test`.
    pub fn get() -> Lab {
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let status = run(Command::new(root.join("scripts/lab")).arg("status"));
        let servers = parse_status(&status.stdout);
        for server in SERVERS {
            assert!(
                servers
                    .iter()
                    .any(|s| s.name == server && s.dockerd_pid.is_some()),
                "the lab is not up (server {server} missing): run `scripts/lab up 3` first \
                 (the README's test command `scripts/test` does)\n{status}"
            );
        }
        Lab {
            root,
            servers,
            _serial: serial,
        }
    }

    fn server(&self, name: &str) -> &LabServer {
        self.servers
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("the lab has no server {name}"))
    }

    /// Server X's address on the lab's network (its swarm address).
    pub fn addr(&self, server: &str) -> String {
        self.server(server).addr.clone()
    }

    /// The pid of server X's dockerd (to freeze or stop that server).
    pub fn dockerd_pid(&self, server: &str) -> u32 {
        self.server(server)
            .dockerd_pid
            .unwrap_or_else(|| panic!("server {server}'s dockerd is not running"))
    }

    /// An address on the lab's network that no server has.
    pub fn unused_addr(&self) -> String {
        let a = self.addr("a");
        let (prefix, _) = a.rsplit_once('.').expect("an IPv4 address");
        format!("{prefix}.250")
    }

    /// `swarmpi ARGS` on server X.
    pub fn swarmpi(&self, server: &str, args: &[&str]) -> Run {
        self.swarmpi_env(server, &[], args)
    }

    pub fn swarmpi_env(&self, server: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = Command::new(self.root.join("scripts/lab"));
        command.args(["exec", server, "--", "env"]);
        command.args(env.iter().map(|(k, v)| format!("{k}={v}")));
        command.arg(env!("CARGO_BIN_EXE_swarmpi")).args(args);
        run(&mut command)
    }

    /// `swarmpi ARGS` on server X, started in the background: stderr piped,
    /// stdout as given. Pair with [`interrupt`] for Ctrl-C.
    pub fn spawn_swarmpi(
        &self,
        server: &str,
        args: &[&str],
        stdout: std::process::Stdio,
    ) -> std::process::Child {
        Command::new(self.root.join("scripts/lab"))
            .args(["exec", server, "--", env!("CARGO_BIN_EXE_swarmpi")])
            .args(args)
            .stdout(stdout)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start swarmpi {args:?}: {e}"))
    }

    /// `docker ARGS` against server X's daemon.
    pub fn docker(&self, server: &str, args: &[&str]) -> Run {
        let mut command = Command::new(self.root.join("scripts/lab"));
        command.args(["exec", server, "--", "docker"]).args(args);
        run(&mut command)
    }

    /// A shell command run on server X (its netns, its DOCKER_HOST).
    pub fn sh(&self, server: &str, script: &str) -> Run {
        let mut command = Command::new(self.root.join("scripts/lab"));
        command.args(["exec", server, "--", "sh", "-c", script]);
        run(&mut command)
    }

    /// "active true" for a manager, "active false" for a worker, "inactive ...".
    pub fn swarm_state(&self, server: &str) -> String {
        let run = self.docker(
            server,
            &[
                "info",
                "--format",
                "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
            ],
        );
        run.stdout.trim().to_string()
    }

    /// Makes a the manager of a swarm that b is in and c is not; returns the
    /// join token. Cheap when the swarm is already so.
    pub fn ensure_swarm(&self) -> String {
        if self.swarm_state("a") != "active true" {
            self.docker("a", &["swarm", "leave", "--force"]);
        }
        let init = self.swarmpi("a", &["init"]).success();
        let token = join_token_from(&init.stdout);
        if self.swarm_state("b") != "active false" || !self.node_addrs_ready("a").contains(&self.addr("b")) {
            self.docker("b", &["swarm", "leave", "--force"]);
            self.swarmpi("b", &["join", &token]).success();
        }
        if self.swarm_state("c") != "inactive false" {
            self.docker("c", &["swarm", "leave", "--force"]);
        }
        self.remove_down_nodes();
        token
    }

    /// Addresses of the Ready nodes, as the manager on a sees them.
    pub fn node_addrs_ready(&self, manager: &str) -> Vec<String> {
        let run = self.docker(manager, &["node", "ls", "--format", "{{.ID}} {{.Status}}"]);
        run.stdout
            .lines()
            .filter(|line| line.ends_with(" Ready"))
            .filter_map(|line| line.split_whitespace().next())
            .map(|id| {
                self.docker(manager, &["node", "inspect", "--format", "{{.Status.Addr}}", id])
                    .stdout
                    .trim()
                    .to_string()
            })
            .collect()
    }

    /// Nodes that left stay listed (Down, or Ready for a moment after they
    /// leave); forget every node but a's and b's so counts stay exact.
    pub fn remove_down_nodes(&self) {
        let keep = [self.addr("a"), self.addr("b")];
        let run = self.docker("a", &["node", "ls", "-q"]);
        for id in run.stdout.split_whitespace() {
            let addr = self
                .docker("a", &["node", "inspect", "--format", "{{.Status.Addr}}", id])
                .stdout;
            if !keep.iter().any(|k| k == addr.trim()) {
                self.docker("a", &["node", "rm", "--force", id]);
            }
        }
    }
}

/// The token in `swarmpi join TOKEN`, as `init` prints it on stdout.
pub fn join_token_from(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("swarmpi join "))
        .unwrap_or_else(|| panic!("no `swarmpi join` line in:\n{stdout}"))
        .trim()
        .to_string()
}

pub fn run(command: &mut Command) -> Run {
    let started = Instant::now();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    Run::from_output(output, started.elapsed())
}

/// The real `swarmpi` binary with no Docker anywhere (DOCKER_HOST points at
/// nothing) and an empty state directory: for checks that must fail before
/// swarmpi talks to Docker.
pub fn swarmpi_without_docker(args: &[&str]) -> Run {
    let state = std::env::temp_dir().join(format!("swarmpi-nodocker-{}", std::process::id()));
    run(Command::new(env!("CARGO_BIN_EXE_swarmpi"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("SWARMPI_STATE_DIR", &state)
        .args(args))
}

/// `script` run by sh as `user` in cluster `cluster`'s container named
/// `hostname`, on whichever server runs it: what a program in that
/// container (or one that escaped to root) can do.
pub fn in_container_as(lab: &Lab, cluster: &str, hostname: &str, user: &str, script: &str) -> Run {
    let filter = format!("label=com.docker.swarm.service.name=swarmpi-{cluster}");
    for server in ["a", "b", "c"] {
        let ids = lab.docker(server, &["ps", "-q", "--filter", &filter]).stdout;
        for id in ids.lines() {
            let name = lab
                .docker(server, &["inspect", "-f", "{{.Config.Hostname}}", id])
                .stdout;
            if name.trim() == hostname {
                let script = format!("cd ~ && {script}");
                return lab.docker(server, &["exec", "-u", user, id, "sh", "-c", &script]);
            }
        }
    }
    panic!("no container {hostname} of cluster {cluster} on any server");
}

/// Drops what `rule` matches arriving at server b while it lives.
pub struct Dropped {
    rule: Vec<String>,
}

impl Dropped {
    /// VXLAN, the overlay's data.
    pub fn vxlan() -> Dropped {
        Dropped::new(&["-p", "udp", "--dport", "4789"])
    }

    /// A TCP port.
    pub fn tcp(port: u16) -> Dropped {
        Dropped::new(&["-p", "tcp", "--dport", &port.to_string()])
    }

    /// IPsec ESP (IP protocol 50), an encrypted overlay's data.
    pub fn esp() -> Dropped {
        Dropped::new(&["-p", "esp"])
    }

    fn new(rule: &[&str]) -> Dropped {
        let dropped = Dropped {
            rule: rule.iter().map(|w| w.to_string()).collect(),
        };
        assert!(
            dropped.iptables("-I"),
            "could not add the iptables rule in server b"
        );
        dropped
    }

    fn iptables(&self, action: &str) -> bool {
        std::process::Command::new("ip")
            .args(["netns", "exec", "swlab-b", "iptables", action, "INPUT"])
            .args(&self.rule)
            .args(["-j", "DROP"])
            .status()
            .unwrap()
            .success()
    }
}

impl Drop for Dropped {
    fn drop(&mut self) {
        self.iptables("-D");
    }
}

/// The path of an example program.
pub fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The lab with cluster `mpi` deployed at 2 per server (4 slots).
pub fn deployed() -> Lab {
    let lab = Lab::get();
    lab.ensure_swarm();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    lab
}

/// Ctrl-C to a background command (SIGINT, as a terminal sends it).
pub fn interrupt(child: &std::process::Child) {
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
}

/// Polls `probe` until it returns Some, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
