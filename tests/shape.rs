//! What users shape in their cluster: per-container CPU and memory limits
//! and /dev/shm, and node images extended with their own packages.

use serde_json::Value;

use crate::harness::{Lab, example};

/// Each container's memory limit, CPU quota / period and /dev/shm size, one
/// line per container of the cluster (cgroup v1 or v2).
const LIMITS: &str = r#"for h in $(cut -d' ' -f1 ~/.swarmpi/hostfile); do ssh $h '
  if [ -f /sys/fs/cgroup/memory.max ]; then mem=$(cat /sys/fs/cgroup/memory.max); set -- $(cat /sys/fs/cgroup/cpu.max)
  else mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); set -- $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us); fi
  echo "$mem $(($1 / $2)) $(df -B1 --output=size /dev/shm | tail -1 | tr -d " ")"'; done"#;

#[test]
fn cpu_and_memory_limits_and_a_sized_shm_reach_every_container() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let deploy = [
        "deploy",
        "--name",
        "shaped",
        "--per-host",
        "1",
        "--slots",
        "4",
        "--cpus",
        "2",
        "--memory",
        "1g",
    ];
    lab.swarmpi("a", &deploy).success();
    let status = lab
        .swarmpi("a", &["status", "--name", "shaped", "--json"])
        .success();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    let gib = 1u64 << 30;
    assert_eq!(status["limits"]["cpus"], 2.0, "{status}");
    assert_eq!(status["limits"]["memory_bytes"], gib, "{status}");
    // 4 slots want 512 MiB; half the memory limit allows it.
    assert_eq!(status["limits"]["shm_bytes"], gib / 2, "{status}");
    let limits = lab
        .swarmpi("a", &["exec", "--name", "shaped", "sh", "-c", LIMITS])
        .success();
    let expected = format!("{gib} 2 {}", gib / 2);
    assert_eq!(
        limits.stdout.lines().collect::<Vec<_>>(),
        [expected.as_str(); 2],
        "{limits}"
    );
    // 4 ranks in one container move far more than Docker's 64 MiB default
    // /dev/shm through shared memory.
    let run = lab
        .swarmpi(
            "a",
            &["run", "--name", "shaped", "-n", "4", &example("shm_stress.c")],
        )
        .success();
    assert!(
        run.stdout.contains("moved 864 MiB between 4 ranks, 0 bad pages"),
        "{run}"
    );
    lab.swarmpi("a", &["down", "--name", "shaped"]).success();
}

#[test]
fn an_extra_package_gives_one_tag_everywhere_and_a_server_without_it_is_named() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let init = lab
        .swarmpi("a", &["init", "--packages", "hello", "--json"])
        .success();
    let init: Value = serde_json::from_str(&init.stdout).unwrap();
    let image = init["image"].as_str().unwrap().to_string();
    let join = init["join_command"].as_str().unwrap();
    assert!(
        join.ends_with(" --packages hello"),
        "the join line gives the same image: {join}"
    );
    // Server b has only the default image: deploy names it, with the command.
    lab.docker("b", &["rmi", "--force", &image]);
    let deploy = ["deploy", "--name", "ext", "--per-host", "2"];
    let refused = lab.swarmpi("a", &deploy).failure(
        7,
        &format!("server {} does not have the node image", lab.addr("b")),
    );
    assert!(
        refused.stderr.contains("run `swarmpi image --packages hello`"),
        "{refused}"
    );
    // b builds the same tag without leaving the swarm.
    let built = lab.swarmpi("b", &["image", "--packages", "hello"]).success();
    assert_eq!(built.stdout.trim(), image);
    assert_eq!(lab.swarm_state("b"), "active false");
    lab.swarmpi("a", &deploy).success();
    let script = "for h in $(cut -d' ' -f1 ~/.swarmpi/hostfile); do ssh $h hello; done";
    let hello = lab
        .swarmpi("a", &["exec", "--name", "ext", "sh", "-c", script])
        .success();
    assert_eq!(
        hello.stdout.lines().collect::<Vec<_>>(),
        ["Hello, world!"; 4],
        "{hello}"
    );
    lab.swarmpi("a", &["down", "--name", "ext"]).success();
    // Back to the default image for the tests after this one.
    lab.swarmpi("a", &["init"]).success();
}
