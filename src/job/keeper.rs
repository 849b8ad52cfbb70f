//! Jobs that outlive the terminal: every `run` starts its mpirun under a
//! supervisor in the head (`jobs.py`, in a session of its own), which keeps
//! the output (bounded) and the exit status. An attached run follows the
//! output live; `--detach` returns the id at once; `jobs`, `logs`, `wait`
//! and `cancel` reach the job later from any terminal.

use anyhow::{Result, anyhow};

use super::STOP_WAIT;
use crate::access::OpenCluster;
use crate::cluster::job_record::{Cancelled, JobRecord};
use crate::cluster::layout::{HOSTFILE, JOBS_DIR};
use crate::cluster::remote::Remote;
use crate::context::Context;
use crate::error::UserError;
use crate::interrupt::Cancel;

/// The job keeper, run by `python3 -c` in the head.
const KEEPER: &str = include_str!("keeper.py");
/// Output kept per job; what goes beyond is counted and dropped.
pub const OUTPUT_LIMIT: u64 = 64 * 1024 * 1024;
/// Finished jobs kept in the head (the oldest go first).
pub const KEEP_FINISHED: u32 = 50;

/// The keeper's command `args[0]`, on the jobs directory, with the rest.
fn keeper(args: &[&str]) -> Remote {
    let mut all = vec![args[0], JOBS_DIR];
    all.extend_from_slice(&args[1..]);
    Remote::python(KEEPER, &all)
}

/// Starts `command` (a shell command line) as a job; returns its id.
pub async fn start(cluster: &OpenCluster, program: &str, ranks: u32, command: &Remote) -> Result<u32> {
    let (limit, keep, ranks) = (
        OUTPUT_LIMIT.to_string(),
        KEEP_FINISHED.to_string(),
        ranks.to_string(),
    );
    let line = keeper(&[
        "start",
        &limit,
        &keep,
        program,
        &ranks,
        "--",
        "sh",
        "-c",
        command.as_str(),
    ]);
    let (head, node) = cluster.head();
    let output = node.ask("starting the job", &line, &[]).await?;
    let id = output.stdout_text().trim().parse::<u32>();
    match (output.code, id) {
        (0, Ok(id)) => Ok(id),
        _ => Err(anyhow!(
            "could not start the job in {}: {}",
            head.hostname,
            output.stderr_text().trim()
        )),
    }
}

/// Every job the head knows, oldest first.
pub async fn list(cluster: &OpenCluster) -> Result<Vec<JobRecord>> {
    let (head, node) = cluster.head();
    let output = node.ask("listing jobs", &keeper(&["list"]), &[]).await?;
    if output.code != 0 {
        return Err(anyhow!(
            "could not list the jobs in {}: {}",
            head.hostname,
            output.stderr_text().trim()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| anyhow!("the job list from {} is odd: {e}", head.hostname))
}

/// Job `id`'s record, or an error listing those there are.
pub async fn find(cluster: &OpenCluster, cluster_name: &str, id: u32) -> Result<JobRecord> {
    let jobs = list(cluster).await?;
    if let Some(job) = jobs.iter().find(|job| job.id == id) {
        return Ok(job.clone());
    }
    let known: Vec<String> = jobs.iter().map(|job| job.id.to_string()).collect();
    let hint = if known.is_empty() {
        "it has none: jobs live in the head container, and a replaced head starts with none".to_string()
    } else {
        format!("its jobs are {}; `swarmpi jobs` lists them", known.join(", "))
    };
    Err(
        UserError::usage(format!("cluster {cluster_name} has no job {id}"))
            .hint(hint)
            .into(),
    )
}

/// Writes job `id`'s output so far as it was printed; with `to_end`, goes
/// on until the job ends and returns its exit status. Ctrl-C stops
/// following (the job goes on) unless `stop_on_cancel`, which cancels it.
pub async fn follow(
    ctx: &Context,
    cluster: &OpenCluster,
    id: u32,
    to_end: bool,
    stop_on_cancel: bool,
) -> Result<u32> {
    let (_, head) = cluster.head();
    let line = keeper(&["follow", &id.to_string(), if to_end { "1" } else { "0" }]);
    let printer = &ctx.printer;
    let reading = head.stream(&line, &[], |is_stderr, bytes| {
        printer.passthrough(is_stderr, bytes)
    });
    tokio::pin!(reading);
    tokio::select! {
        status = &mut reading => status,
        () = ctx.cancel.cancelled() => {
            if !stop_on_cancel {
                printer.info(format!("job {id} goes on: `swarmpi logs -f {id}` follows it again"));
                return Err(Cancel::error("following the job"));
            }
            printer.warn(format!("interrupted: stopping job {id}"));
            let stopped = cancel(cluster, id);
            let _ = tokio::time::timeout(STOP_WAIT, async { tokio::join!(&mut reading, stopped) }).await;
            Err(Cancel::error("running the job"))
        }
    }
}

/// Waits for job `id` to end; returns its exit status.
pub async fn wait(cluster: &OpenCluster, id: u32) -> Result<u32> {
    let (_, head) = cluster.head();
    // A job may run for hours without a word: a stream, not a bounded answer.
    head.stream(&keeper(&["wait", &id.to_string()]), &[], |_, _| {})
        .await
}

/// Stops job `id` on every container (mpirun stops its ranks); false if
/// it had already ended.
pub async fn cancel(cluster: &OpenCluster, id: u32) -> Result<bool> {
    let (head, node) = cluster.head();
    let output = node
        .ask(
            "cancelling the job",
            &keeper(&["cancel", &id.to_string(), HOSTFILE]),
            &[],
        )
        .await?;
    if output.code != 0 {
        return Err(anyhow!(
            "could not cancel job {id} in {}: {}",
            head.hostname,
            output.stderr_text().trim()
        ));
    }
    let answer: Cancelled = serde_json::from_slice(&output.stdout)
        .map_err(|e| anyhow!("{} answered cancel oddly: {e}", head.hostname))?;
    Ok(answer.was_running)
}
