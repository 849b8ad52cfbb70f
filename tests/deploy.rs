//! `deploy`, `status`, `down` on the lab's two servers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Lab, wait_for};

const SERVERS: [&str; 2] = ["a", "b"];

/// A fresh start: the swarm formed and no cluster left from another test.
fn clean_lab() -> Lab {
    let lab = Lab::get();
    lab.ensure_swarm();
    for name in ["mpi", "alpha", "beta"] {
        lab.swarmpi("a", &["down", "--name", name]).success();
    }
    lab
}

fn status_json(lab: &Lab, name: &str) -> (i32, Value) {
    let run = lab.swarmpi("a", &["status", "--json", "--name", name]);
    let value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("status JSON: {e}\n{run}"));
    (run.code, value)
}

/// Containers per server address, from `status --json`.
fn per_server(status: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in status["containers"].as_array().unwrap() {
        *counts
            .entry(c["server"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

/// A command run as the MPI user in one of the cluster's containers on
/// server a (local there, so the test may use docker exec to look inside).
fn in_container(lab: &Lab, cluster: &str, script: &str) -> crate::harness::Run {
    let filter = format!("label=com.docker.swarm.service.name=swarmpi-{cluster}");
    let run = lab.docker("a", &["ps", "-q", "--filter", &filter]).success();
    let id = run
        .stdout
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no container of {cluster} on server a"));
    lab.docker("a", &["exec", "-u", "mpi", id, "bash", "-lc", script])
}

#[test]
fn deploy_two_per_host_gives_a_ready_cluster_with_checked_host_keys() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2", "--slots", "2"])
        .success();

    let (code, status) = status_json(&lab, "mpi");
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(status["ready"], true);
    assert_eq!(status["totals"]["containers"], 4);
    assert_eq!(status["totals"]["slots"], 8);
    assert_eq!(
        per_server(&status),
        BTreeMap::from([("10.77.0.2".into(), 2), ("10.77.0.3".into(), 2)])
    );
    assert!(
        status["containers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["sshd"] == true)
    );

    // Every container by name and by IP, with strict host key checking.
    let mut targets = Vec::new();
    for c in status["containers"].as_array().unwrap() {
        targets.push(c["name"].as_str().unwrap().to_string());
        targets.push(c["ip"].as_str().unwrap().to_string());
    }
    let script = targets
        .iter()
        .map(|t| format!("ssh -o StrictHostKeyChecking=yes -o BatchMode=yes {t} hostname"))
        .collect::<Vec<_>>()
        .join(" && ");
    let ssh = in_container(&lab, "mpi", &script).success();
    assert_eq!(ssh.stdout.lines().count(), 8, "{ssh}");

    let mpirun = in_container(&lab, "mpi", "mpirun -n 8 --hostfile ~/.swarmpi/hostfile hostname").success();
    let lines: Vec<&str> = mpirun.stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{mpirun}");
    let distinct: std::collections::BTreeSet<&str> = lines.iter().copied().collect();
    assert_eq!(distinct.len(), 4, "{mpirun}");
    assert!(mpirun.elapsed < Duration::from_secs(30), "{mpirun}");

    // The private key: mode 0600 in the container and in the state directory.
    let modes = in_container(&lab, "mpi", "stat -c '%a %U' ~/.ssh/id_rsa").success();
    assert_eq!(modes.stdout.trim(), "600 mpi");
    let state = lab
        .sh(
            "a",
            "stat -c '%a' ${SWARMPI_STATE_DIR:-$HOME/.local/state/swarmpi}/mpi/id_rsa",
        )
        .success();
    assert_eq!(state.stdout.trim(), "600");
    let known = in_container(&lab, "mpi", "grep -c ssh-ed25519 ~/.ssh/known_hosts").success();
    assert_eq!(known.stdout.trim(), "4");
}

#[test]
fn sshd_is_not_published_beyond_the_managers_loopback() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy"]).success();
    for server in SERVERS {
        let ports = lab
            .docker(server, &["ps", "--format", "{{.Names}} {{.Ports}}"])
            .success();
        for line in ports.stdout.lines().filter(|l| l.contains("->")) {
            assert!(
                line.contains("127.0.0.1:"),
                "a port is published beyond loopback on {server}: {line}"
            );
        }
    }
    let services = lab
        .docker(
            "a",
            &[
                "service",
                "inspect",
                "swarmpi-mpi",
                "--format",
                "{{json .Endpoint.Ports}}",
            ],
        )
        .success();
    assert_eq!(services.stdout.trim(), "null", "the service must publish no port");
}

#[test]
fn deploy_again_changes_nothing_then_reshapes_to_three_per_host() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    let before = lab
        .docker("a", &["service", "ps", "-q", "swarmpi-mpi"])
        .success()
        .stdout;
    let again = lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    assert!(again.stderr.contains("nothing changed"), "{again}");
    assert_eq!(
        lab.docker("a", &["service", "ps", "-q", "swarmpi-mpi"])
            .success()
            .stdout,
        before
    );

    lab.swarmpi("a", &["deploy", "--per-host", "3"]).success();
    let (code, status) = status_json(&lab, "mpi");
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(status["totals"]["containers"], 6);
    assert_eq!(
        per_server(&status),
        BTreeMap::from([("10.77.0.2".into(), 3), ("10.77.0.3".into(), 3)])
    );
    let files = in_container(
        &lab,
        "mpi",
        "wc -l < ~/.swarmpi/hostfile; wc -l < ~/.ssh/known_hosts",
    )
    .success();
    assert_eq!(files.stdout.split_whitespace().collect::<Vec<_>>(), ["6", "6"]);
    let mpirun = in_container(&lab, "mpi", "mpirun -n 6 hostname | sort -u | wc -l").success();
    assert_eq!(mpirun.stdout.trim(), "6");
}

#[test]
fn down_leaves_nothing_on_any_server_and_is_idempotent() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    lab.swarmpi("a", &["down"]).success();
    for server in SERVERS {
        wait_for(
            &format!("nothing of the cluster on server {server}"),
            Duration::from_secs(20),
            || {
                let leftovers = lab
                .sh(
                    server,
                    "docker ps -a --format '{{.Names}}'; docker network ls --format '{{.Name}}'; \
                     docker service ls --format '{{.Name}}' 2>/dev/null; docker secret ls --format '{{.Name}}' 2>/dev/null; \
                     docker config ls --format '{{.Name}}' 2>/dev/null",
                )
                .stdout;
                (!leftovers.contains("swarmpi-mpi") && !leftovers.contains("mpi-")).then_some(())
            },
        );
    }
    let state = lab
        .sh(
            "a",
            "ls ${SWARMPI_STATE_DIR:-$HOME/.local/state/swarmpi}/mpi 2>&1",
        )
        .stdout;
    assert!(state.contains("No such file"), "state left: {state}");
    let again = lab.swarmpi("a", &["down"]).success();
    assert!(again.stderr.contains("nothing to remove"), "{again}");
    lab.swarmpi("a", &["status"])
        .failure(7, "there is no cluster named mpi");
}

#[test]
fn two_named_clusters_live_side_by_side() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--name", "alpha"]).success();
    lab.swarmpi(
        "a",
        &[
            "deploy",
            "--name",
            "beta",
            "--key-type",
            "ed25519",
            "--per-host",
            "2",
        ],
    )
    .success();
    assert_eq!(status_json(&lab, "alpha").1["totals"]["containers"], 2);
    assert_eq!(status_json(&lab, "beta").1["totals"]["containers"], 4);
    let beta_key = in_container(&lab, "beta", "ls ~/.ssh/").success();
    assert!(beta_key.stdout.contains("id_ed25519"), "{beta_key}");
    lab.swarmpi("a", &["down", "--name", "alpha"]).success();
    let (code, beta) = status_json(&lab, "beta");
    assert_eq!(code, 0, "{beta:#}");
    assert_eq!(beta["ready"], true);
    lab.swarmpi("a", &["down", "--name", "beta"]).success();
}

#[test]
fn deploy_refuses_bad_input_with_clear_errors() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "0"])
        .failure(2, "--per-host must be 1 to 64, got 0");
    lab.swarmpi("a", &["deploy", "--per-host", "100000"])
        .failure(2, "--per-host must be 1 to 64");
    lab.swarmpi("a", &["deploy", "--name", "Bad_Name"])
        .failure(2, "invalid cluster name 'Bad_Name'");
    lab.swarmpi("a", &["deploy", "--subnet", "10.9.0.1/24"])
        .failure(2, "host bits are set");
    lab.swarmpi("b", &["deploy"])
        .failure(4, "swarm worker, not a manager");
    let outside = lab.swarmpi("c", &["deploy"]).failure(4, "not a swarm manager");
    assert!(outside.stderr.contains("swarmpi init"), "{outside}");
    // Nothing was created by any of them.
    let services = lab.docker("a", &["service", "ls", "-q"]).success();
    assert!(services.stdout.trim().is_empty(), "{services}");
}

#[test]
fn deploy_names_the_server_that_lacks_the_image_and_leaves_nothing() {
    let lab = clean_lab();
    let image = swarmpi::swarm::image::default_image_ref();
    lab.docker("a", &["tag", &image, "localhost/only-on-a:test"])
        .success();
    let run = lab.swarmpi("a", &["deploy", "--image", "localhost/only-on-a:test"]);
    lab.docker("a", &["rmi", "localhost/only-on-a:test"]);
    let run = run.failure(7, "server 10.77.0.3 does not have the node image");
    assert!(run.stderr.contains("swarmpi join"), "{run}");
    assert!(run.elapsed < Duration::from_secs(30), "{run}");
    assert!(lab.docker("a", &["service", "ls", "-q"]).stdout.trim().is_empty());
    // Docker drops its local copy of a removed swarm network a moment later.
    wait_for("the network gone", Duration::from_secs(20), || {
        let networks = lab
            .docker("a", &["network", "ls", "--format", "{{.Name}}"])
            .stdout;
        (!networks.contains("swarmpi-mpi")).then_some(())
    });
}

/// Resumes a frozen dockerd even when the test fails.
struct Thaw(String);

impl Drop for Thaw {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0])
            .status();
    }
}

#[test]
fn deploy_fails_within_30s_when_a_server_stops_answering() {
    let lab = clean_lab();
    let pid = std::fs::read_to_string("/run/swarmpi-lab/b/docker.pid").expect("server b's dockerd pid file");
    let pid = pid.trim().to_string();
    let thaw = Thaw(pid.clone());
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let run = lab.swarmpi("a", &["deploy", "--per-host", "2"]);
    drop(thaw);
    let run = run.failure(6, "10.77.0.3");
    assert!(run.elapsed < Duration::from_secs(30), "{run}");
    assert!(run.stderr.contains("removing what it created"), "{run}");
    assert!(lab.docker("a", &["service", "ls", "-q"]).stdout.trim().is_empty());
    // Server b answers again and is Ready for the tests after this one.
    wait_for("server b Ready again", Duration::from_secs(60), || {
        lab.node_addrs_ready("a")
            .contains(&"10.77.0.3".to_string())
            .then_some(())
    });
}
