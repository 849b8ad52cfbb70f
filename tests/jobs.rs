//! Jobs that outlive the terminal, on the lab's cluster (2 servers x 2
//! containers): `run --detach`, `jobs`, `logs -f`, `wait`, `cancel`, and an
//! attached run whose swarmpi process is killed.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Lab, deployed, example, wait_for};

fn detach(lab: &Lab, args: &[&str]) -> String {
    let mut all = vec!["run", "--detach"];
    all.extend_from_slice(args);
    let run = lab.swarmpi("a", &all).success();
    let id = run.stdout.trim().to_string();
    assert!(
        id.parse::<u32>().is_ok(),
        "run --detach prints the job id:\n{run}"
    );
    assert!(run.elapsed < Duration::from_secs(20), "{run}");
    id
}

fn job(lab: &Lab, id: &str) -> Value {
    let run = lab.swarmpi("a", &["jobs", "--json"]).success();
    let jobs: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("jobs JSON: {e}\n{run}"));
    let found = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(id));
    found
        .unwrap_or_else(|| panic!("job {id} not listed:\n{run}"))
        .clone()
}

/// How many slow_print ranks run in each container, by the head's hostfile.
fn ranks_left(lab: &Lab) -> Vec<String> {
    let script = "for h in $(cut -d' ' -f1 ~/.swarmpi/hostfile); do ssh $h pgrep -c -x slow_print || test $? -eq 1; done";
    let left = lab.swarmpi("a", &["exec", "sh", "-c", script]).success();
    left.stdout.lines().map(|l| l.trim().to_string()).collect()
}

#[test]
fn a_detached_job_is_listed_followed_and_waited_for() {
    let lab = deployed();
    let id = detach(&lab, &["-n", "4", &example("slow_print.c"), "4"]);
    let listed = job(&lab, &id);
    assert_eq!(listed["state"], "running", "{listed}");
    assert_eq!(listed["ranks"], 4, "{listed}");
    assert!(
        listed["program"].as_str().unwrap().starts_with("slow_print.c 4"),
        "{listed}"
    );
    let started = Instant::now();
    let logs = lab.swarmpi("a", &["logs", "-f", &id]).success();
    assert_eq!(logs.stdout, "first line\nsecond line\n", "{logs}");
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "logs -f returned before the job ended"
    );
    lab.swarmpi("a", &["wait", &id]).success();
    let ended = job(&lab, &id);
    assert_eq!(
        (ended["state"].as_str(), ended["exit"].as_u64()),
        (Some("exited"), Some(0)),
        "{ended}"
    );
    // The output stays readable after the end.
    let again = lab.swarmpi("a", &["logs", &id]).success();
    assert_eq!(again.stdout, logs.stdout);
}

#[test]
fn wait_exits_with_the_jobs_code_and_attached_runs_are_jobs_too() {
    let lab = deployed();
    let id = detach(&lab, &["-n", "2", &example("exit_code.c"), "5"]);
    let waited = lab.swarmpi("a", &["wait", &id]);
    assert_eq!(waited.code, 5, "{waited}");
    lab.swarmpi("a", &["run", "-n", "2", &example("hello_mpi.cpp")])
        .success();
    let run = lab.swarmpi("a", &["jobs", "--json"]).success();
    let jobs: Value = serde_json::from_str(&run.stdout).unwrap();
    let last = jobs.as_array().unwrap().last().unwrap().clone();
    assert!(
        last["program"].as_str().unwrap().starts_with("hello_mpi.cpp"),
        "{last}"
    );
    let replay = lab.swarmpi("a", &["logs", &last["id"].to_string()]).success();
    assert_eq!(
        replay.stdout.lines().filter(|l| l.starts_with("Size: 2")).count(),
        2,
        "{replay}"
    );
    lab.swarmpi("a", &["wait", "9999"])
        .failure(2, "cluster mpi has no job 9999");
}

#[test]
fn a_job_outlives_its_killed_swarmpi_and_cancel_stops_every_rank() {
    let lab = deployed();
    let args = ["run", "-n", "4", &example("slow_print.c"), "6"];
    let mut child = lab.spawn_swarmpi("a", &args, std::process::Stdio::null());
    let running = wait_for("the attached job to run", Duration::from_secs(30), || {
        let run = lab.swarmpi("a", &["jobs", "--json"]);
        let jobs: Value = serde_json::from_str(&run.stdout).ok()?;
        jobs.as_array()?.iter().find(|j| j["state"] == "running").cloned()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let id = running["id"].to_string();
    lab.swarmpi("a", &["wait", &id]).success();
    let logs = lab.swarmpi("a", &["logs", &id]).success();
    assert!(logs.stdout.ends_with("second line\n"), "{logs}");

    let long = detach(&lab, &["-n", "4", &example("slow_print.c"), "300"]);
    wait_for("the ranks to start", Duration::from_secs(30), || {
        (ranks_left(&lab) == ["1"; 4]).then_some(())
    });
    let cancel = lab.swarmpi("a", &["cancel", &long]).success();
    assert!(cancel.stderr.contains(&format!("job {long} stopped")), "{cancel}");
    assert_eq!(ranks_left(&lab), ["0"; 4], "no rank left on any container");
    assert_eq!(job(&lab, &long)["state"], "cancelled");
    lab.swarmpi("a", &["run", "-n", "4", &example("hello_mpi.cpp")])
        .success();
}

/// With more finished jobs than are kept, two jobs starting at once both
/// prune old records (each tolerating the other's removals) and both run.
#[test]
fn two_jobs_starting_at_once_while_old_ones_are_pruned_both_run() {
    let lab = deployed();
    // Sixty finished records in the head, more than the 50 kept.
    let plant = "for i in $(seq 1000 1059); do mkdir -p ~/.swarmpi/jobs/$i && \
                 printf '{\"id\": %s, \"program\": \"old\", \"ranks\": 1, \"state\": \"exited\", \
                 \"exit\": 0, \"started\": 1, \"ended\": 2}' $i > ~/.swarmpi/jobs/$i/meta.json; done";
    lab.swarmpi("a", &["exec", "sh", "-c", plant]).success();
    let program = example("slow_print.c");
    lab.swarmpi("a", &["run", "-n", "2", &program, "0"]).success();
    let start = || lab.swarmpi("a", &["-q", "run", "-n", "2", &program, "1"]);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(start);
        let b = s.spawn(start);
        (a.join().unwrap(), b.join().unwrap())
    });
    for run in [a, b] {
        let run = run.success();
        assert_eq!(run.stdout.matches("second line").count(), 1, "{run}");
    }
    // The pruning happened: at most 50 finished records are left.
    let left = lab
        .swarmpi(
            "a",
            &[
                "exec",
                "sh",
                "-c",
                "ls ~/.swarmpi/jobs | grep -c '^10[0-9][0-9]$' || test $? -eq 1",
            ],
        )
        .success();
    assert!(left.stdout.trim().parse::<u32>().unwrap() < 60, "{left}");
}
