//! `deploy`, `status`, `down` on the lab's two servers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use std::process::Stdio;

use crate::harness::{Lab, in_container_as, interrupt, wait_for};

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

/// No service on the swarm, from a listing that worked.
fn assert_no_service(lab: &Lab) {
    let services = lab.docker("a", &["service", "ls", "-q"]).success();
    assert!(services.stdout.trim().is_empty(), "{services}");
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

/// Nothing of cluster `mpi` on any server (containers, network, service,
/// secrets, configs) nor in the state directory. Docker drops a worker's
/// copy of a removed overlay network a moment later, hence the wait.
fn assert_cluster_gone(lab: &Lab) {
    for server in SERVERS {
        wait_for(
            &format!("nothing of the cluster on server {server}"),
            Duration::from_secs(20),
            || {
                let left = lab
                    .sh(
                        server,
                        "docker ps -a --format '{{.Names}}' && docker network ls --format '{{.Name}}' && echo listed; \
                         docker service ls --format '{{.Name}}' 2>/dev/null; \
                         docker secret ls --format '{{.Name}}' 2>/dev/null; \
                         docker config ls --format '{{.Name}}' 2>/dev/null",
                    )
                    .stdout;
                // Only a listing that worked counts as empty.
                let gone = !left.contains("swarmpi-mpi") && !left.contains("mpi-");
                (gone && left.contains("listed")).then_some(())
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
        BTreeMap::from([(lab.addr("a"), 2), (lab.addr("b"), 2)])
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
    // The gateway's sshd is published, and on the manager's loopback only.
    let binding = lab
        .docker(
            "a",
            &[
                "inspect",
                "swarmpi-mpi-gateway",
                "--format",
                "{{json .NetworkSettings.Ports}}",
            ],
        )
        .success();
    let ports: Value = serde_json::from_str(binding.stdout.trim()).expect("the gateway's ports as JSON");
    let published = ports["22/tcp"]
        .as_array()
        .expect("the gateway's 22/tcp is published");
    assert!(!published.is_empty(), "{binding}");
    for bound in published {
        assert_eq!(bound["HostIp"], "127.0.0.1", "{binding}");
        assert!(
            bound["HostPort"]
                .as_str()
                .is_some_and(|p| p.parse::<u16>().is_ok()),
            "{binding}"
        );
    }
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
        BTreeMap::from([(lab.addr("a"), 3), (lab.addr("b"), 3)])
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
    assert_cluster_gone(&lab);
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
fn deploy_is_refused_anywhere_but_on_the_manager() {
    // Input checks that need no Docker: tests/input.rs.
    let lab = clean_lab();
    lab.swarmpi("b", &["deploy"])
        .failure(4, "swarm worker, not a manager");
    let outside = lab.swarmpi("c", &["deploy"]).failure(4, "not a swarm manager");
    assert!(outside.stderr.contains("swarmpi init"), "{outside}");
    // Nothing was created by any of them.
    assert_no_service(&lab);
}

#[test]
fn deploy_names_the_server_that_lacks_the_image_and_leaves_nothing() {
    let lab = clean_lab();
    let image = swarmpi::cluster::image::default_image_ref();
    lab.docker("a", &["tag", &image, "localhost/only-on-a:test"])
        .success();
    let run = lab.swarmpi("a", &["deploy", "--image", "localhost/only-on-a:test"]);
    lab.docker("a", &["rmi", "localhost/only-on-a:test"]);
    let run = run.failure(
        7,
        &format!("server {} does not have the node image", lab.addr("b")),
    );
    assert!(
        run.stderr
            .contains("load localhost/only-on-a:test on that server"),
        "{run}"
    );
    assert!(run.elapsed < Duration::from_secs(30), "{run}");
    assert_no_service(&lab);
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
    let pid = lab.dockerd_pid("b").to_string();
    let thaw = Thaw(pid.clone());
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let run = lab.swarmpi("a", &["deploy", "--per-host", "2"]);
    drop(thaw);
    let run = run.failure(6, &lab.addr("b"));
    assert!(run.elapsed < Duration::from_secs(30), "{run}");
    assert!(run.stderr.contains("removing what it created"), "{run}");
    assert_no_service(&lab);
    // Server b answers again and is Ready for the tests after this one.
    wait_for("server b Ready again", Duration::from_secs(60), || {
        lab.node_addrs_ready("a").contains(&lab.addr("b")).then_some(())
    });
}

#[test]
fn redeploy_with_another_key_type_keeps_a_working_cluster() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    lab.swarmpi("a", &["deploy", "--per-host", "1", "--key-type", "ed25519"])
        .success();
    let (code, status) = status_json(&lab, "mpi");
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(status["totals"]["containers"], 2);
    assert_eq!(status["totals"]["sshd_reachable"], 2);
    // In a member by name: a scaled-down container may still be stopping.
    let keys = in_container_as(&lab, "mpi", "mpi-1", "mpi", "ls ~/.ssh/").success();
    assert!(keys.stdout.contains("id_ed25519"), "{keys}");
    // One container per server with 2 slots each: 4 ranks reach both.
    let count = "mpirun -n 4 hostname | sort -u | wc -l";
    let mpirun = in_container_as(&lab, "mpi", "mpi-1", "mpi", count).success();
    assert_eq!(mpirun.stdout.trim(), "2");
}

#[test]
fn deploy_with_an_empty_state_directory_adopts_a_running_cluster() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    let service = lab
        .docker("a", &["service", "inspect", "-f", "{{.ID}}", "swarmpi-mpi"])
        .success();
    let empty = std::env::temp_dir().join(format!("swarmpi-empty-state-{}", std::process::id()));
    let empty = empty.to_str().unwrap();
    let adopt = lab
        .swarmpi_env(
            "a",
            &[("SWARMPI_STATE_DIR", empty)],
            &["deploy", "--per-host", "2"],
        )
        .success();
    assert!(adopt.stderr.contains("adopting cluster mpi"), "{adopt}");
    // The same service, never removed, and ready under the new state.
    let after = lab
        .docker("a", &["service", "inspect", "-f", "{{.ID}}", "swarmpi-mpi"])
        .success();
    assert_eq!(after.stdout, service.stdout);
    let status = lab
        .swarmpi_env("a", &[("SWARMPI_STATE_DIR", empty)], &["status", "--json"])
        .success();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["totals"]["sshd_reachable"], 4, "{status:#}");
    std::fs::remove_dir_all(empty).unwrap();
    // The original state's key is stale now: its next command repairs or
    // says so; `down` with either state removes the cluster.
}

#[test]
fn a_forged_host_key_line_printed_by_root_in_a_container_is_ignored() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    let filter = "label=com.docker.swarm.service.name=swarmpi-mpi";
    let ids = lab.docker("a", &["ps", "-q", "--filter", filter]).success();
    let forger = ids.stdout.lines().next().unwrap().to_string();
    let tasks = lab
        .docker(
            "a",
            &[
                "service",
                "ps",
                "-q",
                "--filter",
                "desired-state=running",
                "swarmpi-mpi",
            ],
        )
        .success();
    let own = lab
        .docker(
            "a",
            &[
                "inspect",
                "-f",
                "{{index .Config.Labels \"com.docker.swarm.task.id\"}}",
                &forger,
            ],
        )
        .success();
    let victim = tasks
        .stdout
        .lines()
        .find(|t| !own.stdout.contains(*t))
        .unwrap()
        .to_string();
    // Root writes to the container's log: a key for another task, and a
    // second key for its own.
    let forged = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIForgedForgedForgedForgedForgedForgedForg";
    let script = format!(
        "echo 'swarmpi-hostkey task={victim} addrs=10.0.0.1/24 {forged}' > /proc/1/fd/1; \
         echo 'swarmpi-hostkey task={} addrs=10.0.0.1/24 {forged}' > /proc/1/fd/1",
        own.stdout.trim()
    );
    lab.docker("a", &["exec", &forger, "sh", "-c", &script]).success();
    let again = lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    assert!(
        again.stderr.contains("ignored a host key a container printed"),
        "{again}"
    );
    assert!(
        again.stderr.contains(&format!("claiming to be task {victim}")),
        "{again}"
    );
    let (code, status) = status_json(&lab, "mpi");
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(
        status["totals"]["sshd_reachable"], 4,
        "every real key still pinned"
    );
}

#[test]
fn ctrl_c_one_second_into_a_first_deploy_leaves_nothing() {
    let lab = clean_lab();
    let child = lab.spawn_swarmpi("a", &["deploy", "--per-host", "2"], Stdio::null());
    std::thread::sleep(Duration::from_secs(1));
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("removing what it created"), "{stderr}");
    assert_cluster_gone(&lab);
}

#[test]
fn two_deploys_at_once_wait_for_each_other_and_both_succeed() {
    let lab = clean_lab();
    let spawn = || lab.spawn_swarmpi("a", &["deploy", "--per-host", "2"], Stdio::null());
    let (first, second) = (spawn(), spawn());
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let stderr: Vec<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    for (output, text) in outputs.iter().zip(&stderr) {
        assert!(output.status.success(), "{text}");
    }
    assert!(
        stderr
            .iter()
            .any(|s| s.contains("waiting for another swarmpi command on cluster mpi")),
        "{stderr:?}"
    );
    assert!(stderr.iter().any(|s| s.contains("nothing changed")), "{stderr:?}");
    let (code, status) = status_json(&lab, "mpi");
    assert_eq!(code, 0, "{status:#}");
}

#[test]
fn a_subnet_overlapping_a_server_or_network_is_refused() {
    let lab = clean_lab();
    let server = lab.addr("b");
    let (prefix, _) = server.rsplit_once('.').unwrap();
    let overlapping = format!("{prefix}.0/24");
    lab.swarmpi("a", &["deploy", "--subnet", &overlapping]).failure(
        2,
        &format!("--subnet {overlapping} overlaps the address of server"),
    );
    lab.swarmpi("a", &["deploy", "--subnet", "10.1.0.0/28", "--per-host", "6"])
        .failure(2, "12 containers on 2 server(s) need 16 addresses");
    assert_no_service(&lab);
}

/// Stops server b's dockerd (its containers stop with it) and starts it
/// again when dropped, waiting until the swarm has it Ready.
struct StoppedServer<'a>(&'a Lab);

impl<'a> StoppedServer<'a> {
    fn stop(lab: &'a Lab) -> Self {
        let pid = lab.dockerd_pid("b").to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        wait_for("server b's dockerd to stop", Duration::from_secs(30), || {
            let alive = std::process::Command::new("kill")
                .args(["-0", &pid])
                .status()
                .unwrap();
            (!alive.success()).then_some(())
        });
        StoppedServer(lab)
    }
}

impl Drop for StoppedServer<'_> {
    fn drop(&mut self) {
        let lab = self.0;
        crate::harness::run(
            std::process::Command::new(format!("{}/scripts/lab", env!("CARGO_MANIFEST_DIR")))
                .args(["up", "3"]),
        );
        wait_for("server b Ready again", Duration::from_secs(90), || {
            lab.node_addrs_ready("a").contains(&lab.addr("b")).then_some(())
        });
    }
}

#[test]
fn run_names_a_server_whose_docker_stopped_and_down_still_removes_what_it_can() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    let example = format!("{}/examples/hello_mpi.cpp", env!("CARGO_MANIFEST_DIR"));
    {
        let _stopped = StoppedServer::stop(&lab);
        // Unreachable (6) or not ready (7), depending on whether the swarm
        // already saw the server down; either way the server is named.
        let run = lab.swarmpi("a", &["run", "-n", "4", &example]);
        assert!(run.code == 6 || run.code == 7, "{run}");
        assert!(run.stderr.contains(&format!("server {}", lab.addr("b"))), "{run}");
        assert!(run.elapsed < Duration::from_secs(45), "{run}");
        // Once the swarm sees it down, down removes the rest and says what is left.
        wait_for("server b Down", Duration::from_secs(60), || {
            (!lab.node_addrs_ready("a").contains(&lab.addr("b"))).then_some(())
        });
        // Whatever can be removed is; b's containers are either already
        // forgotten by the swarm (exit 0) or named as left on b (exit 7).
        let down = lab.swarmpi("a", &["down"]);
        assert!(down.stderr.contains("removed service swarmpi-mpi"), "{down}");
        let b_named = down.stderr.contains(&lab.addr("b"));
        assert!(down.code == 0 || (down.code == 7 && b_named), "{down}");
    }
    // With the server back, a second down finishes the job.
    lab.swarmpi("a", &["down"]).success();
    assert_no_service(&lab);
}

#[test]
fn the_gateway_is_only_a_gateway() {
    let lab = clean_lab();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    // Probes from the manager with the system ssh client, host key pinned
    // from the gateway's log. Each prints one line: what happened.
    let probes = lab
        .sh(
            "a",
            r#"D=${SWARMPI_STATE_DIR:-$HOME/.local/state/swarmpi}/mpi
            PORT=$(docker port swarmpi-mpi-gateway 22 | head -1 | cut -d: -f2)
            KEY=$(docker logs swarmpi-mpi-gateway 2>/dev/null | grep swarmpi-hostkey | head -1 | cut -d' ' -f4-)
            echo "[127.0.0.1]:$PORT $KEY" > $D/probe_known_hosts
            IP=$(sed -n 's/.*"ip": "\([0-9.]*\)".*/\1/p' $D/cluster.json | head -1)
            O="-o UserKnownHostsFile=$D/probe_known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes -p $PORT"
            probe() { if timeout 10 "$@" </dev/null >/dev/null 2>&1; then echo ok; else echo refused; fi; }
            echo "member sshd: $(probe ssh $O -i $D/gateway_ed25519 -W $IP:22 mpi@127.0.0.1)"
            echo "member port 80: $(probe ssh $O -i $D/gateway_ed25519 -W $IP:80 mpi@127.0.0.1)"
            echo "manager: $(probe ssh $O -i $D/gateway_ed25519 -W $(hostname -I | cut -d' ' -f1):2377 mpi@127.0.0.1)"
            echo "command: $(probe ssh $O -i $D/gateway_ed25519 mpi@127.0.0.1 true)"
            echo "cluster key: $(probe ssh $O -i $D/id_rsa -W $IP:22 mpi@127.0.0.1)"
            echo "restart: $(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' swarmpi-mpi-gateway)"
            rm -f $D/probe_known_hosts"#,
        )
        .success();
    let lines: Vec<&str> = probes.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "member sshd: ok",
            "member port 80: refused",
            "manager: refused",
            "command: refused",
            "cluster key: refused",
            "restart: unless-stopped"
        ],
        "{probes}"
    );
    // No container holds the gateway's login key.
    let gateway_public = lab
        .sh(
            "a",
            "ssh-keygen -y -f ${SWARMPI_STATE_DIR:-$HOME/.local/state/swarmpi}/mpi/gateway_ed25519 | cut -d' ' -f2",
        )
        .success();
    let blob = gateway_public.stdout.trim();
    assert!(blob.len() > 40, "{gateway_public}");
    // Every readable file of the home and /etc searched, and a planted copy
    // in /tmp found, so the search itself is shown to work.
    let search = format!(
        "echo '{blob}' > /tmp/planted && find ~ /etc /tmp -type f -readable | tee /tmp/files | xargs grep -l '{blob}'; \
         echo \"searched $(wc -l < /tmp/files)\"; rm /tmp/planted /tmp/files"
    );
    let found = in_container(&lab, "mpi", &search).success();
    let hits: Vec<&str> = found
        .stdout
        .lines()
        .filter(|l| !l.starts_with("searched"))
        .collect();
    assert_eq!(
        hits,
        ["/tmp/planted"],
        "a container holds the gateway key: {found}"
    );
    let searched: u32 = found.stdout.lines().last().unwrap()["searched ".len()..]
        .parse()
        .unwrap();
    assert!(searched > 100, "{found}");
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let lab = clean_lab();
    let child = lab.spawn_swarmpi("a", &["deploy", "--per-host", "2"], Stdio::null());
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    // The first Ctrl-C starts removing what the deploy made; the second
    // exits without waiting for that.
    std::thread::sleep(Duration::from_millis(300));
    let second = std::time::Instant::now();
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(second.elapsed() < Duration::from_secs(2), "{stderr}");
    assert!(stderr.contains("interrupted again: exiting at once"), "{stderr}");
    // What the deploy made is removed by down, as it says.
    lab.swarmpi("a", &["down"]).success();
}

#[test]
fn deploy_json_gives_the_ready_cluster_to_a_script() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let run = lab
        .swarmpi("a", &["deploy", "--per-host", "2", "--json"])
        .success();
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("deploy JSON: {e}\n{run}"));
    assert_eq!(report["cluster"], "mpi", "{report}");
    let containers = report["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 4, "{report}");
    assert!(
        containers
            .iter()
            .all(|c| c["ip"].as_str().is_some_and(|ip| ip.contains('.'))),
        "{report}"
    );
    assert!(
        !run.stderr.contains("CONTAINER"),
        "the table is not printed beside the JSON:\n{run}"
    );
}
