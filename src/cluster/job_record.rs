//! Jobs as the head's job keeper (`job/jobs.py`) records them, and how
//! `swarmpi jobs` shows them. No I/O: the current time is given.

use serde::{Deserialize, Serialize};

/// One job's record (its meta.json), as `jobs --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: u32,
    pub program: String,
    pub ranks: u32,
    pub state: JobState,
    /// Seconds since the epoch, in the head container's clock.
    pub started: f64,
    #[serde(default)]
    pub ended: Option<f64>,
    #[serde(default)]
    pub exit: Option<u32>,
    #[serde(default)]
    pub output_bytes: u64,
    /// Output beyond the kept limit, counted and dropped.
    #[serde(default)]
    pub dropped_bytes: u64,
}

/// Where a job is, as the keeper writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Exited,
    Cancelled,
    /// Its supervisor was killed: how it ended is not known.
    Lost,
    /// A state this swarmpi does not know (a newer keeper, or a record
    /// changed in the container).
    #[serde(other)]
    Unknown,
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            JobState::Running => "running",
            JobState::Exited => "exited",
            JobState::Cancelled => "cancelled",
            JobState::Lost => "lost",
            JobState::Unknown => "unknown",
        })
    }
}

/// What the keeper's `cancel` answers.
#[derive(Debug, Deserialize)]
pub struct Cancelled {
    pub was_running: bool,
}

impl JobRecord {
    pub fn is_running(&self) -> bool {
        self.state == JobState::Running
    }

    /// How long it ran, or has run so far at `now`.
    pub fn duration(&self, now: f64) -> f64 {
        (self.ended.unwrap_or(now) - self.started).max(0.0)
    }
}

/// `90` -> "1m30s", `4000` -> "1h06m", `2.5` -> "2.5s".
pub fn human_duration(seconds: f64) -> String {
    let whole = seconds as u64;
    match whole {
        0..60 => format!("{seconds:.1}s"),
        60..3600 => format!("{}m{:02}s", whole / 60, whole % 60),
        _ => format!("{}h{:02}m", whole / 3600, whole % 3600 / 60),
    }
}

/// The columns of `swarmpi jobs`, and those aligned right (numbers).
pub const HEADER: [&str; 7] = ["ID", "STATE", "RANKS", "STARTED", "DURATION", "EXIT", "PROGRAM"];
pub const RIGHT_ALIGNED: [usize; 4] = [0, 2, 4, 5];

/// The rows `swarmpi jobs` prints, newest last; `clock` formats a start
/// time (local time is I/O, so it is given).
pub fn rows(jobs: &[JobRecord], now: f64, clock: impl Fn(f64) -> String) -> Vec<[String; 7]> {
    jobs.iter()
        .map(|job| {
            [
                job.id.to_string(),
                job.state.to_string(),
                job.ranks.to_string(),
                clock(job.started),
                human_duration(job.duration(now)),
                job.exit.map_or("-".to_string(), |code| code.to_string()),
                job.program.clone(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u32, state: &str, ended: Option<f64>, exit: Option<u32>) -> JobRecord {
        JobRecord {
            id,
            program: "solver input.txt".into(),
            ranks: 8,
            state: serde_json::from_value(serde_json::json!(state)).unwrap(),
            started: 1000.0,
            ended,
            exit,
            output_bytes: 0,
            dropped_bytes: 0,
        }
    }

    #[test]
    fn reads_what_the_keeper_writes() {
        let text = r#"{"id": 3, "program": "a.out", "ranks": 4, "state": "running",
            "started": 12.5, "pid": 77, "output_bytes": 10, "dropped_bytes": 0}"#;
        let record: JobRecord = serde_json::from_str(text).unwrap();
        assert!(record.is_running());
        assert_eq!((record.id, record.exit, record.ended), (3, None, None));
        let odd = text.replace("\"running\"", "\"hatching\"");
        let record: JobRecord = serde_json::from_str(&odd).unwrap();
        assert_eq!(record.state, JobState::Unknown);
    }

    #[test]
    fn durations_run_until_now_or_the_end() {
        assert_eq!(job(1, "running", None, None).duration(1090.0), 90.0);
        assert_eq!(job(1, "exited", Some(1002.5), Some(0)).duration(5000.0), 2.5);
        assert_eq!(human_duration(2.5), "2.5s");
        assert_eq!(human_duration(90.0), "1m30s");
        assert_eq!(human_duration(4000.0), "1h06m");
    }

    #[test]
    fn one_row_per_job_with_its_state_times_and_exit() {
        let jobs = [
            job(1, "exited", Some(1010.0), Some(3)),
            job(2, "running", None, None),
        ];
        let rows = rows(&jobs, 1020.0, |_| "10:00".into());
        assert_eq!(
            rows[0],
            ["1", "exited", "8", "10:00", "10.0s", "3", "solver input.txt"]
        );
        assert_eq!(rows[1][1..6], ["running", "8", "10:00", "20.0s", "-"]);
    }
}
