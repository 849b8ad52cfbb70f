//! `run` and `exec` on the lab's two servers, cluster deployed 2 per server.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Lab;

fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The lab with cluster `mpi` deployed at 2 per server (4 slots).
fn deployed() -> Lab {
    let lab = Lab::get();
    lab.ensure_swarm();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    lab
}

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
    let image = swarmpi::swarm::image::default_image_ref();
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
        .stderr(Stdio::null())
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
            "for h in $(cut -d' ' -f1 ~/.swarmpi/hostfile); do ssh $h pgrep -c slow_print || true; done",
        ],
    );
    assert!(left.stdout.lines().all(|l| l.trim() == "0"), "{left}");
    lab.swarmpi("a", &["run", "-n", "4", &example("hello_mpi.cpp")])
        .success();
}

#[test]
fn run_refuses_bad_input_before_launching() {
    let lab = deployed();
    lab.swarmpi("a", &["run", "-n", "5", &example("hello_mpi.cpp")])
        .failure(2, "more ranks than cluster mpi has slots (4)");
    lab.swarmpi("a", &["run", "-n", "2", "/nonexistent/a.out"])
        .failure(2, "cannot read program /nonexistent/a.out");
    lab.swarmpi(
        "a",
        &[
            "run",
            "-n",
            "2",
            &format!("{}/README.md", env!("CARGO_MANIFEST_DIR")),
        ],
    )
    .failure(2, "is not executable");
    lab.swarmpi(
        "a",
        &[
            "run",
            "-n",
            "2",
            &format!("{}/scripts/lab", env!("CARGO_MANIFEST_DIR")),
        ],
    )
    .failure(2, "not a Linux x86-64 executable: it is not an ELF file");
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

#[test]
fn run_names_a_container_that_is_gone() {
    let lab = deployed();
    let id = lab
        .docker(
            "b",
            &[
                "ps",
                "-q",
                "--filter",
                "label=com.docker.swarm.service.name=swarmpi-mpi",
            ],
        )
        .success();
    let id = id.stdout.lines().next().unwrap().to_string();
    lab.docker("b", &["rm", "-f", &id]).success();
    let run = lab
        .swarmpi("a", &["run", "-n", "2", &example("hello_mpi.cpp")])
        .failure(7, "on server 10.77.0.3");
    assert!(run.stderr.contains("swarmpi deploy"), "{run}");
    // deploy repairs it.
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    lab.swarmpi("a", &["run", "-n", "4", &example("hello_mpi.cpp")])
        .success();
}

#[test]
fn exec_runs_in_the_head_as_the_mpi_user() {
    let lab = deployed();
    let run = lab.swarmpi("a", &["exec", "whoami"]).success();
    assert_eq!(run.stdout.trim(), "mpi");
    let code = lab.swarmpi("a", &["exec", "sh", "-c", "exit 4"]);
    assert_eq!(code.code, 4, "{code}");
}
