//! The one way to wait: poll a condition until it holds, its bound passes
//! or the user interrupts. Every wait names what it waits for, so a timeout
//! says what did not happen.

use std::fmt;
use std::time::Duration;

use anyhow::Result;
use tokio::time::Instant;

use crate::error::UserError;
use crate::interrupt::Cancel;

const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);

/// A wait that ran out of time.
#[derive(Debug)]
pub struct TimedOut {
    pub what: String,
    pub limit: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up after {} s waiting for {}",
            self.limit.as_secs(),
            self.what
        )
    }
}

impl std::error::Error for TimedOut {}

/// A bounded wait for one named thing.
pub struct Wait<'a> {
    what: String,
    limit: Duration,
    interval: Duration,
    cancel: &'a Cancel,
}

impl<'a> Wait<'a> {
    pub fn new(what: impl Into<String>, limit: Duration, cancel: &'a Cancel) -> Self {
        Wait {
            what: what.into(),
            limit,
            interval: DEFAULT_INTERVAL,
            cancel,
        }
    }

    pub fn every(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Calls `probe` until it returns a value. A probe error ends the wait
    /// at once; so do the bound ([`TimedOut`]) and Ctrl-C.
    pub async fn until<T>(self, mut probe: impl AsyncFnMut() -> Result<Option<T>>) -> Result<T> {
        let deadline = Instant::now() + self.limit;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Cancel::error(&format!("waiting for {}", self.what)));
            }
            if let Some(value) = probe().await? {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                return Err(TimedOut {
                    what: self.what,
                    limit: self.limit,
                }
                .into());
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                () = self.cancel.cancelled() => {}
            }
        }
    }

    /// Calls `attempt` until it succeeds. A [`UserError`] (a wrong host
    /// key, a refused key) will not get better by retrying and ends the wait;
    /// other errors are retried, and the last one is returned when the bound
    /// passes.
    pub async fn retry<T>(self, mut attempt: impl AsyncFnMut() -> Result<T>) -> Result<T> {
        let mut last = None;
        let result = self
            .until(async || match attempt().await {
                Ok(value) => Ok(Some(value)),
                Err(error) if is_final(&error) => Err(error),
                Err(error) => {
                    last = Some(error);
                    Ok(None)
                }
            })
            .await;
        match (result, last) {
            (Err(timeout), Some(last)) if timeout.is::<TimedOut>() => Err(last.context(timeout.to_string())),
            (result, _) => result,
        }
    }
}

fn is_final(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<UserError>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ExitCode, exit_code_of};

    #[tokio::test]
    async fn returns_the_value_once_the_condition_holds() {
        let cancel = Cancel::new();
        let mut calls = 0;
        let value = Wait::new("three calls", Duration::from_secs(5), &cancel)
            .every(Duration::from_millis(1))
            .until(async || {
                calls += 1;
                Ok((calls == 3).then_some(calls))
            })
            .await
            .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn a_timeout_names_what_it_waited_for() {
        let cancel = Cancel::new();
        let error = Wait::new("the network's subnet", Duration::from_millis(20), &cancel)
            .every(Duration::from_millis(5))
            .until(async || Ok(None::<()>))
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "gave up after 0 s waiting for the network's subnet"
        );
        assert!(error.is::<TimedOut>());
    }

    #[tokio::test]
    async fn ctrl_c_ends_the_wait_with_exit_130() {
        let cancel = Cancel::new();
        cancel.cancel();
        let error = Wait::new("the gateway", Duration::from_secs(60), &cancel)
            .until(async || Ok(None::<()>))
            .await
            .unwrap_err();
        assert_eq!(exit_code_of(&error), ExitCode::Interrupted as i32);
        assert_eq!(error.to_string(), "interrupted while waiting for the gateway");
    }

    #[tokio::test]
    async fn retry_returns_the_last_error_on_timeout_and_stops_on_user_errors() {
        let cancel = Cancel::new();
        let error = Wait::new("sshd on mpi-1", Duration::from_millis(20), &cancel)
            .every(Duration::from_millis(5))
            .retry(async || Err::<(), _>(anyhow::anyhow!("connection refused")))
            .await
            .unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "gave up after 0 s waiting for sshd on mpi-1: connection refused"
        );
        let mut calls = 0;
        let error = Wait::new("sshd on mpi-1", Duration::from_secs(5), &cancel)
            .retry(async || {
                calls += 1;
                Err::<(), _>(UserError::new(ExitCode::ClusterNotReady, "wrong host key").into())
            })
            .await
            .unwrap_err();
        assert_eq!((calls, error.to_string()), (1, "wrong host key".to_string()));
    }
}
