//! The one owner of stdout, stderr and the progress bars.
//!
//! Data a script may read goes to stdout; messages, progress and errors go to
//! stderr. Progress bars draw only when stderr is a terminal and the user did
//! not ask for quiet or JSON output; colour (the `error:` and `warning:`
//! labels) only on a terminal, and never when NO_COLOR is set.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "this module is where output happens"
)]

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Printer {
    quiet: bool,
    verbose: bool,
    json: bool,
    color: bool,
    bars: MultiProgress,
}

/// Whether to colour stderr: a terminal, and NO_COLOR unset or empty
/// (<https://no-color.org>).
fn use_color(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

impl Printer {
    pub fn new(quiet: bool, verbose: bool, json: bool) -> Self {
        let draw = if quiet || json || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let color = use_color(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR"));
        Printer {
            quiet,
            verbose,
            json,
            color,
            bars: MultiProgress::with_draw_target(draw),
        }
    }

    /// The same printer with messages, bars and data off (warnings and
    /// errors still show): for steps that report in one line of their own,
    /// inside a command whose data is its own (e.g. a repair before `jobs`).
    pub fn quieter(&self) -> Printer {
        Printer {
            quiet: true,
            verbose: false,
            json: false,
            color: self.color,
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
        }
    }

    pub fn json_mode(&self) -> bool {
        self.json
    }

    /// A progress message on stderr (suppressed by `--quiet`).
    pub fn info(&self, message: impl AsRef<str>) {
        if !self.quiet {
            self.stderr_line(&visible(message.as_ref()));
        }
    }

    /// Detail shown only with `--verbose`.
    pub fn debug(&self, message: impl AsRef<str>) {
        if self.verbose {
            self.stderr_line(&visible(message.as_ref()));
        }
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        let label = self.label("warning:", "1;33");
        self.stderr_line(&format!("{label} {}", visible(message.as_ref())));
    }

    /// A line of data on stdout: what a script reads.
    pub fn data(&self, line: impl AsRef<str>) {
        let line = visible(line.as_ref());
        self.bars.suspend(|| println!("{line}"));
    }

    pub fn json(&self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
        self.data(text);
    }

    /// Bytes swarmpi made for stdout whole (a completion script, a man page).
    pub fn raw(&self, bytes: &[u8]) {
        self.passthrough(false, bytes);
    }

    /// Raw bytes from a remote program, passed through untouched.
    pub fn passthrough(&self, stderr: bool, bytes: &[u8]) {
        self.bars.suspend(|| {
            let result = if stderr {
                let mut out = std::io::stderr().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            } else {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            };
            // A closed pipe on our side is not the remote program's failure.
            let _ = result;
        });
    }

    pub fn error(&self, error: &anyhow::Error) {
        let mut text = error.to_string();
        for cause in error.chain().skip(1) {
            let cause = cause.to_string();
            if !text.contains(&cause) {
                text.push_str(&format!("\n  caused by: {cause}"));
            }
        }
        if let Some(hint) = crate::error::hint_of(error) {
            text.push_str(&format!("\n\nhint: {hint}"));
        }
        let label = self.label("error:", "1;31");
        self.stderr_line(&format!("{label} {}", visible(&text)));
    }

    /// A bar counting `total` steps, e.g. containers that are ready.
    pub fn bar(&self, total: u64, message: impl Into<String>) -> ProgressBar {
        let style = ProgressStyle::with_template("{spinner} {msg:<28} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("the template is valid")
            .progress_chars("=> ");
        let bar = self.bars.add(ProgressBar::new(total));
        bar.set_style(style);
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A bar counting bytes, for uploads.
    pub fn byte_bar(&self, total: u64, message: impl Into<String>) -> ProgressBar {
        let style = ProgressStyle::with_template(
            "{spinner} {msg:<28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        let bar = self.bars.add(ProgressBar::new(total));
        bar.set_style(style);
        bar.set_message(message.into());
        bar
    }

    /// A spinner with a changing message, for steps of unknown length.
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid"));
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// `text` in the ANSI style `sgr` when colour is on.
    fn label(&self, text: &str, sgr: &str) -> String {
        if self.color {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A table of data on stdout, wrapped to the terminal's width when
    /// stdout is one (a pipe gets whole cells).
    pub fn table(&self, table: &Table) {
        let width = std::io::stdout().is_terminal().then_some(libc::STDOUT_FILENO);
        for line in table.render(width.and_then(terminal_width)) {
            self.data(line);
        }
    }

    /// A table of progress on stderr (suppressed by `--quiet`).
    pub fn info_table(&self, table: &Table) {
        let width = std::io::stderr().is_terminal().then_some(libc::STDERR_FILENO);
        for line in table.render(width.and_then(terminal_width)) {
            self.info(line);
        }
    }

    fn stderr_line(&self, line: &str) {
        self.bars.suspend(|| eprintln!("{line}"));
    }
}

/// The one table type: a header, rows of cells, columns aligned the way
/// `docker ps` aligns them (no borders), right-aligned where asked.
pub struct Table {
    inner: comfy_table::Table,
    right: Vec<usize>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        let mut inner = comfy_table::Table::new();
        inner.load_style(comfy_table::presets::NOTHING);
        inner.set_header(header.iter().map(|h| h.to_string()));
        Table { inner, right: vec![] }
    }

    /// Numbers read better aligned right.
    pub fn align_right(mut self, columns: &[usize]) -> Table {
        self.right = columns.to_vec();
        self
    }

    /// One row; its cells' control characters are shown, not obeyed.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.inner
            .add_row(cells.into_iter().map(|c| visible(c.as_ref()).into_owned()));
    }

    /// The lines, within `width` columns when given (wide cells wrap).
    fn render(&self, width: Option<u16>) -> Vec<String> {
        let mut table = self.inner.clone();
        let last = table.column_count().saturating_sub(1);
        for (index, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, if index == last { 0 } else { 2 }));
        }
        for &index in &self.right {
            if let Some(column) = table.column_mut(index) {
                column.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        match width {
            Some(width) => {
                table.set_width(width);
                table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            }
            None => {
                table.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
            }
        }
        table.lines().map(|line| line.trim_end().to_string()).collect()
    }
}

/// The width of the terminal on `fd`, if the kernel says.
fn terminal_width(fd: i32) -> Option<u16> {
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct given.
    let answered = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    (answered && size.ws_col > 0).then_some(size.ws_col)
}

/// `text` with every control character but newline and tab shown as an
/// escape (`\x1b`, `\u{9b}`): swarmpi's own messages and tables carry
/// text from containers (job records, remote errors), and a container must
/// not move the cursor, set the title or write the clipboard (OSC 52) of
/// the user's terminal. A job's own output goes through `passthrough`,
/// byte for byte.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(hidden) {
        return text.into();
    }
    text.chars()
        .map(|c| match c {
            c if !hidden(c) => c.to_string(),
            c if (c as u32) < 0x80 => format!("\\x{:02x}", c as u32),
            c => c.escape_unicode().to_string(),
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::{Table, use_color, visible};

    #[test]
    fn a_table_aligns_columns_and_wraps_only_within_a_width() {
        let mut table = Table::new(&["NAME", "SLOTS", "NOTE"]).align_right(&[1]);
        table.row(["mpi-1", "2", "a fairly long note that will need wrapping"]);
        table.row(["mpi-10", "16", "esc \x1b[2J"]);
        let lines = table.render(None);
        assert_eq!(lines[0], "NAME    SLOTS  NOTE");
        assert_eq!(
            lines[1],
            "mpi-1       2  a fairly long note that will need wrapping"
        );
        assert_eq!(lines[2], "mpi-10     16  esc \\x1b[2J");
        let narrow = table.render(Some(30));
        assert!(narrow.iter().all(|l| l.chars().count() <= 30), "{narrow:#?}");
        assert!(narrow.len() > 3, "the long note wraps: {narrow:#?}");
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(visible("plain text\nline two\tcol"), "plain text\nline two\tcol");
        assert_eq!(visible("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(visible("\x1b]52;c;aGk=\x07"), "\\x1b]52;c;aGk=\\x07");
        assert_eq!(visible("\r\x7f\u{9b}"), "\\x0d\\x7f\\u{9b}");
        assert_eq!(visible("héllo ✓"), "héllo ✓");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(!use_color(false, None), "never into a pipe or file");
        assert!(!use_color(true, Some("1".into())));
        assert!(
            use_color(true, Some("".into())),
            "an empty NO_COLOR does not count"
        );
    }
}
