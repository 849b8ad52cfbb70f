//! Unit tests of `observe`: members, pending containers and faults from
//! the facts Docker reports.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::*;
use crate::cluster::servers::tests::server;
use crate::cluster::servers::{Availability, NodeState};

fn task(id: &str, slot: u32, node: &str, state: TaskState) -> Task {
    Task {
        id: id.into(),
        slot,
        node_id: node.into(),
        state,
        desired_running: true,
        current: true,
        error: String::new(),
    }
}

/// A task's host-key report, and its address as Docker records it.
fn report(task: &str, ip: &str) -> (String, (HostKeyReport, Ipv4Addr)) {
    let report = HostKeyReport {
        task: task.into(),
        key: format!("ssh-ed25519 KEY-{task}"),
    };
    (task.to_string(), (report, ip.parse().unwrap()))
}

fn run(
    servers: &[Server],
    tasks: &[Task],
    known: &HashMap<String, (HostKeyReport, Ipv4Addr)>,
) -> Observation {
    let reports = known.iter().map(|(t, (r, _))| (t.clone(), r.clone())).collect();
    let addresses = known.iter().map(|(t, (_, ip))| (t.clone(), *ip)).collect();
    let names = ClusterNames::new("mpi").unwrap();
    let subnet = Subnet::parse("10.0.1.0/24").unwrap();
    let shape = Shape {
        names: &names,
        subnet: &subnet,
        per_host: 2,
        slots: None,
        host_ports: None,
    };
    classify(
        &Facts {
            servers,
            tasks,
            reports: &reports,
            addresses: &addresses,
            ignored: &[],
        },
        &shape,
    )
}

fn lab() -> Vec<Server> {
    let mut big = server("b", "10.77.0.3", "ready");
    big.cpus = 8;
    vec![server("a", "10.77.0.2", "ready"), big]
}

#[test]
fn running_tasks_with_a_key_and_an_overlay_ip_are_members_by_slot() {
    let tasks = [
        task("t2", 2, "b", TaskState::Running),
        task("t1", 1, "a", TaskState::Running),
    ];
    let reports = HashMap::from([report("t1", "10.0.1.3"), report("t2", "10.0.1.4")]);
    let seen = run(&lab(), &tasks, &reports);
    assert!(seen.pending.is_empty() && seen.faults.is_empty(), "{seen:?}");
    let names: Vec<&str> = seen.members.iter().map(|m| m.hostname.as_str()).collect();
    assert_eq!(names, ["mpi-1", "mpi-2"]);
    assert_eq!(
        seen.members[0].ip.to_string(),
        "10.0.1.3",
        "the overlay address, not gwbridge"
    );
    // Slots: the server's CPUs shared by its containers.
    assert_eq!((seen.members[0].slots, seen.members[1].slots), (1, 4));
    assert_eq!(seen.members[1].server, "10.77.0.3");
}

#[test]
fn starting_tasks_and_tasks_without_a_key_are_pending_with_their_state() {
    let tasks = [
        task("t1", 1, "a", TaskState::Preparing),
        task("t2", 2, "b", TaskState::Running),
        task("t3", 3, "", TaskState::Pending),
    ];
    let seen = run(&lab(), &tasks, &HashMap::new());
    assert!(seen.members.is_empty() && seen.faults.is_empty());
    let pending: Vec<String> = seen.pending.iter().map(ToString::to_string).collect();
    assert_eq!(
        pending,
        [
            "mpi-1 on server 10.77.0.2: preparing",
            "mpi-2 on server 10.77.0.3: running",
            "mpi-3 on an unassigned server: pending"
        ]
    );
}

#[test]
fn a_rejected_task_is_a_fault_naming_its_server_and_the_fix() {
    let mut rejected = task("t2", 2, "b", TaskState::Rejected);
    rejected.error = "No such image: localhost/swarmpi-node:x".into();
    let seen = run(&lab(), &[rejected], &HashMap::new());
    assert_eq!(
        seen.faults,
        [Fault::MissingImage {
            server: "server 10.77.0.3".into(),
            error: "No such image: localhost/swarmpi-node:x".into()
        }]
    );
    assert!(
        seen.faults[0]
            .to_string()
            .starts_with("server 10.77.0.3 does not have the node image")
    );
}

#[test]
fn a_failed_task_and_a_down_server_are_faults() {
    let mut failed = task("t1", 1, "a", TaskState::Failed);
    failed.error = "task: non-zero exit (1)".into();
    let mut servers = lab();
    servers[1].state = NodeState::Down;
    let seen = run(
        &servers,
        &[failed, task("t2", 2, "b", TaskState::Running)],
        &HashMap::new(),
    );
    let faults: Vec<String> = seen.faults.iter().map(ToString::to_string).collect();
    assert_eq!(
        faults,
        [
            "a container on server 10.77.0.2 failed: task: non-zero exit (1)",
            "server 10.77.0.3 is down (active) while it runs mpi-2"
        ]
    );
}

#[test]
fn a_replaced_rejected_task_explains_a_stuck_cluster_once() {
    let mut old = task("old", 2, "b", TaskState::Rejected);
    old.desired_running = false;
    old.error = "No such image: x".into();
    let tasks = [old.clone(), old, task("new", 2, "b", TaskState::Pending)];
    let seen = run(&lab(), &tasks, &HashMap::new());
    assert_eq!(seen.pending.len(), 1);
    assert_eq!(seen.faults.len(), 1, "{:?}", seen.faults);
    // Nothing pending: old rejections are history, not faults.
    let mut done = task("old", 2, "b", TaskState::Rejected);
    done.desired_running = false;
    assert!(run(&lab(), &[done], &HashMap::new()).faults.is_empty());
}

#[test]
fn expected_containers_count_only_usable_servers() {
    let mut servers = lab();
    assert_eq!(expected_containers(&servers, 3), 6);
    servers[0].availability = Availability::Drain;
    assert_eq!(expected_containers(&servers, 3), 3);
}

#[test]
fn a_stall_says_how_far_it_got_and_what_waits() {
    let seen = Observation {
        pending: vec![Pending {
            hostname: "mpi-2".into(),
            server: Some("10.77.0.3".into()),
            state: TaskState::Starting,
        }],
        ..Default::default()
    };
    let mut servers = lab();
    servers[1].state = NodeState::Unknown;
    let error = stalled(&seen, &servers, 2, 25);
    assert_eq!(error.code, ExitCode::Unreachable);
    assert_eq!(
        error.message,
        "only 0 of 2 containers became ready within 25 s; servers not ready: 10.77.0.3 (unknown); \
         waiting: mpi-2 on server 10.77.0.3: starting"
    );
}

#[test]
fn a_cluster_is_unusable_when_a_member_was_replaced_or_the_count_differs() {
    let tasks = [
        task("t1", 1, "a", TaskState::Running),
        task("t2", 2, "b", TaskState::Running),
    ];
    let reports = HashMap::from([report("t1", "10.0.1.3"), report("t2", "10.0.1.4")]);
    let seen = run(&lab(), &tasks, &reports);
    let deployed = seen.members.clone();
    assert_eq!(unusable_because("mpi", &deployed, &seen), None);
    // The swarm replaced mpi-2: a new task in its slot.
    let mut replaced = deployed.clone();
    replaced[1].task_id = "t2-old".into();
    assert_eq!(
        unusable_because("mpi", &replaced, &seen).unwrap(),
        "container mpi-2 on server 10.77.0.3 was replaced (now on server 10.77.0.3)"
    );
    // No task in its slot at all: gone.
    let mut gone = deployed.clone();
    gone[1].task_id = "t2-old".into();
    gone[1].slot = 7;
    gone[1].hostname = "mpi-7".into();
    assert_eq!(
        unusable_because("mpi", &gone, &seen).unwrap(),
        "container mpi-7 on server 10.77.0.3 is gone or not running"
    );
    assert_eq!(
        unusable_because("mpi", &deployed[..1], &seen).unwrap(),
        "cluster mpi has 2 running containers but was deployed with 1"
    );
    let mut faulty = run(&lab(), &tasks, &reports);
    faulty
        .faults
        .push(describe_fault("server 10.77.0.3", "oom", None));
    assert!(
        unusable_because("mpi", &deployed, &faulty)
            .unwrap()
            .starts_with("cluster mpi is not ready: a container")
    );
}

#[test]
fn a_running_task_of_an_older_spec_is_pending_until_replaced() {
    let mut old = task("t1", 1, "a", TaskState::Running);
    old.current = false;
    let reports = HashMap::from([report("t1", "10.0.1.3")]);
    let seen = run(&lab(), &[old], &reports);
    assert!(seen.members.is_empty(), "a rolling update is not finished");
    assert_eq!(seen.pending.len(), 1);
}

#[test]
fn on_the_servers_network_a_member_is_reached_at_its_server_and_a_taken_port_is_named() {
    let servers = lab();
    let names = ClusterNames::new("hm").unwrap();
    let subnet = Subnet::parse("10.0.1.0/24").unwrap();
    let block = crate::cluster::ports::PortBlock::new(20000).unwrap();
    let shape = Shape {
        names: &names,
        subnet: &subnet,
        per_host: 1,
        slots: None,
        host_ports: Some(block),
    };
    let tasks = [task("t1", 1, "b", TaskState::Running)];
    let (task_id, (host_key, _)) = report("t1", "10.0.1.3");
    let reports = HashMap::from([(task_id, host_key)]);
    let facts = Facts {
        servers: &servers,
        tasks: &tasks,
        reports: &reports,
        // Docker records no overlay address for a task on the host network.
        addresses: &HashMap::new(),
        ignored: &[],
    };
    let seen = classify(&facts, &shape);
    assert_eq!(seen.members.len(), 1, "{seen:?}");
    assert_eq!(seen.members[0].ssh_addr().to_string(), "10.77.0.3:20000");
    // The container stopped, and the swarm restarts it after a delay.
    let mut failed = task("t2", 1, "b", TaskState::Failed);
    failed.error = "task: non-zero exit (75)".into();
    failed.desired_running = false;
    let mut killed = failed.clone();
    killed.error = "task: non-zero exit (137)".into();
    let waiting = task("t3", 1, "b", TaskState::Ready);
    let replaced = [killed, waiting.clone()];
    let facts = Facts {
        tasks: &replaced,
        ..facts
    };
    let seen = classify(&facts, &shape);
    assert!(
        seen.faults.is_empty(),
        "a killed container is being replaced: {seen:?}"
    );
    let looping = [failed, waiting];
    let facts = Facts {
        tasks: &looping,
        ..facts
    };
    let seen = classify(&facts, &shape);
    assert_eq!(
        seen.faults,
        [Fault::PortTaken {
            server: "server 10.77.0.3".into(),
            port: 20000
        }],
        "{}",
        seen.faults[0]
    );
    assert!(
        seen.faults[0]
            .to_string()
            .starts_with("port 20000 is already in use on server 10.77.0.3")
    );
}
