//! `deploy --network host`: one container per server on the servers' own
//! network, its sshd on the cluster's port. Deploy, run across servers with
//! a rank per server, every other command, heal after a kill, two clusters
//! at once, a taken port, bench against the wire, and down leaving nothing.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{Lab, Run, example, wait_for};

fn status(lab: &Lab, cluster: &str) -> Value {
    let run = lab.swarmpi("a", &["status", "--name", cluster, "--json"]);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("status JSON: {e}\n{run}"))
}

/// Whether anything listens on `port` in server `server`'s network.
fn listening(lab: &Lab, server: &str, port: u16) -> bool {
    let run = lab.sh(server, &format!("ss -Htln 'sport = :{port}'"));
    !run.stdout.trim().is_empty()
}

/// The cluster's containers on `server`, by Docker's label.
fn containers(lab: &Lab, server: &str, cluster: &str) -> Vec<String> {
    let filter = format!("label=org.swarmpi.cluster={cluster}");
    let run = lab.docker(server, &["ps", "-aq", "--filter", &filter]).success();
    run.stdout.split_whitespace().map(String::from).collect()
}

fn hosts_of(run: &Run) -> Vec<String> {
    let mut hosts: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| l.split("Host: ").nth(1))
        .map(String::from)
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

#[test]
fn on_the_servers_network_every_command_works_and_down_leaves_nothing() {
    let lab = Lab::get();
    lab.ensure_swarm();
    lab.swarmpi("a", &["down", "--name", "hostnet"]).success();
    lab.swarmpi("a", &["deploy", "--network", "host", "--name", "hostnet"])
        .success();
    let seen = status(&lab, "hostnet");
    assert_eq!(seen["ready"], true, "{seen}");
    assert_eq!(seen["network"]["mode"], "host", "{seen}");
    let port = seen["network"]["ssh_port"].as_u64().expect("ssh_port") as u16;
    assert!((20000..32768).contains(&port), "{seen}");
    // One container per server, reached at its server's address, every CPU a slot.
    let members = seen["containers"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{seen}");
    for m in members {
        assert_eq!(m["ip"], m["server"], "{seen}");
        assert_eq!(m["slots"], 2, "the lab's servers see 2 CPUs: {seen}");
    }
    for server in ["a", "b"] {
        assert!(listening(&lab, server, port), "sshd on {port} on {server}");
    }
    assert!(!listening(&lab, "c", port), "c is not in the swarm");

    // A rank per server, then two per server sharing the one container.
    let spread = ["run", "--name", "hostnet", "-n", "2", "--map-by", "node"];
    let run = lab
        .swarmpi("a", &[&spread[..], &[&example("hello_mpi.cpp")]].concat())
        .success();
    assert_eq!(hosts_of(&run), ["hostnet-1", "hostnet-2"], "{run}");
    let four = ["run", "--name", "hostnet", "-n", "4", &example("hello_mpi.cpp")];
    let run = lab.swarmpi("a", &four).success();
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("Size: 4")).count(),
        4,
        "{run}"
    );

    // exec, a detached job, cp both ways.
    let exec = lab
        .swarmpi(
            "a",
            &[
                "exec",
                "--name",
                "hostnet",
                "--",
                "cat",
                ".openmpi/mca-params.conf",
            ],
        )
        .success();
    assert!(exec.stdout.contains("btl_tcp_port_min_v4 = "), "{exec}");
    assert!(
        exec.stdout.contains("oob_tcp_if_include = eth0"),
        "the server's interface: {exec}"
    );
    let detached = [
        "run",
        "--name",
        "hostnet",
        "-n",
        "2",
        "--detach",
        &example("hello_mpi.cpp"),
    ];
    let started = lab.swarmpi("a", &detached).success();
    let id = started.stdout.trim().to_string();
    let waited = lab.swarmpi("a", &["wait", "--name", "hostnet", &id]);
    assert_eq!(waited.code, 0, "{waited}");
    let dir = std::env::temp_dir().join(format!("swarmpi-hostnet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let local = dir.join("note.txt");
    std::fs::write(&local, "on the wire\n").unwrap();
    lab.swarmpi("a", &["cp", local.to_str().unwrap(), "hostnet:note.txt"])
        .success();
    let back = dir.join("back.txt");
    lab.swarmpi("a", &["cp", "hostnet-2:note.txt", back.to_str().unwrap()])
        .success();
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "on the wire\n");
    std::fs::remove_dir_all(&dir).unwrap();

    // A killed container: the next run heals (its replacement takes the same port).
    let victim = containers(&lab, "b", "hostnet");
    lab.docker("b", &["kill", &victim[0]]).success();
    wait_for("the kill to be seen", Duration::from_secs(30), || {
        (lab.swarmpi("a", &["status", "--name", "hostnet"]).code == 7).then_some(())
    });
    let run = lab.swarmpi("a", &four).success();
    assert!(run.stderr.contains("repaired cluster hostnet"), "{run}");
    assert_eq!(hosts_of(&run).len(), 2, "{run}");

    lab.swarmpi("a", &["down", "--name", "hostnet"]).success();
    for server in ["a", "b"] {
        assert!(
            !listening(&lab, server, port),
            "nothing on {port} on {server} after down"
        );
        let left: Vec<String> = containers(&lab, server, "hostnet")
            .into_iter()
            .filter(|c| {
                let state = lab.docker(server, &["inspect", "--format", "{{.State.Running}}", c]);
                state.stdout.trim() == "true"
            })
            .collect();
        assert!(left.is_empty(), "running containers left on {server}: {left:?}");
    }
}

#[test]
fn two_clusters_share_the_servers_network_and_a_taken_port_is_named() {
    let lab = Lab::get();
    lab.ensure_swarm();
    for name in ["one", "two", "taken"] {
        lab.swarmpi("a", &["down", "--name", name]).success();
    }
    lab.swarmpi("a", &["deploy", "--network", "host", "--name", "one"])
        .success();
    lab.swarmpi("a", &["deploy", "--network", "host", "--name", "two"])
        .success();
    let (one, two) = (status(&lab, "one"), status(&lab, "two"));
    assert_ne!(
        one["network"]["ssh_port"], two["network"]["ssh_port"],
        "{one}\n{two}"
    );
    for name in ["one", "two"] {
        let run = [
            "run",
            "--name",
            name,
            "-n",
            "2",
            "--map-by",
            "node",
            &example("hello_mpi.cpp"),
        ];
        let run = lab.swarmpi("a", &run).success();
        assert_eq!(hosts_of(&run).len(), 2, "{run}");
    }
    // Asking for a block that overlaps another cluster's: refused before anything is made.
    let port = one["network"]["ssh_port"].as_u64().unwrap().to_string();
    let overlap = ["deploy", "--network", "host", "--name", "taken", "--port", &port];
    lab.swarmpi("a", &overlap)
        .failure(2, "overlap those of cluster one");

    // Another program holds the port on b: named, with the server, and nothing left.
    let listener = lab
        .sh(
            "b",
            "python3 -m http.server 29000 --bind 0.0.0.0 >/dev/null 2>&1 & echo $!",
        )
        .success();
    wait_for("the listener on b", Duration::from_secs(10), || {
        listening(&lab, "b", 29000).then_some(())
    });
    let deploy = [
        "deploy",
        "--network",
        "host",
        "--name",
        "taken",
        "--port",
        "29000",
    ];
    let failed = lab.swarmpi("a", &deploy);
    lab.sh("b", &format!("kill {}", listener.stdout.trim())).success();
    let failed = failed.failure(
        7,
        &format!("port 29000 is already in use on server {}", lab.addr("b")),
    );
    assert!(failed.stderr.contains("--port"), "{failed}");
    let services = lab
        .docker("a", &["service", "ls", "--format", "{{.Name}}"])
        .success();
    assert!(!services.stdout.contains("swarmpi-taken"), "{services}");
    for name in ["one", "two"] {
        lab.swarmpi("a", &["down", "--name", name]).success();
    }
}

#[test]
fn bench_sets_each_pair_of_servers_against_the_wire() {
    let lab = Lab::get();
    lab.ensure_swarm();
    lab.swarmpi("a", &["down", "--name", "benchhost"]).success();
    lab.swarmpi("a", &["deploy", "--network", "host", "--name", "benchhost"])
        .success();
    let run = lab.swarmpi("a", &["bench", "--name", "benchhost", "--json"]);
    lab.swarmpi("a", &["down", "--name", "benchhost"]).success();
    assert_eq!(run.code, 0, "{run}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["network"], "host", "{run}");
    let classes: Vec<&str> = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["same-container", "cross-server"], "{run}");
    crate::bench::assert_against_wire(&report["pairs"][1], &run);
    // The wire's temporary cluster is gone.
    let services = lab
        .docker("a", &["service", "ls", "--format", "{{.Name}}"])
        .success();
    assert!(!services.stdout.contains("wire"), "{services}");
}
