//! Shell completion scripts of both programs (`completions SHELL`), from their clap
//! definitions.

/// The completion script for `shell` of the program `bin` described by `command` (clap_complete),
/// shared by both programs.
///
/// clap_complete 4.6 names the bash cases of a hyphenated program's subcommands differently
/// from the names its word loop builds (`p2p__subcmd__chat__subcmd__send` against
/// `p2p__chat__subcmd__send`, clap-rs/clap#6421), so nothing after a subcommand would complete;
/// the case labels are renamed to match.
pub fn script(shell: clap_complete::Shell, mut command: clap::Command, bin: &str) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, bin, &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    if shell != clap_complete::Shell::Bash || !bin.contains('-') {
        return script;
    }
    let wrong = format!("{}__subcmd__", bin.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", bin.replace('-', "__"));
    script.replace(&wrong, &right)
}
