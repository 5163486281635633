//! The subcommands other than the demo.

pub mod account;
pub mod history;
pub mod peer;
pub mod trust;
