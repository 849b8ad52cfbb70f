//! What every command runs with: resolved settings, the printer, and the
//! cancellation the Ctrl-C handler triggers.

use crate::config::Settings;
use crate::interrupt::Cancel;
use crate::printer::Printer;

pub struct Context {
    pub settings: Settings,
    pub printer: Printer,
    pub cancel: Cancel,
}

impl Context {
    /// The same context with a printer that shows only errors: for work
    /// done on the way to something else (a repair, the wire's cluster).
    pub fn quieter(&self) -> Context {
        Context {
            settings: self.settings.clone(),
            printer: self.printer.quieter(),
            cancel: self.cancel.clone(),
        }
    }
}
