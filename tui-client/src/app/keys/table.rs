//! Every action a key can be bound to: its name in the config file's `[keys]` table, where it
//! applies, its line in the help, and its default keys (weechat's and readline's, mostly).

use tui_input::InputRequest as E;

use super::{Intent as I, Scope as S};

/// One bindable action.
#[derive(Clone, Copy, Debug)]
pub struct Command {
    /// Its name in `[keys]`, e.g. `next-chat`.
    pub name: &'static str,
    /// What it does.
    pub intent: I,
    /// Where it applies.
    pub scope: S,
    /// Its line in the help; empty for an action that shares the previous one's line
    /// (`prev-chat` / `next-chat`, `chat-1` – `chat-9`).
    pub help: &'static str,
    /// The keys bound by default; a sequence such as `Ctrl+X Ctrl+E` is one entry.
    pub keys: &'static [&'static str],
}

const fn c(
    name: &'static str,
    intent: I,
    scope: S,
    help: &'static str,
    keys: &'static [&'static str],
) -> Command {
    Command {
        name,
        intent,
        scope,
        help,
        keys,
    }
}

/// Every bindable action, in the order the help lists them.
pub const COMMANDS: &[Command] = &[
    c("quit", I::Quit, S::Global, "quit", &["Ctrl+C"]),
    c(
        "help",
        I::ToggleHelp,
        S::Global,
        "show or hide help",
        &["F1"],
    ),
    c("back", I::Back, S::Global, "close / to contacts", &["Esc"]),
    c(
        "prev-chat",
        I::PrevChat,
        S::Global,
        "previous / next chat",
        &["Alt+Left", "Ctrl+P"],
    ),
    c(
        "next-chat",
        I::NextChat,
        S::Global,
        "",
        &["Alt+Right", "Ctrl+N"],
    ),
    c(
        "chat-1",
        I::ShowChat(1),
        S::Global,
        "show chat 1 – 9",
        &["Alt+1"],
    ),
    c("chat-2", I::ShowChat(2), S::Global, "", &["Alt+2"]),
    c("chat-3", I::ShowChat(3), S::Global, "", &["Alt+3"]),
    c("chat-4", I::ShowChat(4), S::Global, "", &["Alt+4"]),
    c("chat-5", I::ShowChat(5), S::Global, "", &["Alt+5"]),
    c("chat-6", I::ShowChat(6), S::Global, "", &["Alt+6"]),
    c("chat-7", I::ShowChat(7), S::Global, "", &["Alt+7"]),
    c("chat-8", I::ShowChat(8), S::Global, "", &["Alt+8"]),
    c("chat-9", I::ShowChat(9), S::Global, "", &["Alt+9"]),
    c(
        "next-unread",
        I::NextUnread,
        S::Global,
        "next unread chat",
        &["Alt+A"],
    ),
    c(
        "page-up",
        I::PageUp,
        S::Global,
        "scroll back / forward",
        &["PgUp"],
    ),
    c("page-down", I::PageDown, S::Global, "", &["PgDn"]),
    c(
        "filter",
        I::Filter,
        S::Global,
        "filter contacts",
        &["Ctrl+F"],
    ),
    c(
        "redraw",
        I::Redraw,
        S::Global,
        "redraw the screen",
        &["Ctrl+L"],
    ),
    c(
        "contact-up",
        I::CursorUp,
        S::Contacts,
        "previous / next contact",
        &["Up"],
    ),
    c("contact-down", I::CursorDown, S::Contacts, "", &["Down"]),
    c(
        "open",
        I::OpenContact,
        S::Contacts,
        "open its chat",
        &["Enter"],
    ),
    c(
        "send",
        I::Submit,
        S::Input,
        "send, or run /command",
        &["Enter"],
    ),
    c(
        "newline",
        I::Newline,
        S::Input,
        "new line in the message",
        &["Alt+Enter"],
    ),
    c(
        "complete",
        I::Complete,
        S::Input,
        "complete /command, name, /send path",
        &["Tab"],
    ),
    c(
        "complete-back",
        I::CompleteBack,
        S::Input,
        "",
        &["Shift+Tab"],
    ),
    c(
        "compose",
        I::Compose,
        S::Input,
        "write it in $EDITOR",
        &["Ctrl+X Ctrl+E"],
    ),
    c(
        "reply",
        I::Reply,
        S::Input,
        "reply to the last message",
        &["Ctrl+R"],
    ),
    c(
        "history-prev",
        I::HistoryPrev,
        S::Input,
        "older / newer line",
        &["Up"],
    ),
    c("history-next", I::HistoryNext, S::Input, "", &["Down"]),
    c(
        "left",
        I::Edit(E::GoToPrevChar),
        S::Input,
        "move the cursor",
        &["Left"],
    ),
    c("right", I::Edit(E::GoToNextChar), S::Input, "", &["Right"]),
    c(
        "line-start",
        I::Edit(E::GoToStart),
        S::Input,
        "start of line",
        &["Ctrl+A", "Home"],
    ),
    c(
        "line-end",
        I::LineEnd,
        S::Input,
        "end of line, newest msg",
        &["Ctrl+E", "End"],
    ),
    c(
        "delete-to-start",
        I::Edit(E::DeleteFromStart),
        S::Input,
        "delete to start",
        &["Ctrl+U"],
    ),
    c(
        "delete-to-end",
        I::Edit(E::DeleteTillEnd),
        S::Input,
        "delete to end",
        &["Ctrl+K"],
    ),
    c(
        "delete-word",
        I::Edit(E::DeletePrevWord),
        S::Input,
        "delete word back",
        &["Ctrl+W"],
    ),
    c(
        "delete-back",
        I::Edit(E::DeletePrevChar),
        S::Input,
        "delete back",
        &["Backspace"],
    ),
    c(
        "delete-forward",
        I::Edit(E::DeleteNextChar),
        S::Input,
        "delete forward",
        &["Delete"],
    ),
];
