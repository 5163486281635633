//! The signaling connection: a WebSocket a running client keeps open to its directory at
//! `GET /signal` (authenticated with the login token, like the other requests), over which the
//! directory pushes what clients would otherwise poll for. Each message is one text frame
//! holding one JSON object with a `type` field; unknown types are ignored, so later
//! directories can add messages that older clients skip. See `docs/api.md#signaling`.

use serde::{Deserialize, Serialize};

/// Path of the signaling endpoint.
pub const SIGNAL_PATH: &str = "/signal";

/// Seconds between two pings of the directory on an open signaling connection: 20 s. A client
/// that answers none for three intervals is dropped (and shown offline); a client that hears
/// nothing for that long reconnects.
pub const SIGNAL_PING_SECS: u64 = 20;

/// Path prefix of the relay: `POST /relay/{username}` asks for a ticket to meet `username`,
/// `GET /relay/{ticket}` (with `Upgrade: p2p-chat-relay`) joins it.
pub const RELAY_PATH: &str = "/relay";

/// The `Upgrade` token of a relay connection.
pub const RELAY_UPGRADE: &str = "p2p-chat-relay";

/// Response header of the relay's `101 Switching Protocols`: the most bytes the relayed
/// session will carry, both directions together, as a decimal number (the operator's
/// `--relay-max-bytes`). The relay ends the session there; a client that moves a file says so
/// in advance and goes on over a new session. Absent from directories older than file
/// transfers: the cap is then unknown.
pub const RELAY_MAX_BYTES_HEADER: &str = "p2p-chat-relay-max-bytes";

/// Answer to `POST /relay/{username}`: the ticket both sides join with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelayTicket {
    /// 32 lowercase hex digits, valid once, for 10 s.
    pub ticket: String,
}

/// Path prefix of hole punching: `POST /punch/{username}` asks the directory to time a TCP
/// simultaneous open between us and `username` (see [`PunchPlan`] and
/// [`ServerSignal::Punch`]).
pub const PUNCH_PATH: &str = "/punch";

/// Answer to `POST /punch/{username}`: where and when the requester dials. The same moment is
/// pushed to `username` as [`ServerSignal::Punch`], so both sides' SYNs cross (a TCP
/// simultaneous open, RFC 9293 §3.5 figure 8) and each side's router lets the other's in.
///
/// Roles: the side the punch was asked of (`username`) runs the Noise handshake as the
/// initiator and the requester answers, whichever of the two TCP connects won; so when one
/// side's SYN reaches the other's listener (a side with a public address), the listener
/// answers as it always does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PunchPlan {
    /// `HOST:PORT` the directory observed on `username`'s signaling connection (IPv6 in
    /// brackets): dial it from the port of our own signaling connection.
    pub addr: String,
    /// Milliseconds to wait before the first connect, so both start together (the directory
    /// makes up the difference of the two sides' measured round trips, as libp2p's DCUtR
    /// does with half the round trip).
    pub delay_ms: u64,
}

/// Path of the reachability check: `POST /reachability` with a [`ReachabilityRequest`]
/// answers a [`Reachability`].
pub const REACHABILITY_PATH: &str = "/reachability";

/// `POST /reachability`: asks the directory to dial the address the request comes from, at
/// `port`, to tell whether peers can reach us there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReachabilityRequest {
    /// The TCP port to dial (1–65535): where our listener is seen from the internet.
    pub port: u16,
}

/// Answer to `POST /reachability`: whether the directory could open a TCP connection to the
/// requester, and which ways to meet peers it offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reachability {
    /// `HOST:PORT` the directory dialled: the address the request came from (IPv6 in
    /// brackets), at the asked port.
    pub addr: String,
    /// Whether the TCP connection opened (it is closed at once, without sending a byte).
    pub reachable: bool,
    /// Why not, when not: the connect error, or that nothing answered within the timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether the directory relays sessions (`--relay on`).
    pub relay: bool,
    /// Whether the directory arranges hole punches (`--hole-punching on`).
    pub hole_punching: bool,
}

/// Largest signaling message either side accepts, in bytes: 16 KiB.
pub const MAX_SIGNAL_BYTES: usize = 16 * 1024;

/// What the directory sends over the signaling connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerSignal {
    /// The first message: the connection is authenticated, and this is the address and port
    /// the directory sees it come from, as `HOST:PORT` (IPv6 in brackets); behind a trusted
    /// proxy only the client's `HOST` the proxy reported; `null` when it cannot tell.
    Welcome {
        /// The observed address of this connection.
        observed: Option<String>,
    },
    /// A user came online (opened a signaling connection) or went offline (signed off, or
    /// its last signaling connection closed).
    Presence {
        /// The user.
        username: String,
        /// Whether it is online now.
        online: bool,
    },
    /// A sealed message was deposited for the recipient of this connection: fetch the
    /// mailbox now.
    Mail,
    /// `from` could not reach us directly and asks to meet on the directory's relay: open
    /// `GET /relay/{ticket}` (see [`RELAY_PATH`]) within 10 s and answer the Noise handshake
    /// that `from` starts there.
    RelayOffer {
        /// The one-time ticket.
        ticket: String,
        /// Who asks.
        from: String,
    },
    /// `from` asks for a hole punch: after `delay_ms` milliseconds, dial `addr` (where the
    /// directory sees `from`'s signaling connection) from the port of our own signaling
    /// connection, retrying a few rounds, and run the Noise handshake as the initiator (see
    /// [`PunchPlan`] for the roles).
    Punch {
        /// Who asks.
        from: String,
        /// `HOST:PORT` to dial.
        addr: String,
        /// Milliseconds to wait first.
        delay_ms: u64,
    },
    /// A message type this client does not know (from a newer directory); ignored.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_have_a_stable_json_shape_and_unknown_types_are_skipped() {
        let cases = [
            (
                ServerSignal::Welcome {
                    observed: Some("203.0.113.5:40001".into()),
                },
                r#"{"type":"welcome","observed":"203.0.113.5:40001"}"#,
            ),
            (
                ServerSignal::Presence {
                    username: "bob".into(),
                    online: false,
                },
                r#"{"type":"presence","username":"bob","online":false}"#,
            ),
            (ServerSignal::Mail, r#"{"type":"mail"}"#),
            (
                ServerSignal::RelayOffer {
                    ticket: "00ff".into(),
                    from: "alice".into(),
                },
                r#"{"type":"relay_offer","ticket":"00ff","from":"alice"}"#,
            ),
            (
                ServerSignal::Punch {
                    from: "alice".into(),
                    addr: "203.0.113.1:55555".into(),
                    delay_ms: 12,
                },
                r#"{"type":"punch","from":"alice","addr":"203.0.113.1:55555","delay_ms":12}"#,
            ),
        ];
        for (signal, json) in cases {
            assert_eq!(serde_json::to_string(&signal).unwrap(), json);
            assert_eq!(serde_json::from_str::<ServerSignal>(json).unwrap(), signal);
        }
        let later: ServerSignal =
            serde_json::from_str(r#"{"type":"later_kind","at_ms":5}"#).unwrap();
        assert_eq!(later, ServerSignal::Unknown);
        assert!(serde_json::from_str::<ServerSignal>(r#"{"no":"type"}"#).is_err());
        let plan = PunchPlan {
            addr: "[2001:db8::1]:4000".into(),
            delay_ms: 0,
        };
        let json = r#"{"addr":"[2001:db8::1]:4000","delay_ms":0}"#;
        assert_eq!(serde_json::to_string(&plan).unwrap(), json);
        assert_eq!(serde_json::from_str::<PunchPlan>(json).unwrap(), plan);
    }

    #[test]
    fn the_reachability_check_has_a_stable_json_shape() {
        let request = ReachabilityRequest { port: 55555 };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"port":55555}"#
        );
        for bad in [r#"{"port":70000}"#, r#"{"port":"x"}"#, r#"{}"#] {
            assert!(
                serde_json::from_str::<ReachabilityRequest>(bad).is_err(),
                "{bad}"
            );
        }
        let refused = Reachability {
            addr: "203.0.113.7:55555".into(),
            reachable: false,
            detail: Some("nothing answered within 3 s".into()),
            relay: true,
            hole_punching: false,
        };
        let json = r#"{"addr":"203.0.113.7:55555","reachable":false,"detail":"nothing answered within 3 s","relay":true,"hole_punching":false}"#;
        assert_eq!(serde_json::to_string(&refused).unwrap(), json);
        assert_eq!(serde_json::from_str::<Reachability>(json).unwrap(), refused);
        let open = Reachability {
            reachable: true,
            detail: None,
            ..refused
        };
        let json = serde_json::to_string(&open).unwrap();
        assert!(!json.contains("detail"), "{json}");
    }
}
