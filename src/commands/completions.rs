//! `swarmpi completions SHELL` and `swarmpi man`: the completion script and
//! the man page, both generated from the clap definitions in `cli`, never
//! written by hand (`scripts/package` puts them in the Debian package).

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::context::Context;
use crate::error::Outcome;

pub fn completions(ctx: &Context, args: CompletionsArgs) -> Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "swarmpi", &mut script);
    ctx.printer.raw(&script);
    Ok(Outcome::Success)
}

pub fn man(ctx: &Context) -> Result<Outcome> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("could not render the man page")?;
    ctx.printer.raw(&page);
    Ok(Outcome::Success)
}
