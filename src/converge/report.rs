//! What a deploy tells the user: the objects it created or changed, and the
//! table of containers it left ready.

use super::Converge;
use crate::cluster::layout::HOSTFILE;
use crate::cluster::members::{self, Member};
use crate::printer::Table;
use crate::swarm::service::Change;

impl Converge<'_> {
    pub(super) fn report_changes(&self, network_created: bool, service: Change, gateway: Change) {
        let (names, printer) = (&self.request.names, &self.ctx.printer);
        if network_created {
            printer.info(format!("created overlay network {}", names.network()));
        }
        match service {
            Change::Created => printer.info(format!(
                "created service {}: {} per server on {} server(s)",
                names.service(),
                self.request.per_host,
                self.usable.len()
            )),
            Change::Updated => printer.info(format!(
                "reshaping service {} to {} container(s)",
                names.service(),
                self.replicas
            )),
            Change::Unchanged => {}
        }
        if gateway == Change::Created {
            printer.info(format!("started gateway {} (127.0.0.1 only)", names.gateway()));
        }
    }

    pub(super) fn print_summary(&self, members: &[Member]) {
        let printer = &self.ctx.printer;
        if printer.json_mode() {
            printer.json(&serde_json::json!({
                "cluster": self.request.names.cluster,
                "image": self.image,
                "servers": self.usable.len(),
                "slots": members::total_slots(members),
                "containers": members.iter().map(|m| serde_json::json!({
                    "name": m.hostname, "server": m.server, "ip": m.ip, "slots": m.slots,
                })).collect::<Vec<_>>(),
            }));
            return;
        }
        printer.info("");
        let mut table = Table::new(&["CONTAINER", "SERVER", "IP", "SLOTS"]).align_right(&[3]);
        for m in members {
            table.row([
                m.hostname.clone(),
                m.server.clone(),
                m.ip.to_string(),
                m.slots.to_string(),
            ]);
        }
        printer.info_table(&table);
        printer.info(format!(
            "{} container(s) on {} server(s), {} slots; hostfile: {HOSTFILE} in every container",
            members.len(),
            self.usable.len(),
            members::total_slots(members)
        ));
    }
}
