//! The delivery rules, in one place for the chat window, `send`, `listen` and the demo.
//!
//! - **Outbound** ([`outbound::Pump`]): a message is written to the store's outbox before it
//!   goes anywhere. Each open session gets one pump that sends the peer's outbox in the order
//!   it was written, each message **once per session**, starting with everything still
//!   unacknowledged when the session opened; later messages follow as they are queued. The
//!   outbox in the store is the only queue: nothing waits in memory but the session's few
//!   commands, and a slow peer slows only its own pump (TCP backpressure).
//! - **Mailbox** ([`mail::Mailer`]): what cannot go directly is sealed and deposited in the
//!   same order, and mail taken in is stored before it is deleted and receipted.
//! - **Inbound** ([`inbound::store_then_acknowledge`]): a received message is stored
//!   (deduplicated by the sender's id) before its receipt goes back, and only a message
//!   stored for the first time is shown or printed.
//!
//! Why this keeps the sender's order through any crash or reconnect: every path that carries
//! messages (a session, the mailbox) carries the outbox in order from its first
//! unacknowledged message, and the receiver stores each path's messages one after another.
//! A message is then stored only after every earlier one, whichever path brought it first.

pub mod inbound;
pub mod mail;
pub mod outbound;
pub mod sessions;

/// How far each of our group frames `ids` got with the members it went to, as window
/// actions; a frame the store cannot tell about is left out (its mark stays as it was).
pub async fn group_receipts(
    store: &crate::store::LocalStore,
    ids: impl IntoIterator<Item = p2p_chat_protocol::MessageId>,
) -> Vec<crate::app::Action> {
    let mut actions = Vec::new();
    for id in ids {
        if let Ok(receipts) = store.group_receipts(id).await {
            actions.push(crate::app::Action::GroupReceipts { id, receipts });
        }
    }
    actions
}
