//! Entering and leaving the full-screen terminal mode; restored on every exit, panics included.

use std::io::{self, stdout};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use ratatui::DefaultTerminal;

/// Checks that standard input and output are an interactive terminal, which the chat window
/// needs, before anything else starts.
///
/// # Errors
/// When either is a pipe, a file or `/dev/null`: the message says so and points scripts to
/// `send` and `listen`.
pub fn require() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if io::stdin().is_terminal() && io::stdout().is_terminal() {
        Ok(())
    } else {
        anyhow::bail!(
            "the chat window needs a terminal, but standard input or output is a pipe, a file \
             or /dev/null — run it in an interactive terminal; scripts can use `p2p-chat send` \
             and `p2p-chat listen`"
        )
    }
}

/// Switches to raw mode and the alternate screen, with mouse and bracketed-paste reporting.
/// A panic hook puts the terminal back before the panic message is printed.
///
/// # Errors
/// When the terminal cannot be set up (for example stdout is not a terminal).
pub fn enter() -> io::Result<DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture, DisableBracketedPaste);
        ratatui::restore();
        previous(info);
    }));
    execute!(stdout(), EnableMouseCapture, EnableBracketedPaste)?;
    Ok(terminal)
}

/// Leaves full-screen mode; safe to call more than once.
pub fn leave() {
    let _ = execute!(stdout(), DisableMouseCapture, DisableBracketedPaste);
    ratatui::restore();
}

/// Hands the terminal to another program (the editor): normal screen, cooked mode, no mouse
/// or paste reporting. [`resume`] takes it back.
pub fn suspend() {
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = crossterm::terminal::disable_raw_mode();
}

/// Takes the terminal back after [`suspend`]; the caller redraws the whole screen.
pub fn resume() {
    let _ = crossterm::terminal::enable_raw_mode();
    let _ = execute!(
        stdout(),
        crossterm::terminal::EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    );
}
