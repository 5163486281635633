//! The subcommands other than the demo.

pub mod account;
pub mod doctor;
pub mod file_report;
pub mod group;
pub mod history;
pub mod listen;
pub mod peer;
mod reach;
pub mod send;
pub mod send_file;
pub mod trust;
