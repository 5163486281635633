//! A property test of the delivery rules over real local stores: random interleavings of
//! sending, losing frames, crashing the sender, reconnecting and resending never lose or
//! duplicate a message, and the receiver keeps the sender's order.
//!
//! The rules under test are the client's: a message is written to the sender's outbox before
//! it is sent; the receiver stores it (deduplicating by id) before it acknowledges; the sender
//! marks it delivered only on the receipt; every reconnect resends the whole outbox in order.

use p2p_chat::store::{Delivery, LocalStore};
use p2p_chat_protocol::MessageId;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    /// The user sends a new message.
    Send,
    /// The network delivers the oldest frame in flight to the receiver.
    Deliver,
    /// The network delivers the oldest receipt in flight back to the sender.
    Ack,
    /// The connection breaks: everything in flight is lost.
    Drop,
    /// The sender's process is killed and restarted (only its store survives).
    Crash,
    /// A new session opens: the sender resends its outbox.
    Reconnect,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Send),
        4 => Just(Step::Deliver),
        3 => Just(Step::Ack),
        1 => Just(Step::Drop),
        1 => Just(Step::Crash),
        2 => Just(Step::Reconnect),
    ]
}

struct World {
    sender: LocalStore,
    receiver: LocalStore,
    /// Frames on the way to the receiver: (id, text).
    to_receiver: std::collections::VecDeque<(MessageId, String)>,
    /// Receipts on the way back.
    to_sender: std::collections::VecDeque<MessageId>,
    /// Whether a session is open (sending goes out at once).
    connected: bool,
    sent: Vec<String>,
}

impl World {
    async fn resend(&mut self) {
        for message in self.sender.outbox().await.unwrap() {
            self.to_receiver.push_back((message.id, message.text));
        }
    }

    async fn apply(&mut self, step: Step) {
        match step {
            Step::Send => {
                let text = format!("m{}", self.sent.len());
                let id = MessageId::new();
                self.sender
                    .insert_outgoing("bob", id, 0, &text)
                    .await
                    .unwrap();
                self.sent.push(text.clone());
                if self.connected {
                    self.to_receiver.push_back((id, text));
                }
            }
            Step::Deliver => {
                if let Some((id, text)) = self.to_receiver.pop_front() {
                    // Stored (or recognised as a resend) before the receipt goes back.
                    self.receiver
                        .insert_incoming("alice", id, 0, &text)
                        .await
                        .unwrap();
                    self.to_sender.push_back(id);
                }
            }
            Step::Ack => {
                if let Some(id) = self.to_sender.pop_front() {
                    self.sender
                        .set_delivery("bob", id, Delivery::Delivered, None)
                        .await
                        .unwrap();
                }
            }
            Step::Drop | Step::Crash => {
                self.to_receiver.clear();
                self.to_sender.clear();
                self.connected = false;
            }
            Step::Reconnect => {
                self.to_receiver.clear();
                self.to_sender.clear();
                self.connected = true;
                self.resend().await;
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_message_is_lost_or_shown_twice(steps in prop::collection::vec(step(), 1..60)) {
        runtime().block_on(async {
            let mut world = World {
                sender: LocalStore::in_memory().await.unwrap(),
                receiver: LocalStore::in_memory().await.unwrap(),
                to_receiver: Default::default(),
                to_sender: Default::default(),
                connected: false,
                sent: Vec::new(),
            };
            for step in steps {
                world.apply(step).await;
            }
            // Finally the network behaves: one clean session delivers everything.
            world.apply(Step::Reconnect).await;
            while !world.to_receiver.is_empty() || !world.to_sender.is_empty() {
                world.apply(Step::Deliver).await;
                world.apply(Step::Ack).await;
            }
            let received: Vec<String> = world
                .receiver
                .page("alice", None, 10_000)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.text)
                .collect();
            // Exactly once, and in the sender's order.
            prop_assert_eq!(&received, &world.sent);
            prop_assert!(world.sender.outbox().await.unwrap().is_empty(), "all delivered");
            Ok(())
        })?;
    }
}
