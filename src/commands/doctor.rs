//! `swarmpi doctor [--mtu M] [--json]`: one table of checks over every
//! server and pair of servers, a fix under each failure; exits 9 when
//! something is wrong (see `doctor`).

use anyhow::Result;
use serde_json::json;

use crate::cli::DoctorArgs;
use crate::cluster::plan;
use crate::cluster::ports::PortBlock;
use crate::context::Context;
use crate::doctor;
use crate::error::{ExitCode, Outcome};
use crate::printer::Table;
use crate::swarm::Engine;

pub struct DoctorOptions {
    pub mtu: Option<u32>,
    pub encrypted: bool,
    pub port: Option<PortBlock>,
}

impl TryFrom<DoctorArgs> for DoctorOptions {
    type Error = anyhow::Error;

    fn try_from(args: DoctorArgs) -> Result<Self> {
        plan::check_mtu(args.mtu)?;
        Ok(DoctorOptions {
            mtu: args.mtu,
            encrypted: args.encrypted,
            port: args.port.map(PortBlock::new).transpose()?,
        })
    }
}

pub async fn run(ctx: &Context, options: DoctorOptions) -> Result<Outcome> {
    let engine = Engine::connect(&ctx.settings).await?;
    let diagnosis = doctor::diagnose(ctx, &engine, options.mtu, options.encrypted, options.port).await?;
    let ok = diagnosis.checks.iter().all(|c| c.ok);
    if ctx.printer.json_mode() {
        ctx.printer.json(&json!({
            "ok": ok,
            "seconds": diagnosis.seconds,
            "overlay_mtu": diagnosis.overlay_mtu,
            "checks": diagnosis.checks,
        }));
    } else {
        let mut table = Table::new(&["SUBJECT", "CHECK", "RESULT", "DETAIL"]);
        for check in &diagnosis.checks {
            let result = if check.ok { "ok" } else { "FAIL" };
            table.row([check.subject.as_str(), &check.check, result, &check.detail]);
            if let Some(fix) = &check.fix {
                table.row(["", "", "", &format!("fix: {fix}")]);
            }
        }
        ctx.printer.table(&table);
        let failed = diagnosis.checks.iter().filter(|c| !c.ok).count();
        ctx.printer.info(format!(
            "{} check(s), {failed} failed, in {:.1} s; probes removed",
            diagnosis.checks.len(),
            diagnosis.seconds
        ));
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Reported(ExitCode::ProblemFound)
    })
}
