//! Integration tests of the directory: the HTTP API through `app(state).oneshot(..)` on real
//! SQLite databases, and the real binary on a real socket.

mod account;
mod binary;
mod clients;
mod concurrency;
mod config_file;
mod connections;
mod disk;
mod health;
mod limits;
mod listing;
mod mailbox;
mod metrics;
mod observability;
mod observed;
mod openapi;
mod operator;
mod persistence;
mod punch;
mod reachability;
mod registration;
mod relay;
mod session;
mod signal;
#[path = "../support/sockets.rs"]
mod sockets;
mod support;
mod tls;
mod tokens;
