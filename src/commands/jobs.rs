//! `swarmpi jobs`, `logs [-f] JOB`, `wait JOB`, `cancel JOB`: the cluster's
//! jobs, kept by the head container (see `job::keeper`). Four small handlers
//! of one concern, so one file.

use anyhow::Result;

use crate::cli::{JobArgs, LogsArgs};
use crate::cluster::job_record::{self as records, JobRecord};
use crate::cluster::names::ClusterNames;
use crate::context::Context;
use crate::error::Outcome;
use crate::heal::with_cluster;
use crate::job::keeper;

pub struct JobOptions {
    pub names: ClusterNames,
    pub id: u32,
}

impl TryFrom<JobArgs> for JobOptions {
    type Error = anyhow::Error;

    fn try_from(args: JobArgs) -> Result<Self> {
        Ok(JobOptions {
            names: args.cluster.try_into()?,
            id: args.id,
        })
    }
}

pub async fn list(ctx: &Context, names: ClusterNames) -> Result<Outcome> {
    let all = with_cluster(ctx, &names, async |cluster| keeper::list(cluster).await).await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&serde_json::to_value(&all)?);
        return Ok(Outcome::Success);
    }
    if all.is_empty() {
        ctx.printer
            .info(format!("cluster {} has no jobs yet", names.cluster));
        return Ok(Outcome::Success);
    }
    let now = now();
    for line in records::table(&all, now, |at| clock(at, now)) {
        ctx.printer.data(line);
    }
    Ok(Outcome::Success)
}

pub async fn logs(ctx: &Context, args: LogsArgs) -> Result<Outcome> {
    let follow = args.follow;
    let options = JobOptions::try_from(args.job)?;
    let cluster_name = options.names.cluster.clone();
    let status = with_cluster(ctx, &options.names, async |cluster| {
        let job = keeper::find(cluster, &cluster_name, options.id).await?;
        let code = keeper::follow(ctx, cluster, job.id, follow, false).await?;
        Ok(follow.then_some(code))
    })
    .await?;
    Ok(status.map_or(Outcome::Success, Outcome::Remote))
}

pub async fn wait(ctx: &Context, options: JobOptions) -> Result<Outcome> {
    let cluster_name = options.names.cluster.clone();
    let code = with_cluster(ctx, &options.names, async |cluster| {
        let job = keeper::find(cluster, &cluster_name, options.id).await?;
        if let Some(code) = finished(&job) {
            return Ok(code);
        }
        ctx.cancel
            .guard("waiting for the job", keeper::wait(cluster, job.id))
            .await
    })
    .await?;
    Ok(Outcome::Remote(code))
}

pub async fn cancel(ctx: &Context, options: JobOptions) -> Result<Outcome> {
    let cluster_name = options.names.cluster.clone();
    let id = options.id;
    let was_running = with_cluster(ctx, &options.names, async |cluster| {
        keeper::find(cluster, &cluster_name, id).await?;
        keeper::cancel(cluster, id).await
    })
    .await?;
    ctx.printer.info(if was_running {
        format!("job {id} stopped on every container")
    } else {
        format!("job {id} had already ended")
    });
    Ok(Outcome::Success)
}

/// The exit status of a job that has ended.
fn finished(job: &JobRecord) -> Option<u32> {
    (!job.is_running()).then(|| job.exit.unwrap_or(255))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A start time: HH:MM:SS UTC within the last day (no time-zone database
/// needed), else how many days ago.
fn clock(at: f64, now: f64) -> String {
    let seconds_ago = (now - at).max(0.0) as u64;
    if seconds_ago >= 86_400 {
        return format!("{} days ago", seconds_ago / 86_400);
    }
    let day = at as u64 % 86_400;
    format!("{:02}:{:02}:{:02} UTC", day / 3600, day % 3600 / 60, day % 60)
}
