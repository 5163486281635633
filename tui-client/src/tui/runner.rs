//! The effect runner: carries out `Effect`s and owns the session handles.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::app::{Action, ChatId, DialTarget, Effect};
use crate::net::{
    self, EventSender, LocalPeer, NetEvent, PeerKey, SessionEvent, SessionHandle, SessionId,
};
use crate::presence::Account;

/// First reconnect delay: 1 s; doubled per attempt up to [`MAX_RECONNECT_DELAY`].
const FIRST_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// Longest reconnect delay: 30 s.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(30);

/// Longest wait for sessions to say goodbye when the program quits: 1 s.
const GOODBYE_GRACE: Duration = Duration::from_secs(1);

/// Carries out effects; the only owner of [`SessionHandle`]s in the interactive client.
pub struct Runner {
    account: Option<Account>,
    home: Option<PathBuf>,
    local: LocalPeer,
    sessions: HashMap<SessionId, SessionHandle>,
    net_tx: EventSender,
    action_tx: mpsc::Sender<Action>,
}

impl Runner {
    /// A runner that dials as `local`, looks peers up with `account`, saves pins in the
    /// profile `home` (none: kept in memory) and reports on the channels.
    pub fn new(
        account: Option<Account>,
        home: Option<PathBuf>,
        local: LocalPeer,
        net_tx: EventSender,
        action_tx: mpsc::Sender<Action>,
    ) -> Self {
        Self {
            account,
            home,
            local,
            sessions: HashMap::new(),
            net_tx,
            action_tx,
        }
    }

    /// Records the handle of an opened session, forgets a closed one, and returns the event
    /// as an action.
    pub fn adopt(&mut self, event: NetEvent) -> Action {
        match &event.event {
            SessionEvent::Opened { handle, .. } => {
                self.sessions.insert(event.session, handle.clone());
            }
            SessionEvent::Closed { .. } => {
                self.sessions.remove(&event.session);
            }
            _ => {}
        }
        super::session_action(event)
    }

    /// Carries out effects in order.
    pub async fn run(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Dial {
                    chat,
                    target,
                    expected,
                } => self.dial(chat, target, expected),
                Effect::SavePins(pins) => {
                    if let Some(home) = &self.home
                        && let Err(e) = pins.save(home)
                    {
                        let _ = self
                            .action_tx
                            .send(Action::DirectoryFailed(format!("{e:#}")))
                            .await;
                    }
                }
                Effect::Send {
                    session,
                    id,
                    sent_at_ms,
                    text,
                } => {
                    if let Some(handle) = self.sessions.get(&session) {
                        // A gone session reports `Closed`, which keeps the message pending.
                        let _ = handle.send_chat(id, sent_at_ms, text).await;
                    }
                }
                Effect::CloseSession { session } => {
                    if let Some(handle) = self.sessions.get(&session) {
                        handle.close();
                    }
                }
                Effect::LoadContacts => self.load_contacts(),
                Effect::ScheduleReconnect { chat, attempt } => {
                    let tx = self.action_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(reconnect_delay(attempt)).await;
                        let _ = tx.send(Action::ReconnectDue { chat }).await;
                    });
                }
                Effect::Quit => {}
            }
        }
    }

    /// Closes every session and waits up to [`GOODBYE_GRACE`] for them to end, so peers get
    /// a goodbye instead of a broken connection.
    pub async fn shutdown(&mut self, net_rx: &mut mpsc::Receiver<NetEvent>) {
        for handle in self.sessions.values() {
            handle.close();
        }
        let _ = tokio::time::timeout(GOODBYE_GRACE, async {
            while !self.sessions.is_empty() {
                match net_rx.recv().await {
                    Some(event) => {
                        self.adopt(event);
                    }
                    None => return,
                }
            }
        })
        .await;
    }

    fn dial(&self, chat: ChatId, target: DialTarget, expected: Option<PeerKey>) {
        let account = self.account.clone();
        let local = self.local.clone();
        let net_tx = self.net_tx.clone();
        let action_tx = self.action_tx.clone();
        tokio::spawn(async move {
            let action = match resolve(account.as_ref(), &target).await {
                Err(error) => Action::DialFailed { chat, error },
                // The directory lists another key than the one we pinned: do not even dial.
                Ok(Resolved {
                    key: Some(listed), ..
                }) if expected.is_some_and(|pin| pin != listed) => Action::KeyChanged {
                    chat,
                    offered: listed,
                },
                Ok(Resolved { addr, key }) => {
                    let key = expected.or(key);
                    match net::dial(&addr, &local, key.as_ref(), chat.0, net_tx).await {
                        Ok(_) => return,
                        Err(e) => Action::DialFailed {
                            chat,
                            error: e.to_string(),
                        },
                    }
                }
            };
            let _ = action_tx.send(action).await;
        });
    }

    fn load_contacts(&self) {
        let Some(account) = self.account.clone() else {
            return;
        };
        let tx = self.action_tx.clone();
        tokio::spawn(async move {
            let action = match account.client.list_all(Some(&account.token)).await {
                Ok(list) => Action::ContactsLoaded(list),
                Err(e) => Action::DirectoryFailed(e.to_string()),
            };
            let _ = tx.send(action).await;
        });
    }
}

/// Where to dial a peer, and the key the directory lists for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// `host:port`.
    pub addr: String,
    /// The peer's key from the directory; `None` for an address target.
    pub key: Option<PeerKey>,
}

/// Where to dial a target; usernames are looked up in the directory.
///
/// # Errors
/// A message for the user when there is no directory or the lookup fails.
pub async fn resolve(account: Option<&Account>, target: &DialTarget) -> Result<Resolved, String> {
    match target {
        DialTarget::Addr(addr) => Ok(Resolved {
            addr: addr.clone(),
            key: None,
        }),
        DialTarget::Username(name) => {
            let account = account.ok_or_else(|| {
                format!("cannot look up {name}: no directory configured — register first, or use /connect --ip HOST:PORT")
            })?;
            let record = account
                .client
                .lookup(name)
                .await
                .map_err(|e| e.to_string())?;
            let key = p2p_chat_protocol::validate::public_key(&record.public_key).ok();
            Ok(Resolved {
                addr: peer_addr(&record.host, record.port),
                key,
            })
        }
    }
}

/// `host:port`, with brackets around IPv6 addresses.
pub fn peer_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Delay before reconnect attempt `attempt` (1-based): 1 s, 2 s, 4 s, … capped at 30 s.
fn reconnect_delay(attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    FIRST_RECONNECT_DELAY
        .saturating_mul(factor)
        .min(MAX_RECONNECT_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_doubles_up_to_the_cap() {
        assert_eq!(reconnect_delay(1), Duration::from_secs(1));
        assert_eq!(reconnect_delay(2), Duration::from_secs(2));
        assert_eq!(reconnect_delay(5), Duration::from_secs(16));
        assert_eq!(reconnect_delay(6), MAX_RECONNECT_DELAY);
        assert_eq!(reconnect_delay(u32::MAX), MAX_RECONNECT_DELAY);
    }

    #[test]
    fn ipv6_hosts_get_brackets() {
        assert_eq!(peer_addr("::1", 5), "[::1]:5");
        assert_eq!(peer_addr("example.org", 5), "example.org:5");
    }
}
