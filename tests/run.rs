//! `run` and `exec` on the lab's two servers, cluster deployed 2 per server.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Lab, deployed, example, interrupt};

#[test]
fn example_runs_8_ranks_on_4_containers() {
    let lab = deployed();
    let run = lab
        .swarmpi(
            "a",
            &["run", "-n", "8", "--oversubscribe", &example("hello_mpi.cpp")],
        )
        .success();
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Size: 8, Rank: "))
        .collect();
    assert_eq!(lines.len(), 8, "{run}");
    let hosts: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l.split("Host: ").nth(1)).collect();
    assert_eq!(hosts.len(), 4, "{run}");
    // Unchanged program: not sent again.
    let again = lab
        .swarmpi("a", &["run", "-n", "4", &example("hello_mpi.cpp")])
        .success();
    assert!(again.stderr.contains("not sent again"), "{again}");
}

#[test]
fn c_source_and_local_executable_both_run() {
    let lab = deployed();
    lab.swarmpi("a", &["run", "-n", "4", &example("slow_print.c"), "0"])
        .success();
    // A binary built on the manager side: compile it in a node container of
    // server a, copy it out, and run it as a local executable.
    let dir = std::env::temp_dir().join(format!("swarmpi-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("hello_bin");
    let image = swarmpi::cluster::image::default_image_ref();
    lab.sh(
        "a",
        &format!(
            "docker run --rm --entrypoint mpicxx -v {root}/examples:/src:ro -v {out}:/out {image} -O2 -o /out/hello_bin /src/hello_mpi.cpp",
            root = env!("CARGO_MANIFEST_DIR"),
            out = dir.display()
        ),
    )
    .success();
    let run = lab
        .swarmpi("a", &["run", "-n", "4", binary.to_str().unwrap()])
        .success();
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("Size: 4")).count(),
        4,
        "{run}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file of this test's own for a child's stderr (shown when it fails).
fn stderr_file(name: &str) -> std::fs::File {
    let path = std::env::temp_dir().join(format!("swarmpi-{name}-{}.err", std::process::id()));
    std::fs::File::create(path).unwrap()
}

/// `swarmpi run` of slow_print.c on server a, started in the background;
/// returns once the first line of output has arrived (and that line).
fn start_slow_print(ranks: &str, seconds: &str) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = Command::new(format!("{}/scripts/lab", env!("CARGO_MANIFEST_DIR")))
        .args([
            "exec",
            "a",
            "--",
            env!("CARGO_BIN_EXE_swarmpi"),
            "-q",
            "run",
            "-n",
            ranks,
        ])
        .args([&example("slow_print.c"), seconds])
        .stdout(Stdio::piped())
        .stderr(stderr_file(&format!("slow-print-{ranks}-{seconds}")))
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    (child, stdout, first)
}

#[test]
fn job_exit_code_is_swarmpis_exit_code() {
    let lab = deployed();
    let run = lab.swarmpi("a", &["run", "-n", "2", &example("exit_code.c"), "3"]);
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn output_streams_before_the_job_ends() {
    let lab = deployed();
    let (mut child, mut stdout, first) = start_slow_print("2", "5");
    let first_at = Instant::now();
    assert_eq!(first.trim(), "first line");
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    assert_eq!(second.trim(), "second line");
    assert!(
        first_at.elapsed() > Duration::from_secs(3),
        "the first line came only at the end"
    );
    assert!(child.wait().unwrap().success());
    drop(lab);
}

#[test]
fn ctrl_c_stops_the_job_and_the_next_run_succeeds() {
    let lab = deployed();
    let (mut child, _stdout, first) = start_slow_print("4", "60");
    assert_eq!(first.trim(), "first line");
    let started = Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(20));
    // No rank is left behind on any container.
    let left = lab.swarmpi(
        "a",
        &[
            "exec",
            "sh",
            "-c",
            "for h in $(cut -d' ' -f1 ~/.swarmpi/hostfile); do ssh $h pgrep -c slow_print || test $? -eq 1; done",
        ],
    );
    let left = left.success();
    let counts: Vec<&str> = left.stdout.lines().map(str::trim).collect();
    assert_eq!(counts, ["0"; 4], "a rank count per container, all zero:\n{left}");
    lab.swarmpi("a", &["run", "-n", "4", &example("hello_mpi.cpp")])
        .success();
}

#[test]
fn run_refuses_bad_input_before_launching() {
    let lab = deployed();
    lab.swarmpi(
        "a",
        &["run", "-n", "5", "--no-oversubscribe", &example("hello_mpi.cpp")],
    )
    .failure(2, "more ranks than cluster mpi has slots (4)");
    lab.swarmpi("a", &["run", "-n", "33", &example("hello_mpi.cpp")])
        .failure(2, "-n 33 is more than 8 ranks per slot of cluster mpi (4 slots)");
    // Unreadable or unusable programs need no Docker: tests/input.rs.
    lab.swarmpi(
        "a",
        &["run", "--name", "nosuch", "-n", "2", &example("hello_mpi.cpp")],
    )
    .failure(7, "there is no cluster named nosuch");
    let broken = std::env::temp_dir().join("swarmpi_broken.c");
    std::fs::write(&broken, "int main( { return 0; }\n").unwrap();
    lab.swarmpi("a", &["run", "-n", "2", broken.to_str().unwrap()])
        .failure(2, "mpicc failed to compile");
}

/// The id of one of the cluster's containers on `server`, by hostname.
fn container_id(lab: &Lab, server: &str, hostname: &str) -> String {
    let ids = lab
        .docker(
            server,
            &[
                "ps",
                "-q",
                "--filter",
                "label=com.docker.swarm.service.name=swarmpi-mpi",
            ],
        )
        .success();
    ids.stdout
        .lines()
        .find(|id| lab.docker(server, &["exec", id, "hostname"]).stdout.trim() == hostname)
        .unwrap_or_else(|| panic!("no container {hostname} on server {server}"))
        .to_string()
}

/// Which server runs `hostname` (from `status --json`).
fn server_of(lab: &Lab, hostname: &str) -> String {
    let status = lab.swarmpi("a", &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let addr = status["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == hostname)
        .map(|c| c["server"].as_str().unwrap().to_string())
        .unwrap();
    if addr == lab.addr("a") {
        "a".into()
    } else {
        "b".into()
    }
}

/// Kills `hostname`'s container; status then says it will be repaired, and
/// the next run heals the cluster and succeeds.
fn kill_then_run_heals(lab: &Lab, hostname: &str) {
    let server = server_of(lab, hostname);
    let id = container_id(lab, &server, hostname);
    lab.docker(&server, &["kill", &id]).success();
    let status = crate::harness::wait_for("status to see the replacement", Duration::from_secs(30), || {
        let run = lab.swarmpi("a", &["status"]);
        (run.code == 7 && run.stdout.contains("will be repaired")).then_some(run)
    });
    assert!(
        status.stdout.contains(&format!("container {hostname} on server")),
        "{status}"
    );
    let run = lab
        .swarmpi("a", &["run", "-n", "4", &example("hello_mpi.cpp")])
        .success();
    assert!(run.stderr.contains("repaired cluster mpi"), "{run}");
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("Size: 4")).count(),
        4,
        "{run}"
    );
    lab.swarmpi("a", &["status"]).success();
}

#[test]
fn a_killed_container_is_healed_by_the_next_run() {
    let lab = deployed();
    kill_then_run_heals(&lab, "mpi-4");
}

/// The soak's failure: a run started the moment a container is killed,
/// before the swarm has noticed, must wait for the replacement and heal.
#[test]
fn a_run_right_after_a_kill_waits_for_the_replacement() {
    let lab = deployed();
    for hostname in ["mpi-4", "mpi-2"] {
        let server = server_of(&lab, hostname);
        let id = container_id(&lab, &server, hostname);
        lab.docker(&server, &["kill", &id]).success();
        let run = lab
            .swarmpi("a", &["run", "-n", "4", &example("hello_mpi.cpp")])
            .success();
        assert!(run.stderr.contains("repaired cluster mpi"), "{run}");
        assert_eq!(
            run.stdout.lines().filter(|l| l.starts_with("Size: 4")).count(),
            4,
            "{run}"
        );
    }
}

#[test]
fn a_killed_head_is_healed_by_the_next_run() {
    let lab = deployed();
    kill_then_run_heals(&lab, "mpi-1");
}

#[test]
fn a_killed_gateway_is_recreated_by_the_next_run() {
    let lab = deployed();
    lab.docker("a", &["rm", "-f", "swarmpi-mpi-gateway"]).success();
    let status = lab.swarmpi("a", &["status"]);
    assert_eq!(status.code, 7, "{status}");
    assert!(
        status
            .stdout
            .contains("the gateway container swarmpi-mpi-gateway is not running"),
        "{status}"
    );
    let run = lab
        .swarmpi("a", &["run", "-n", "2", &example("hello_mpi.cpp")])
        .success();
    assert!(run.stderr.contains("repaired cluster mpi"), "{run}");
    lab.swarmpi("a", &["status"]).success();
}

/// What the manager's reboot or Docker restart does to the gateway: the same
/// container starts again (restart policy) and must keep working.
#[test]
fn a_restarted_gateway_keeps_working_without_repair() {
    let lab = deployed();
    lab.docker("a", &["restart", "swarmpi-mpi-gateway"]).success();
    let run = lab
        .swarmpi("a", &["run", "-n", "2", &example("hello_mpi.cpp")])
        .success();
    assert!(!run.stderr.contains("repaired"), "{run}");
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
}

/// Regression: the gateway's host key was looked for in the last 100
/// lines of its log, which Docker counts over stdout and stderr, so once
/// sshd had logged 100 lines the next command took the gateway for gone
/// and re-created it under a running job.
#[test]
fn a_gateway_with_a_long_sshd_log_is_not_taken_for_gone() {
    let lab = deployed();
    let created = || {
        let inspect = ["inspect", "-f", "{{.Created}}", "swarmpi-mpi-gateway"];
        lab.docker("a", &inspect).success().stdout
    };
    let before = created();
    let flood = "for i in $(seq 200); do echo \"sshd log line $i\" > /proc/1/fd/2; done";
    lab.docker("a", &["exec", "swarmpi-mpi-gateway", "sh", "-c", flood])
        .success();
    let run = lab
        .swarmpi("a", &["run", "-n", "2", &example("hello_mpi.cpp")])
        .success();
    assert!(!run.stderr.contains("repaired"), "{run}");
    assert_eq!(created(), before, "the gateway was re-created");
}

#[test]
fn exec_runs_in_the_head_as_the_mpi_user() {
    let lab = deployed();
    let run = lab
        .swarmpi("a", &["exec", "sh", "-c", "whoami; hostname"])
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    // The head is the lowest slot: mpi-1.
    assert_eq!(lines, ["mpi", "mpi-1"], "{run}");
    let code = lab.swarmpi("a", &["exec", "sh", "-c", "exit 4"]);
    assert_eq!(code.code, 4, "{code}");
}

#[test]
fn the_missions_run_n_8_after_deploy_per_host_2_runs_as_typed() {
    // Two 2-CPU servers, 2 containers each: 1 slot per container, 4 in all.
    let lab = deployed();
    let run = lab
        .swarmpi("a", &["run", "-n", "8", &example("hello_mpi.cpp")])
        .success();
    let ranks = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Size: 8, Rank: "))
        .count();
    assert_eq!(ranks, 8, "{run}");
    assert!(
        run.stderr.contains("note: 8 ranks on 4 slots: ranks share cores"),
        "{run}"
    );
}

/// What `mpi_yield_when_idle` the ranks of `swarmpi run ARGS yield_check.c` saw.
fn yield_seen(lab: &Lab, args: &[&str]) -> (String, crate::harness::Run) {
    let example = example("yield_check.c");
    let mut all: Vec<&str> = vec!["run"];
    all.extend(args);
    all.push(&example);
    let run = lab.swarmpi("a", &all).success();
    let seen = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("yield="))
        .unwrap_or_else(|| panic!("no yield= line:\n{run}"))
        .to_string();
    (seen, run)
}

#[test]
fn ranks_yield_when_they_fill_the_machines_cores_unless_told_otherwise() {
    // The lab's servers share one 2-CPU machine: 2 ranks in 2 containers fill it.
    let lab = deployed();
    let (seen, run) = yield_seen(&lab, &["-n", "2"]);
    assert_eq!(seen, "1", "{run}");
    assert!(run.stderr.contains("note: 2 ranks on 2 CPUs (servers "), "{run}");
    assert!(run.stderr.contains("share one machine"), "{run}");
    let (seen, run) = yield_seen(&lab, &["-n", "2", "--mca", "mpi_yield_when_idle", "0"]);
    assert_eq!(seen, "0", "the user's choice wins:\n{run}");
    assert!(!run.stderr.contains("idle ranks yield"), "{run}");
    // One rank: nothing to share with, nothing set.
    let (seen, run) = yield_seen(&lab, &["-n", "1"]);
    assert_eq!(seen, "unset", "{run}");
}

#[test]
fn ctrl_c_stops_a_command_started_by_exec() {
    let lab = deployed();
    let args = ["-q", "exec", "sh", "-c", "echo started; sleep 300"];
    let mut child = lab.spawn_swarmpi("a", &args, Stdio::piped());
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim(), "started");
    let started = Instant::now();
    interrupt(&child);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(15));
    // The remote command is gone, not orphaned in the head.
    let left = lab
        .swarmpi(
            "a",
            &["exec", "sh", "-c", "pgrep -c -f '[s]leep 300' || test $? -eq 1"],
        )
        .success();
    assert_eq!(left.stdout.trim(), "0", "{left}");
}

#[test]
fn two_runs_at_once_on_one_cluster_both_work() {
    let lab = deployed();
    // Compiled and copied once, so both runs start from the same program.
    lab.swarmpi("a", &["run", "-n", "2", &example("slow_print.c"), "0"])
        .success();
    let (a, mut a_out, _) = start_slow_print("2", "3");
    let (b, mut b_out, _) = start_slow_print("2", "4");
    for (mut child, out, seconds) in [(a, &mut a_out, "3"), (b, &mut b_out, "4")] {
        let mut second = String::new();
        out.read_line(&mut second).unwrap();
        let err = std::env::temp_dir().join(format!(
            "swarmpi-slow-print-2-{seconds}-{}.err",
            std::process::id()
        ));
        let stderr = std::fs::read_to_string(err).unwrap_or_default();
        assert_eq!(second.trim(), "second line", "stderr of the run:\n{stderr}");
        assert!(child.wait().unwrap().success());
    }
    drop(lab);
}
