//! Errors users cause, with the exit code each one maps to.
//!
//! Everything unexpected travels as a plain `anyhow::Error` and exits 1.
//! What a user can fix is a [`UserError`]: a lowercase message naming its
//! subject, an optional hint saying what to do, and a documented exit code.

use std::fmt;

/// Documented exit codes (see docs/guide.md, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Something unexpected failed (a bug, or a fault swarmpi does not know).
    Internal = 1,
    /// The command line or its input was wrong.
    Usage = 2,
    /// The Docker daemon could not be reached.
    DockerUnreachable = 3,
    /// This host's swarm state does not allow the command (not a manager,
    /// already in another swarm, ...).
    SwarmState = 4,
    /// A join token was malformed or rejected by the manager.
    Token = 5,
    /// A remote host (manager, server, container) did not answer in time.
    Unreachable = 6,
    /// The cluster is missing, not ready, or could not be made ready.
    ClusterNotReady = 7,
    /// `bench` measured a pair far off what its network allows.
    PerformanceOff = 8,
    /// `doctor` found something wrong between the servers.
    ProblemFound = 9,
    /// The command was interrupted (Ctrl-C).
    Interrupted = 130,
}

/// An error the user caused or can fix, shown with its hint.
#[derive(Debug, PartialEq, Eq)]
pub struct UserError {
    pub code: ExitCode,
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        UserError {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Usage, message)
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// The exit code for any error: the user error's own, or 1.
pub fn exit_code_of(error: &anyhow::Error) -> i32 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
        .map_or(ExitCode::Internal as i32, |user| user.code as i32)
}

/// The hint of the first user error in the chain, if any.
pub fn hint_of(error: &anyhow::Error) -> Option<&str> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
        .and_then(|user| user.hint.as_deref())
}

/// How a command ended when it did not fail with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The command did its job and reports a state through its exit code
    /// (e.g. `status` of a cluster that is not ready).
    Reported(ExitCode),
    /// A remote program's exit status, passed through.
    Remote(u32),
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Reported(code) => code as u8,
            Outcome::Remote(status) => u8::try_from(status).unwrap_or(u8::MAX),
        }
    }
}
