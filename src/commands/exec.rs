//! `swarmpi exec CMD...`: a command in the head container, as the MPI user,
//! over the cluster's SSH path; exits with the command's code.

use anyhow::Result;

use crate::cli::ExecArgs;
use crate::cluster::names::ClusterNames;
use crate::cluster::remote::Remote;
use crate::context::Context;
use crate::error::Outcome;
use crate::heal::with_cluster;
use crate::job;

pub struct ExecOptions {
    pub names: ClusterNames,
    pub command: Vec<String>,
}

impl TryFrom<ExecArgs> for ExecOptions {
    type Error = anyhow::Error;

    fn try_from(args: ExecArgs) -> Result<Self> {
        Ok(ExecOptions {
            names: args.cluster.try_into()?,
            command: args.command,
        })
    }
}

pub async fn run(ctx: &Context, options: ExecOptions) -> Result<Outcome> {
    let command = command_line(&options.command);
    let status = with_cluster(ctx, &options.names, async |cluster| {
        job::stream(ctx, cluster, &command, "running the command").await
    })
    .await?;
    Ok(Outcome::Remote(status))
}

/// One string is a line for the container's shell, as `ssh host "a | b"`
/// runs it; several are an exact argv, each word quoted.
fn command_line(words: &[String]) -> Remote {
    match words {
        [line] => Remote::user_shell(line),
        words => Remote::argv(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_string_is_a_shell_line_and_several_an_argv() {
        let line = command_line(&["grep x out.txt | head".into()]);
        assert_eq!(line.as_str(), "grep x out.txt | head");
        let argv = command_line(&["echo".into(), "a b".into(), "$HOME".into()]);
        assert_eq!(argv.as_str(), "echo 'a b' '$HOME'");
    }
}
