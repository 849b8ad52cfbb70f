//! The one loop that runs a command over an SSH channel: input in (in
//! chunks, with progress), output out as it arrives, and how it ended.
//! An internal answer has a silence bound; a user's stream has none (a job
//! may print nothing for hours), and neither is ever buffered here.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use russh::client::Msg;
use russh::{Channel, ChannelMsg, Sig};

/// Input chunk size: small enough for a smooth progress bar.
const CHUNK: usize = 256 * 1024;
/// The code for a command killed by a signal OpenSSH has no number for.
const UNKNOWN_SIGNAL: u32 = 255;

/// Starts `command` on `channel`, sends `stdin` (telling `sent` after each
/// chunk), hands each piece of output to `sink` (true for stderr) and
/// returns the exit status: the command's own, or 128 + n when signal n
/// killed it, as a shell reports it. With `silence`, a peer that sends
/// nothing for that long fails the command, naming `what` it was doing.
pub(super) async fn run(
    mut channel: Channel<Msg>,
    target: &str,
    command: &str,
    stdin: &[u8],
    silence: Option<(Duration, &str)>,
    sent: impl Fn(u64),
    mut sink: impl FnMut(bool, &[u8]) -> Result<()>,
) -> Result<u32> {
    channel
        .exec(true, command)
        .await
        .with_context(|| format!("could not start a command on {target}"))?;
    for chunk in stdin.chunks(CHUNK) {
        within(silence, target, channel.data(chunk))
            .await?
            .with_context(|| format!("could not send input to {target}"))?;
        sent(chunk.len() as u64);
    }
    channel
        .eof()
        .await
        .with_context(|| format!("could not end the input to {target}"))?;
    let mut code = None;
    while let Some(message) = within(silence, target, channel.wait()).await? {
        match message {
            ChannelMsg::Data { data } => sink(false, &data)?,
            ChannelMsg::ExtendedData { data, .. } => sink(true, &data)?,
            ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => code = code.or(Some(signal_status(&signal_name))),
            _ => {}
        }
    }
    code.ok_or_else(|| anyhow!("the command on {target} ended without an exit status"))
}

/// `step`, failed when `silence` is given and it takes longer.
async fn within<T>(
    silence: Option<(Duration, &str)>,
    target: &str,
    step: impl Future<Output = T>,
) -> Result<T> {
    let Some((limit, what)) = silence else {
        return Ok(step.await);
    };
    tokio::time::timeout(limit, step).await.map_err(|_| {
        anyhow!(
            "{target} sent nothing for {} s while {what}: gave up",
            limit.as_secs()
        )
    })
}

/// 128 + the signal's number on Linux.
fn signal_status(signal: &Sig) -> u32 {
    let number = match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(_) => return UNKNOWN_SIGNAL,
    };
    128 + number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_128_plus_its_number() {
        assert_eq!(signal_status(&Sig::INT), 130);
        assert_eq!(signal_status(&Sig::KILL), 137);
        assert_eq!(signal_status(&Sig::TERM), 143);
        assert_eq!(signal_status(&Sig::SEGV), 139);
        assert_eq!(signal_status(&Sig::Custom("XCPU".into())), UNKNOWN_SIGNAL);
    }
}
