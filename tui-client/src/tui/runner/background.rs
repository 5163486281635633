//! The runner's work that waits on the network, spawned so the loop never does: dialling a peer
//! (after looking it up) and reloading the contact list. Results come back as actions.

use super::Runner;
use crate::app::{Action, ChatId, DialTarget};
use crate::net::{self, PeerKey};
use crate::relay;
use crate::tui::resolve::{ResolveError, Resolved, resolve};

impl Runner {
    /// Looks the target up and dials it, expecting `expected` (the pin) if given, directly or
    /// — for a user of the directory — through its relay ([`relay::connect`], the `ways` it
    /// says); a failure, a gone user or a key the directory lists instead of the pin comes back
    /// as an action. A failed [`relay::Ways::DirectOnly`] try (moving a relayed session to a
    /// direct one) reports nothing: the relayed session goes on.
    pub(super) fn dial(
        &self,
        chat: ChatId,
        target: DialTarget,
        expected: Option<PeerKey>,
        ways: relay::Ways,
    ) {
        let account = self.account.clone();
        let relay_only = self.relay_only;
        let local = self.local.clone();
        let net_tx = self.net_tx.clone();
        let action_tx = self.action_tx.clone();
        tokio::spawn(async move {
            let action = match resolve(account.as_ref(), &target).await {
                Err(ResolveError::Gone(reason)) => Action::PeerGone { chat, reason },
                Err(ResolveError::Other(error)) => Action::DialFailed { chat, error },
                // The directory lists another key than the one we pinned: do not even dial.
                Ok(Resolved {
                    key: Some(listed), ..
                }) if expected.is_some_and(|pin| pin != listed) => Action::KeyChanged {
                    chat,
                    offered: listed,
                },
                Ok(Resolved {
                    addr,
                    key,
                    candidates,
                }) => {
                    let key = expected.or(key);
                    // A user of the directory can also be met on its relay; an address cannot.
                    let relay_to = match &target {
                        DialTarget::Username(name) => account.as_ref().map(|a| (a, name)),
                        DialTarget::Addr(_) => None,
                    };
                    if relay_to.is_none() && relay_only {
                        let error = relay::RELAY_ONLY_DIALS_NO_ADDRESS.to_owned();
                        let _ = action_tx.send(Action::DialFailed { chat, error }).await;
                        return;
                    }
                    let outcome = match relay_to {
                        Some((account, name)) => {
                            relay::connect(
                                Some(account),
                                ways,
                                name,
                                &addr,
                                &candidates,
                                &local,
                                key.as_ref(),
                                chat.0,
                                net_tx,
                            )
                            .await
                        }
                        None => net::dial(&addr, &local, key.as_ref(), chat.0, net_tx).await,
                    };
                    match outcome {
                        Ok(_) => return,
                        Err(e) => Action::DialFailed {
                            chat,
                            error: e.to_string(),
                        },
                    }
                }
            };
            if ways == relay::Ways::DirectOnly {
                tracing::debug!(?action, "the relayed session stays: no direct one opened");
                return;
            }
            let _ = action_tx.send(action).await;
        });
    }

    /// Reloads the contact list from the directory (an action with the list or the error).
    pub(super) fn load_contacts(&self) {
        let Some(account) = self.account.clone() else {
            return;
        };
        let tx = self.action_tx.clone();
        tokio::spawn(async move {
            let action = match account.client.list_all(Some(&account.token)).await {
                Ok(list) => Action::ContactsLoaded(list),
                Err(e) => Action::DirectoryFailed(e.trouble(), e.to_string()),
            };
            let _ = tx.send(action).await;
        });
    }
}
