//! `init`, `join`, `leave` and the node image, on the lab's servers.

use std::time::Duration;

use crate::harness::{Lab, join_token_from, wait_for};

const FAST: Duration = Duration::from_secs(30);

fn node_image() -> String {
    swarmpi::cluster::image::default_image_ref()
}

#[test]
fn init_then_printed_join_line_forms_a_two_node_swarm() {
    let lab = Lab::get();
    for server in ["b", "c", "a"] {
        lab.docker(server, &["swarm", "leave", "--force"]);
    }
    let init = lab.swarmpi("a", &["init"]).success();
    assert_eq!(lab.swarm_state("a"), "active true");
    // Run the printed line exactly as a user would paste it.
    let line = init
        .stdout
        .lines()
        .find(|l| l.trim().starts_with("swarmpi join "))
        .expect("a join line");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 3, "the join line has a single argument: {line}");
    lab.swarmpi("b", &words[1..]).success();

    let ready = lab.node_addrs_ready("a");
    assert_eq!(ready.len(), 2, "nodes: {ready:?}");
    assert!(
        ready.contains(&lab.addr("a")) && ready.contains(&lab.addr("b")),
        "nodes: {ready:?}"
    );
    for server in ["a", "b"] {
        lab.docker(server, &["image", "inspect", &node_image()]).success();
    }
}

#[test]
fn init_and_join_again_say_so_and_change_nothing() {
    let lab = Lab::get();
    let token = lab.ensure_swarm();
    let again = lab.swarmpi("a", &["init"]).success();
    assert!(again.stderr.contains("already a swarm manager"), "{again}");
    assert_eq!(join_token_from(&again.stdout), token);
    let rejoin = lab.swarmpi("b", &["join", &token]).success();
    assert!(rejoin.stderr.contains("already a member"), "{rejoin}");
    // The token from standard input, never on a command line.
    let bin = env!("CARGO_BIN_EXE_swarmpi");
    let piped = lab
        .sh("b", &format!("printf '%s\\n' '{token}' | {bin} join -"))
        .success();
    assert!(piped.stderr.contains("already a member"), "{piped}");
    let empty = lab.sh("b", &format!("{bin} join - < /dev/null"));
    assert_eq!(empty.code, 2, "{empty}");
    assert!(
        empty.stderr.contains("no join token on standard input"),
        "{empty}"
    );
    assert_eq!(lab.node_addrs_ready("a").len(), 2);
}

#[test]
fn init_json_prints_the_join_command() {
    let lab = Lab::get();
    let token = lab.ensure_swarm();
    let run = lab.swarmpi("a", &["init", "--json"]).success();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(value["token"], token.as_str());
    assert_eq!(value["join_command"], format!("swarmpi join {token}").as_str());
    assert_eq!(value["image"], node_image().as_str());
}

#[test]
fn join_with_malformed_token_fails_fast_and_names_the_problem() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let run = lab
        .swarmpi("c", &["join", "not-a-token"])
        .failure(5, "malformed join token");
    assert!(run.stderr.contains("hint:"), "{run}");
    assert!(run.elapsed < FAST);
    assert_eq!(lab.swarm_state("c"), "inactive false");
}

#[test]
fn join_with_wrong_secret_is_rejected_within_30s_and_leaves_nothing() {
    let lab = Lab::get();
    let token = lab.ensure_swarm();
    let (head, addr) = token.rsplit_once('@').unwrap();
    let (prefix, _secret) = head.rsplit_once('-').unwrap();
    let wrong = format!("{prefix}-{}@{addr}", "z".repeat(25));
    let run = lab
        .swarmpi("c", &["join", &wrong])
        .failure(5, "rejected the join token");
    assert!(run.elapsed < FAST, "{run}");
    assert_eq!(
        lab.swarm_state("c"),
        "inactive false",
        "a failed join must leave no swarm state"
    );
}

#[test]
fn join_with_unreachable_manager_fails_within_30s() {
    let lab = Lab::get();
    let token = lab.ensure_swarm();
    let (head, _) = token.rsplit_once('@').unwrap();
    let nowhere = format!("{}:2377", lab.unused_addr());
    let run = lab
        .swarmpi("c", &["join", &format!("{head}@{nowhere}")])
        .failure(6, &format!("cannot reach the manager at {nowhere}"));
    assert!(run.elapsed < FAST, "{run}");
    assert_eq!(lab.swarm_state("c"), "inactive false");
}

#[test]
fn join_from_a_host_in_another_swarm_is_refused() {
    let lab = Lab::get();
    let token = lab.ensure_swarm();
    lab.docker("c", &["swarm", "init", "--advertise-addr", &lab.addr("c")])
        .success();
    let run = lab.swarmpi("c", &["join", &token]);
    lab.docker("c", &["swarm", "leave", "--force"]).success();
    run.failure(4, "manager of another swarm");
}

#[test]
fn unreachable_docker_is_a_clear_error() {
    let lab = Lab::get();
    let run = lab
        .swarmpi_env(
            "c",
            &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
            &["init"],
        )
        .failure(
            3,
            "cannot reach the Docker daemon at unix:///nonexistent/docker.sock",
        );
    assert!(run.stderr.contains("hint:"), "{run}");
    assert!(run.elapsed < FAST);
}

#[test]
fn init_on_a_worker_is_refused() {
    let lab = Lab::get();
    lab.ensure_swarm();
    lab.swarmpi("b", &["init"]).failure(4, "is a worker in a swarm");
}

#[test]
fn leave_takes_a_worker_out_and_is_idempotent() {
    let lab = Lab::get();
    let token = lab.ensure_swarm();
    // c joins with an image it already has, so no build is needed.
    lab.swarmpi("c", &["join", &token, "--image", "debian:bookworm-slim"])
        .success();
    assert_eq!(lab.swarm_state("c"), "active false");
    lab.swarmpi("c", &["leave"]).success();
    assert_eq!(lab.swarm_state("c"), "inactive false");
    let again = lab.swarmpi("c", &["leave"]).success();
    assert!(again.stderr.contains("not in a swarm"), "{again}");
    lab.remove_down_nodes();
}

#[test]
fn leave_refuses_a_manager_with_other_servers() {
    let lab = Lab::get();
    lab.ensure_swarm();
    lab.swarmpi("a", &["leave"])
        .failure(4, "manages a swarm with 1 other server");
    assert_eq!(lab.swarm_state("a"), "active true");
}

#[test]
fn join_with_missing_image_ref_fails_after_undoing_the_join() {
    let lab = Lab::get();
    let token = lab.ensure_swarm();
    lab.swarmpi("c", &["join", &token, "--image", "swarmpi/does-not-exist:1"])
        .failure(2, "image swarmpi/does-not-exist:1 does not exist");
    assert_eq!(lab.swarm_state("c"), "inactive false");
    lab.remove_down_nodes();
}

#[test]
fn node_image_holds_no_private_key() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let image = node_image();
    let history = lab.docker("a", &["history", "--no-trunc", &image]).success();
    assert!(!history.stdout.contains("PRIVATE KEY"));
    // Every file of every layer: no key file, no text holding a private key
    // (binaries such as ssh-keygen hold the PEM marker as a string; -I skips
    // them). Layers are `*/layer.tar` in the legacy layout and blobs under
    // `blobs/sha256/` in the OCI layout newer Docker writes: unpack every
    // file of the saved image that is a tar archive.
    let scan = lab
        .sh(
            "a",
            &format!(
                "set -e; d=$(mktemp -d); mkdir $d/x; docker save {image} | tar -x -C $d --exclude=x; \
                 for f in $(find $d -type f ! -path \"$d/x/*\"); do \
                   if tar -tf $f >/dev/null 2>&1; then tar -xf $f -C $d/x 2>/dev/null || true; fi; done; \
                 for known in usr/sbin/sshd usr/bin/mpirun usr/local/sbin/swarmpi-entrypoint; do \
                   if [ -e $d/x/$known ] || [ -L $d/x/$known ]; then echo \"read $known\"; fi; done; \
                 find $d/x -name 'ssh_host_*_key' -o -name 'id_rsa' -o -name 'id_ed25519' | sed 's/^/key file: /'; \
                 {{ grep -rlI 'PRIVATE KEY-----' $d/x || [ $? -eq 1 ]; }} | sed 's/^/key text: /'; rm -rf $d"
            ),
        )
        .success();
    let (read, findings): (Vec<&str>, Vec<&str>) = scan.stdout.lines().partition(|l| l.starts_with("read "));
    assert!(
        read.contains(&"read usr/sbin/sshd")
            && read.contains(&"read usr/bin/mpirun")
            && read.contains(&"read usr/local/sbin/swarmpi-entrypoint"),
        "the scan did not read the image's files (read: {read:?})\n{scan}"
    );
    assert!(
        findings.is_empty(),
        "private key material in the image: {findings:?}"
    );
}

#[test]
fn node_container_accepts_key_login_only_for_the_mpi_user() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let image = node_image();
    let net = "swarmpi-test-login";
    let cleanup = || {
        lab.docker("a", &["rm", "-f", "swarmpi-test-server", "swarmpi-test-client"]);
        lab.docker("a", &["network", "rm", net]);
    };
    cleanup();
    lab.docker("a", &["network", "create", net]).success();
    lab.docker(
        "a",
        &[
            "run",
            "-d",
            "--name",
            "swarmpi-test-client",
            "--network",
            net,
            "--entrypoint",
            "sleep",
            &image,
            "600",
        ],
    )
    .success();
    let client = |cmd: &str| {
        lab.docker(
            "a",
            &["exec", "-u", "mpi", "swarmpi-test-client", "sh", "-c", cmd],
        )
    };
    let pubkey = client("ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && cat ~/.ssh/id_ed25519.pub")
        .success()
        .stdout;

    // Where the swarm puts the secret with the manager's key.
    lab.sh(
        "a",
        &format!("printf '%s' '{}' > /tmp/swarmpi-test-keys", pubkey.trim()),
    )
    .success();
    lab.docker(
        "a",
        &[
            "run",
            "-d",
            "--name",
            "swarmpi-test-server",
            "--network",
            net,
            "--mount",
            "type=bind,src=/tmp/swarmpi-test-keys,dst=/run/secrets/swarmpi_authorized_keys,readonly",
            &image,
        ],
    )
    .success();
    let host_key = wait_for(
        "the server's host key in its log",
        Duration::from_secs(30),
        || {
            let logs = lab.docker("a", &["logs", "swarmpi-test-server"]).stdout;
            logs.lines()
                .find_map(swarmpi::cluster::hostkey::parse_line)
                .map(|report| report.key)
        },
    );
    client(&format!(
        "echo 'swarmpi-test-server {host_key}' > ~/.ssh/known_hosts"
    ))
    .success();
    // What a job could leave behind for sshd to run at the next login.
    lab.docker(
        "a",
        &[
            "exec",
            "-u",
            "mpi",
            "swarmpi-test-server",
            "sh",
            "-c",
            "echo 'touch /tmp/rc-ran' > ~/.ssh/rc",
        ],
    )
    .success();
    let ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=10";
    let whoami = wait_for("key login", Duration::from_secs(30), || {
        let run = client(&format!("{ssh} mpi@swarmpi-test-server whoami"));
        (run.code == 0).then_some(run.stdout)
    });
    assert_eq!(whoami.trim(), "mpi");
    let rc = lab.docker("a", &["exec", "swarmpi-test-server", "test", "-e", "/tmp/rc-ran"]);
    assert_eq!(rc.code, 1, "sshd ran ~/.ssh/rc: {rc}");

    let password = client(&format!(
        "{ssh} -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive mpi@swarmpi-test-server true"
    ));
    assert_ne!(password.code, 0);
    assert!(
        password.stderr.contains("Permission denied (publickey)"),
        "{password}"
    );
    let root = client(&format!("{ssh} root@swarmpi-test-server true"));
    assert_ne!(root.code, 0);
    assert!(root.stderr.contains("Permission denied"), "{root}");
    let config = lab
        .docker("a", &["exec", "swarmpi-test-server", "sshd", "-T"])
        .success()
        .stdout;
    for setting in [
        "passwordauthentication no",
        "permitrootlogin no",
        "kbdinteractiveauthentication no",
        "permituserrc no",
        "permituserenvironment no",
        "disableforwarding yes",
        "allowagentforwarding no",
        "x11forwarding no",
        "hostkeyalgorithms ssh-ed25519",
    ] {
        assert!(
            config.lines().any(|l| l == setting),
            "sshd is missing `{setting}`"
        );
    }
    cleanup();
}
