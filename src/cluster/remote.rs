//! The one builder of command lines run in a container. sshd hands a
//! command line to the user's shell, so every word that is data (a path, a
//! user's argument, a script) is quoted here, by `shlex`, and nowhere else:
//! a path with a space, a quote or a `$` can never break or inject. Shell
//! syntax (`&&`, `<`, `|`) only comes from `'static` templates written in
//! this program, never from data.

use std::fmt;

/// A command line for a container's shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote(String);

/// One word quoted for a POSIX shell. Words never hold a NUL byte (they
/// come from the OS's argv, which cannot, or from this program); one that
/// did is cut there, as `execve` would cut it.
pub fn quote(word: &str) -> String {
    let word = word.split('\0').next().unwrap_or_default();
    shlex::try_quote(word)
        .map(|quoted| quoted.into_owned())
        .unwrap_or_else(|_| "''".to_string())
}

impl Remote {
    /// A program and its arguments, each word taken literally.
    pub fn argv<I, S>(words: I) -> Remote
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let quoted: Vec<String> = words.into_iter().map(|w| quote(w.as_ref())).collect();
        Remote(quoted.join(" "))
    }

    /// Shell syntax written in this program, with each `{}` filled by one
    /// quoted word of `words` in order. A template and its words must
    /// agree in number (a programming error otherwise, caught by tests).
    pub fn script(template: &'static str, words: &[&str]) -> Remote {
        let pieces: Vec<&str> = template.split("{}").collect();
        assert_eq!(
            pieces.len(),
            words.len() + 1,
            "remote template {template:?} takes {} word(s)",
            pieces.len() - 1
        );
        let mut line = pieces[0].to_string();
        for (word, piece) in words.iter().zip(&pieces[1..]) {
            line.push_str(&quote(word));
            line.push_str(piece);
        }
        Remote(line)
    }

    /// The Python `script` (sent whole, so it always matches the swarmpi
    /// that sends it) run by `python3 -c` with `args`.
    pub fn python(script: &str, args: &[&str]) -> Remote {
        let mut words = vec!["python3", "-c", script];
        words.extend_from_slice(args);
        Remote::argv(words)
    }

    /// A line the user typed for the container's shell, run as ssh runs a
    /// single-string command: the user's own syntax, by the user's choice.
    pub fn user_shell(line: &str) -> Remote {
        Remote(line.to_string())
    }

    /// This command, then `next` if it succeeded.
    pub fn and(self, next: Remote) -> Remote {
        Remote(format!("{} && {}", self.0, next.0))
    }

    /// This whole command (every part of a list) with its stdin read from
    /// the file `path`.
    pub fn stdin_from(self, path: &str) -> Remote {
        Remote(format!("{{ {}\n}} < {}", self.0, quote(path)))
    }

    /// This whole command with its stdout written to the file `path`.
    pub fn stdout_to(self, path: &str) -> Remote {
        Remote(format!("{{ {}\n}} > {}", self.0, quote(path)))
    }

    /// This whole command run on `host` over the cluster's own SSH (from
    /// one container to another).
    pub fn on(self, host: &str) -> Remote {
        Remote::argv(["ssh", host, self.0.as_str()])
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sh` makes of `line`: each argument on its own, NUL-separated.
    fn sh_words(line: &Remote) -> Vec<String> {
        let script = format!("printf '%s\\0' {line}");
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "sh failed on {line}");
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_terminator('\0').map(String::from).collect()
    }

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(
            Remote::argv(["du", "-sb", "--", "out.dat"]).as_str(),
            "du -sb -- out.dat"
        );
    }

    #[test]
    fn hostile_words_reach_the_program_unchanged() {
        let words = [
            "a b",
            "it's",
            "$HOME",
            "`id`",
            "$(touch /tmp/x)",
            "a;b",
            "a&&b",
            "-n",
            "*",
            "~",
            "",
            "\"q\"",
            "back\\slash",
            "new\nline",
            "tab\there",
            "héllo wörld ✓",
            "!",
            "{a,b}",
            "#c",
        ];
        assert_eq!(sh_words(&Remote::argv(words)), words);
    }

    #[test]
    fn any_string_round_trips_through_sh() {
        // Random strings over every non-NUL ASCII byte plus some Unicode.
        let alphabet: Vec<char> = (1u8..128).map(char::from).chain("éü✓日本".chars()).collect();
        for _ in 0..200 {
            let length = rand::random_range(0..24);
            let word: String = (0..length)
                .map(|_| alphabet[rand::random_range(0..alphabet.len())])
                .collect();
            assert_eq!(
                sh_words(&Remote::argv([word.as_str()])),
                std::slice::from_ref(&word),
                "{word:?}"
            );
        }
    }

    #[test]
    fn a_script_quotes_only_its_holes() {
        let line = Remote::script("cd -- {} && tar -cf - -- {}", &["/home/my dir", "$x"]);
        assert_eq!(line.as_str(), "cd -- '/home/my dir' && tar -cf - -- '$x'");
    }

    #[test]
    #[should_panic(expected = "takes 2 word(s)")]
    fn a_script_with_a_missing_word_is_a_bug() {
        Remote::script("{} {}", &["one"]);
    }

    #[test]
    fn a_redirection_applies_to_the_whole_list() {
        let dir = std::env::temp_dir().join(format!("swarmpi-remote-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in");
        std::fs::write(&input, "a\nb\n").unwrap();
        let list = Remote::script("read x && read y && echo \"$y$x\" || echo no", &[]);
        let line = list.stdin_from(input.to_str().unwrap());
        let out = std::process::Command::new("sh")
            .args(["-c", line.as_str()])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ba\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_nul_cuts_the_word_as_execve_would() {
        assert_eq!(quote("ab\0cd"), "ab");
    }

    #[test]
    fn a_command_nests_as_one_word() {
        let inner = Remote::argv(["echo", "a b"]);
        let outer = inner.clone().on("mpi-2");
        assert_eq!(sh_words(&outer)[2], inner.as_str());
    }
}
