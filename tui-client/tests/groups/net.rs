//! The test network: profiles with their own stores and group engines, and the frames
//! they exchange.

use std::collections::BTreeMap;

use p2p_chat::groups::{GroupNews, Groups, Received};
use p2p_chat::store::{Delivery, LocalStore, conversation_key};
use p2p_chat_protocol::group::{GroupId, GroupOp, Member};

/// One profile: its member identity, store, group engine and the news it got.
pub struct Profile {
    pub member: Member,
    pub store: LocalStore,
    pub groups: Groups,
    pub news: Vec<GroupNews>,
}

/// Profiles by name, and the frames they exchange.
pub struct Net {
    pub profiles: BTreeMap<String, Profile>,
}

pub fn member(name: &str) -> Member {
    Member {
        username: name.to_owned(),
        key: [name.as_bytes()[0]; 32],
    }
}

impl Net {
    pub async fn new(names: &[&str]) -> Self {
        let mut profiles = BTreeMap::new();
        for name in names {
            let store = LocalStore::in_memory().await.unwrap();
            let groups = Groups::load(store.clone(), member(name)).await.unwrap();
            profiles.insert(
                (*name).to_owned(),
                Profile {
                    member: member(name),
                    store,
                    groups,
                    news: Vec::new(),
                },
            );
        }
        Self { profiles }
    }

    /// alice creates "team" with bob and carol, and everyone online takes it.
    pub async fn team(&mut self) -> GroupId {
        let members = vec![member("bob"), member("carol")];
        let team = self
            .get("alice")
            .groups
            .create("team", members, 1)
            .await
            .unwrap();
        self.settle(&[]).await;
        team
    }

    /// `name` makes change `op` to `group` at `at_ms`; returns it in words.
    pub async fn change(&mut self, name: &str, group: GroupId, op: GroupOp, at_ms: u64) -> String {
        let groups = &mut self.get(name).groups;
        groups.change(group, op, at_ms).await.unwrap().words
    }

    pub fn get(&mut self, name: &str) -> &mut Profile {
        self.profiles.get_mut(name).unwrap()
    }

    /// Delivers every frame that can be taken, among the profiles in `online` (all when
    /// empty), until none moves.
    pub async fn settle(&mut self, online: &[&str]) {
        let names: Vec<String> = self
            .profiles
            .keys()
            .filter(|n| online.is_empty() || online.contains(&n.as_str()))
            .cloned()
            .collect();
        loop {
            let mut moved = false;
            for from in &names {
                for to in &names {
                    if from == to {
                        continue;
                    }
                    let frames = self.profiles[from]
                        .store
                        .group_outbox_after(to, 0, 100)
                        .await
                        .unwrap();
                    for (_, id, frame) in frames {
                        let key = self.profiles[from].member.key;
                        let receiver = self.get(to);
                        let taken = receiver.groups.receive(from, &key, frame).await.unwrap();
                        let acked = match taken {
                            Received::Ack { news, .. } => {
                                receiver.news.extend(news);
                                true
                            }
                            Received::Refuse { reason, .. } => {
                                panic!("{to} refused a frame from {from}: {reason}")
                            }
                            // In order: later frames on this pair wait too.
                            Received::Hold => break,
                        };
                        if acked {
                            let sender = &self.profiles[from].store;
                            sender
                                .set_group_delivery(to, &[id], Delivery::Delivered)
                                .await
                                .unwrap();
                            moved = true;
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// The posts `name` stored in `group`'s conversation, oldest first (its notices left out).
    pub async fn texts(&mut self, name: &str, group: GroupId) -> Vec<String> {
        let page = self
            .get(name)
            .store
            .page(&conversation_key(group), None, 100)
            .await
            .unwrap();
        page.into_iter()
            .filter(|m| !m.notice)
            .map(|m| m.text)
            .collect()
    }

    pub fn members(&self, name: &str, group: GroupId) -> Vec<String> {
        self.profiles[name]
            .groups
            .group(group)
            .map(|g| g.members.keys().cloned().collect())
            .unwrap_or_default()
    }
}
