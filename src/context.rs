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
