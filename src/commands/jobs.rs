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
use crate::printer::Table;
use jiff::Timestamp;
use jiff::tz::TimeZone;

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
        ctx.printer.json(&with_utc_times(&all)?);
        return Ok(Outcome::Success);
    }
    if all.is_empty() {
        ctx.printer
            .info(format!("cluster {} has no jobs yet", names.cluster));
        return Ok(Outcome::Success);
    }
    let (now, zone) = (now(), TimeZone::system());
    let today = Timestamp::now().to_zoned_datetime(zone.clone()).date();
    let mut table = Table::new(&records::HEADER).align_right(&records::RIGHT_ALIGNED);
    for row in records::rows(&all, now, |at| clock(at, &zone, today)) {
        table.row(row);
    }
    ctx.printer.table(&table);
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

/// `at` (seconds since the epoch, the head's clock) as an instant.
fn instant(at: f64) -> Option<Timestamp> {
    Timestamp::from_millisecond((at * 1000.0) as i64).ok()
}

/// A start time in the user's time zone, as `ls -l` shows one: the time
/// alone today, with the date on any other day.
fn clock(at: f64, zone: &TimeZone, today: jiff::civil::Date) -> String {
    instant(at).map_or_else(
        || "-".to_string(),
        |t| local_time(&t.to_zoned_datetime(zone.clone()), today),
    )
}

fn local_time(when: &jiff::ZonedDateTime, today: jiff::civil::Date) -> String {
    let format = if when.date() == today {
        "%H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M"
    };
    when.strftime(format).to_string()
}

/// `jobs --json`: the records as they are, plus `started_at` and
/// `ended_at` in RFC 3339, UTC.
fn with_utc_times(jobs: &[JobRecord]) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(jobs)?;
    for (record, job) in value.as_array_mut().into_iter().flatten().zip(jobs) {
        let rfc3339 = |at: f64| instant(at).map(|t| t.to_string());
        record["started_at"] = serde_json::json!(rfc3339(job.started));
        record["ended_at"] = serde_json::json!(job.ended.and_then(rfc3339));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_with_the_date_unless_today() {
        let zone = TimeZone::get("Europe/Paris").unwrap();
        let at = Timestamp::from_second(1_780_000_000)
            .unwrap()
            .to_zoned_datetime(zone);
        assert_eq!(local_time(&at, at.date()), "22:26:40");
        let tomorrow = at.date().tomorrow().unwrap();
        assert_eq!(local_time(&at, tomorrow), "2026-05-28 22:26");
        assert_eq!(instant(1.5).unwrap().to_string(), "1970-01-01T00:00:01.5Z");
    }
}
