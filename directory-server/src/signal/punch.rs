//! Hole punching over the signaling connections (`POST /punch/{username}`): where each side
//! is seen, when both dial, and each requester's budget.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use super::{Event, Hub, Recorded};
use governor::{DefaultKeyedRateLimiter, Quota};
use p2p_chat_protocol::api::signal::{PunchPlan, ServerSignal};

/// Hole punches one user may ask for: 10 at once, then one more every 6 s (10 a minute):
/// plenty for opening chats, too few to make the directory a scanner of other users' routers.
const PUNCH_BURST: u32 = 10;
/// See [`PUNCH_BURST`].
const PUNCH_EVERY: Duration = Duration::from_secs(6);
/// Requesters tracked before idle ones are forgotten: 10,000.
const PRUNE_ABOVE: usize = 10_000;

/// A fresh budget of punches per requester: [`PUNCH_BURST`] at once, one more every
/// [`PUNCH_EVERY`].
pub(super) fn budget() -> DefaultKeyedRateLimiter<String> {
    let quota = Quota::with_period(PUNCH_EVERY)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(PUNCH_BURST).unwrap_or(NonZeroU32::MIN));
    DefaultKeyedRateLimiter::keyed(quota)
}

/// Where a hole punch reaches one side: the address of its newest signaling connection whose
/// port the directory sees, and that connection's round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PunchEnd {
    /// `IP:PORT` of the signaling connection.
    pub addr: SocketAddr,
    /// Its last measured round trip; zero before the first pong.
    pub rtt: Duration,
}

/// Why no hole punch can be arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PunchRefusal {
    /// The user has no signaling connection open.
    NotConnected,
    /// The user is connected, but the directory does not see the port (behind a proxy that
    /// reports only the client's IP).
    NoPort,
    /// The requester asked for too many punches lately; try again after this long.
    TooMany(Duration),
}

impl Hub {
    /// Takes one dial the directory makes happen on `user`'s behalf (a hole punch, or a
    /// reachability check) from its budget: 10 at once, one more every
    /// 6 s (`PUNCH_BURST`, `PUNCH_EVERY`).
    ///
    /// # Errors
    /// How long to wait until the budget allows the next one.
    pub fn charge_dial(&self, user: &str) -> Result<(), Duration> {
        if self.punches.len() > PRUNE_ABOVE {
            self.punches.retain_recent();
        }
        self.punches
            .check_key(&user.to_owned())
            .map_err(|not_until| {
                let clock = governor::clock::DefaultClock::default();
                not_until.wait_time_from(governor::clock::Clock::now(&clock))
            })
    }

    /// The signaling connections of `username` on every replica, oldest first; those of
    /// this replica carry an empty replica id.
    async fn recorded(&self, username: &str) -> Result<Vec<Recorded>, PunchRefusal> {
        if let Some(cluster) = &self.cluster {
            let mut list = cluster.connections(username).await.map_err(|err| {
                tracing::warn!(%err, "cannot read other replicas' signaling connections");
                PunchRefusal::NotConnected
            })?;
            for entry in &mut list {
                if entry.replica == cluster.replica() {
                    entry.replica.clear();
                }
            }
            return Ok(list);
        }
        let inner = self.lock();
        Ok(inner
            .connections
            .get(username)
            .into_iter()
            .flatten()
            .map(|c| Recorded {
                replica: String::new(),
                id: c.id,
                addr: c.observed,
                rtt: c.rtt,
                brief: c.brief,
            })
            .collect())
    }

    /// Arranges a hole punch asked for by `from` towards `to`: pushes [`ServerSignal::Punch`]
    /// to `to`'s newest signaling connection (on whichever replica holds it), and returns the
    /// plan for `from`. Both wait so that they dial at the same moment: the slower side's
    /// one-way time (half its round trip) after now, each making up the difference to its
    /// own. Addresses come only from the users' own signaling connections, never from the
    /// request.
    ///
    /// # Errors
    /// A [`PunchRefusal`]: either side without a usable signaling connection, or `from` over
    /// its budget of punches (see [`Hub::charge_dial`]).
    pub async fn punch(&self, from: &str, to: &str) -> Result<PunchPlan, PunchRefusal> {
        let (ours, _) = punch_end(&self.recorded(from).await?, false)?;
        let (theirs, target) = punch_end(&self.recorded(to).await?, true)?;
        self.charge_dial(from).map_err(PunchRefusal::TooMany)?;
        let (our_delay, their_delay) = punch_delays(ours.rtt, theirs.rtt);
        let signal = ServerSignal::Punch {
            from: from.to_owned(),
            addr: ours.addr.to_string(),
            delay_ms: millis(their_delay),
        };
        match &self.cluster {
            Some(cluster) if !target.replica.is_empty() => cluster.publish(Event::ToConnection {
                replica: target.replica,
                id: target.id,
                signal,
            }),
            _ => {
                if !self.send_to_connection_here(target.id, std::sync::Arc::new(signal)) {
                    return Err(PunchRefusal::NotConnected);
                }
            }
        }
        Ok(PunchPlan {
            addr: theirs.addr.to_string(),
            delay_ms: millis(our_delay),
        })
    }
}

/// Where a punch reaches a user with the signaling connections `list` (oldest first), and
/// which connection that is: its newest connection with a port, of a running client for the
/// `target` of a punch, of any kind for the requester.
fn punch_end(list: &[Recorded], target: bool) -> Result<(PunchEnd, Recorded), PunchRefusal> {
    let mut usable = list.iter().filter(|c| !(target && c.brief)).peekable();
    if usable.peek().is_none() {
        return Err(PunchRefusal::NotConnected);
    }
    let newest = usable
        .rev()
        .find(|c| c.addr.is_some())
        .ok_or(PunchRefusal::NoPort)?;
    let end = PunchEnd {
        addr: newest.addr.ok_or(PunchRefusal::NoPort)?,
        rtt: newest.rtt.unwrap_or_default(),
    };
    Ok((end, newest.clone()))
}

/// How long each side of a punch waits before dialling, given the round trips of the
/// requester (`ours`) and the target (`theirs`): both dial half the slower round trip after
/// the directory answers, each making up the difference to its own one-way time.
pub fn punch_delays(ours: Duration, theirs: Duration) -> (Duration, Duration) {
    let together = ours.max(theirs) / 2;
    (together - ours / 2, together - theirs / 2)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[tokio::test]
    async fn both_sides_of_a_punch_dial_together_at_the_addresses_their_connections_came_from() {
        let hub = Hub::default();
        let (a, _rx_a, _) = hub.join("alice", addr("203.0.113.1:40000"), false).await;
        // bob's older connection has no port; the newer one is the one used.
        let (_b0, mut rx_b0, _) = hub.join("bob", None, false).await;
        let (b, mut rx_b, _) = hub.join("bob", addr("203.0.113.2:55555"), false).await;
        hub.measured("alice", a, Duration::from_millis(80)).await;
        hub.measured("bob", b, Duration::from_millis(20)).await;
        let plan = hub.punch("alice", "bob").await.unwrap();
        assert_eq!(plan.addr, "203.0.113.2:55555");
        // alice is 40 ms away and bob 10 ms: bob waits 30 ms so both dial 40 ms from now.
        assert_eq!(plan.delay_ms, 0);
        assert_eq!(
            *rx_b.try_recv().unwrap(),
            ServerSignal::Punch {
                from: "alice".into(),
                addr: "203.0.113.1:40000".into(),
                delay_ms: 30,
            }
        );
        assert!(
            rx_b0.try_recv().is_err(),
            "only the connection with a port is asked"
        );
        assert_eq!(
            punch_delays(Duration::from_millis(10), Duration::from_millis(50)),
            (Duration::from_millis(20), Duration::ZERO)
        );
    }

    #[tokio::test]
    async fn a_punch_needs_both_sides_connected_with_a_port_and_is_budgeted_per_requester() {
        let hub = Hub::default();
        assert_eq!(
            hub.punch("alice", "bob").await,
            Err(PunchRefusal::NotConnected)
        );
        let _a = hub.join("alice", addr("203.0.113.1:40000"), false).await;
        assert_eq!(
            hub.punch("alice", "bob").await,
            Err(PunchRefusal::NotConnected)
        );
        let _b = hub.join("bob", None, false).await;
        assert_eq!(hub.punch("alice", "bob").await, Err(PunchRefusal::NoPort));
        let (_, mut rx_c, _) = hub.join("carol", addr("[2001:db8::3]:4000"), false).await;
        for _ in 0..PUNCH_BURST {
            let plan = hub.punch("alice", "carol").await.unwrap();
            assert_eq!(plan.addr, "[2001:db8::3]:4000");
        }
        assert!(matches!(
            hub.punch("alice", "carol").await,
            Err(PunchRefusal::TooMany(wait)) if wait > Duration::ZERO
        ));
        let asked = std::iter::from_fn(|| rx_c.try_recv().ok()).count();
        assert_eq!(
            asked, PUNCH_BURST as usize,
            "a refused punch asks nothing of carol"
        );
        // carol's own budget is untouched.
        let _a2 = hub.join("alice", addr("203.0.113.1:40001"), false).await;
        assert!(hub.punch("carol", "alice").await.is_ok());
    }
}
