//! The p2p-chat client: a terminal chat where messages travel directly between peers.
//!
//! - [`net`]: peer sessions (one actor per TCP connection) and the listener.
//! - [`app`]: the client state and `App::update`, the only place it changes.
//! - [`ui`]: pure rendering of an `App` with ratatui.
//! - [`tui`]: the interactive loop and the effect runner that owns the sessions.
//! - [`directory`], [`presence`], [`profile`]: the directory client, our record's upkeep, and
//!   the profile on disk.
//! - [`relay`], [`punch`], [`portmap`]: reaching peers behind routers (the relay, hole
//!   punching, port mapping on our router).
//! - [`delivery`]: the delivery rules (outbox pump, store-then-acknowledge) for every mode.
//! - [`commands`], [`demo`], [`cli`], [`config`]: what the `p2p-chat` binary runs, and the
//!   settings it runs with.

pub mod app;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod directory;
pub mod groups;
pub mod identity;
pub mod instance;
pub mod net;
pub mod notify;
pub mod pins;
pub mod portmap;
pub mod presence;
pub mod profile;
pub mod punch;
pub mod relay;
pub mod store;
pub mod transfer;
pub mod trust;
pub mod tui;
pub mod ui;
