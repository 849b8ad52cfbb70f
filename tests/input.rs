//! Bad input that swarmpi refuses before it talks to Docker: these run the
//! real binary with no Docker reachable, so a check made too late would
//! fail with "cannot reach the Docker daemon" (exit 3) instead.

use crate::harness::{Run, example, swarmpi_without_docker as swarmpi};

#[track_caller]
fn refused(run: Run, message: &str) {
    let run = run.failure(2, message);
    assert!(
        !run.stderr.contains("Docker daemon"),
        "checked only after reaching for Docker:\n{run}"
    );
}

#[test]
fn deploy_refuses_bad_counts_names_subnets_and_mtus() {
    refused(
        swarmpi(&["deploy", "--per-host", "0"]),
        "--per-host must be 1 to 64, got 0",
    );
    refused(
        swarmpi(&["deploy", "--per-host", "100000"]),
        "--per-host must be 1 to 64",
    );
    refused(
        swarmpi(&["deploy", "--slots", "0"]),
        "--slots must be 1 to 1024, got 0",
    );
    refused(
        swarmpi(&["deploy", "--mtu", "100"]),
        "--mtu must be 576 to 9000, got 100",
    );
    refused(
        swarmpi(&["deploy", "--name", "Bad_Name"]),
        "invalid cluster name 'Bad_Name'",
    );
    refused(
        swarmpi(&["deploy", "--subnet", "10.9.0.1/24"]),
        "host bits are set",
    );
    refused(
        swarmpi(&["deploy", "--subnet", "10.9.0.0/30"]),
        "the prefix must be 8 to 28",
    );
}

#[test]
fn deploy_on_the_servers_network_refuses_what_does_not_fit_it() {
    refused(
        swarmpi(&["deploy", "--network", "host", "--per-host", "2"]),
        "--per-host above 1 does not fit --network host: a container on the servers' own network shares its server's addresses and ports",
    );
    refused(
        swarmpi(&["deploy", "--network", "host", "--encrypted"]),
        "--encrypted does not fit --network host",
    );
    refused(
        swarmpi(&["deploy", "--network", "host", "--mtu", "1400"]),
        "--mtu does not fit --network host",
    );
    refused(
        swarmpi(&["deploy", "--port", "20000"]),
        "--port is for --network host",
    );
    refused(
        swarmpi(&["deploy", "--network", "host", "--port", "80"]),
        "--port 80 is out of range",
    );
}

#[test]
fn every_cluster_command_refuses_a_bad_name() {
    for command in ["status", "down", "shell"] {
        refused(swarmpi(&[command, "--name", "x-"]), "invalid cluster name 'x-'");
    }
    refused(
        swarmpi(&["exec", "--name", "a_b", "true"]),
        "invalid cluster name 'a_b'",
    );
}

#[test]
fn run_refuses_unreadable_and_unusable_programs() {
    refused(
        swarmpi(&["run", "-n", "2", "/nonexistent/a.out"]),
        "cannot read program /nonexistent/a.out",
    );
    let readme = format!("{}/README.md", env!("CARGO_MANIFEST_DIR"));
    refused(swarmpi(&["run", "-n", "2", &readme]), "is not executable");
    let script = format!("{}/scripts/lab", env!("CARGO_MANIFEST_DIR"));
    refused(
        swarmpi(&["run", "-n", "2", &script]),
        "not a Linux x86-64 executable: it is not an ELF file",
    );
    refused(
        swarmpi(&["run", "-n", "2", env!("CARGO_MANIFEST_DIR")]),
        "is not a file",
    );
    refused(
        swarmpi(&["run", "-n", "0", &example("hello_mpi.cpp")]),
        "-n must be at least 1",
    );
}

#[test]
fn a_malformed_join_token_is_refused_before_docker() {
    let run = swarmpi(&["join", "not-a-token"]).failure(5, "malformed join token");
    assert!(run.stderr.contains("hint:"), "{run}");
}

#[test]
fn completions_are_accepted_by_bash_and_the_man_page_names_every_command() {
    let script = swarmpi(&["completions", "bash"]).success();
    let mut bash = std::process::Command::new("bash")
        .args(["-c", "source /dev/stdin && complete -p swarmpi"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(bash.stdin.as_mut().unwrap(), script.stdout.as_bytes()).unwrap();
    let output = bash.wait_with_output().unwrap();
    assert!(output.status.success(), "bash refused the completion script");
    assert!(String::from_utf8_lossy(&output.stdout).contains("swarmpi"));
    let man = swarmpi(&["man"]).success();
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH swarmpi 1"),
        "{man}"
    );
    // Every subcommand the parser knows has its entry, by its exact name.
    let cli = <swarmpi::cli::Cli as clap::CommandFactory>::command();
    let visible: Vec<&str> = cli
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name())
        .collect();
    assert!(visible.len() >= 19, "{visible:?}");
    for command in visible {
        let entry = format!("\n.TP\nswarmpi\\-{command}(1)\n");
        assert!(man.stdout.contains(&entry), "the man page lacks {command}");
    }
    swarmpi(&["completions", "tcsh"]).failure(2, "invalid value 'tcsh'");
}

#[test]
fn a_user_refused_by_the_docker_socket_is_told_about_the_docker_group() {
    // A socket only root may use, as /var/run/docker.sock is to a user
    // outside the docker group; swarmpi run as nobody.
    let socket = std::env::temp_dir().join(format!("swarmpi-denied-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let run = crate::harness::run(
        std::process::Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_swarmpi"))
            .arg("init")
            .env("DOCKER_HOST", format!("unix://{}", socket.display())),
    );
    std::fs::remove_file(&socket).unwrap();
    let run = run.failure(3, "Permission denied");
    assert!(run.stderr.contains("add yourself to the docker group"), "{run}");
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let run = swarmpi(&["--version"]).success();
    let expected = format!("swarmpi {}", env!("CARGO_PKG_VERSION"));
    assert!(run.stdout.starts_with(&expected), "{run}");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert_eq!(head.len(), 10, "the tests run in a git checkout");
    assert_eq!(run.stdout.trim(), format!("{expected} (rev {head})"));
}
