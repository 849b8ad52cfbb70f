//! The one Ctrl-C handler, and the cancellation it passes down to long
//! operations (waits, image builds, deploys, jobs).
//!
//! The first Ctrl-C cancels: each operation stops at its next step and
//! undoes what it must. A second Ctrl-C exits at once.

use std::future::Future;

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use crate::error::{ExitCode, UserError};
use crate::printer::Printer;

/// Cancellation, cheap to clone and pass down.
#[derive(Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// For clean-up that must run to its end even after Ctrl-C.
    pub fn never() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once the user interrupted.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// The error of a step the user interrupted, naming the step.
    pub fn error(doing: &str) -> anyhow::Error {
        UserError::new(ExitCode::Interrupted, format!("interrupted while {doing}")).into()
    }

    /// Runs `work` unless the user interrupts first; then `work` is dropped
    /// (for steps with nothing to undo).
    pub async fn guard<T>(&self, doing: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            result = work => result,
            () = self.cancelled() => Err(Self::error(doing)),
        }
    }
}

/// Installs the Ctrl-C handler: the first press cancels `cancel`, a second
/// exits with 130 at once.
pub fn listen(cancel: Cancel, printer: Printer) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            printer.warn("interrupted again: exiting at once");
            std::process::exit(ExitCode::Interrupted as i32);
        }
    });
}
