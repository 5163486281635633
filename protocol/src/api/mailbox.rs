//! Bodies of the directory's offline mailbox (`/mailbox`): sealed messages left for a peer
//! that is offline, fetched and deleted by that peer later.
//!
//! The directory only ever sees the sealed bytes: the sender encrypts them to the recipient's
//! identity key before depositing them, and the token that authorises a deposit is not kept.
//! On the wire the sealed bytes are standard, padded base64 ([`encode_sealed`],
//! [`decode_sealed`]).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validate::InvalidField;

/// Largest sealed message a directory accepts, in bytes before base64: 64 KiB.
///
/// A one-way Noise message is at most 65,535 bytes, so a message sealed in one piece always
/// fits; operators may set a lower limit.
pub const MAX_SEALED_BYTES: usize = 64 * 1024;

/// Default page size of `GET /mailbox`.
pub const DEFAULT_MAILBOX_PAGE_LIMIT: u32 = 100;

/// Largest page size of `GET /mailbox`.
pub const MAX_MAILBOX_PAGE_LIMIT: u32 = 100;

/// The id of one deposited message: a UUIDv7, so ids sort by deposit time and reveal nothing
/// about other mailboxes. Shown as the usual hyphenated lower-case UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = uuid::Uuid))]
pub struct MailId(pub uuid::Uuid);

impl MailId {
    /// A fresh id from the current time and random bits; ids made by one process increase.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }
}

impl Default for MailId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for MailId {
    type Err = uuid::Error;

    /// Parses any UUID form the uuid crate reads (hyphenated, simple, braced, URN).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(text).map(Self)
    }
}

/// `POST /mailbox/{recipient}`: one sealed message to keep for `recipient`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepositRequest {
    /// The sealed bytes, standard base64 with padding; not empty.
    pub sealed: String,
}

impl DepositRequest {
    /// A request carrying `sealed`, encoded with [`encode_sealed`].
    pub fn new(sealed: &[u8]) -> Self {
        Self {
            sealed: encode_sealed(sealed),
        }
    }
}

/// Answer to `POST /mailbox/{recipient}` (201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepositReceipt {
    /// The id the recipient will see the message under.
    pub id: MailId,
    /// When the directory deletes the message if the recipient has not fetched and deleted it.
    pub expires_at: DateTime<Utc>,
}

/// Query of `GET /mailbox`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct MailboxQuery {
    /// Page size, 1–[`MAX_MAILBOX_PAGE_LIMIT`]; [`DEFAULT_MAILBOX_PAGE_LIMIT`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only messages after this id (the previous page's `next`); it need not exist any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// One message waiting in the caller's mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailboxItem {
    /// Its id, for `DELETE /mailbox/{id}` and as a paging cursor.
    pub id: MailId,
    /// The sealed bytes exactly as deposited, standard base64 with padding.
    pub sealed: String,
    /// When it was deposited.
    pub deposited_at: DateTime<Utc>,
}

impl MailboxItem {
    /// The sealed bytes.
    ///
    /// # Errors
    /// When `sealed` is not valid base64 or empty (a directory never sends that).
    pub fn sealed_bytes(&self) -> Result<Vec<u8>, InvalidField> {
        decode_sealed(&self.sealed)
    }
}

/// Answer to `GET /mailbox`: one page, oldest message first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailboxPage {
    /// The messages of this page.
    pub messages: Vec<MailboxItem>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next: Option<MailId>,
}

/// `bytes` as standard base64 with padding (RFC 4648, section 4).
pub fn encode_sealed(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of a `sealed` field.
///
/// # Errors
/// When `text` is not canonical standard base64 with padding, or encodes no bytes.
pub fn decode_sealed(text: &str) -> Result<Vec<u8>, InvalidField> {
    let bytes = STANDARD.decode(text).map_err(|err| InvalidField {
        field: "sealed",
        message: format!("sealed must be standard base64 with padding: {err}"),
    })?;
    if bytes.is_empty() {
        return Err(InvalidField {
            field: "sealed",
            message: "sealed must not be empty".into(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_round_trip_through_padded_base64() {
        let bytes = [0xfa, 0xec, 0x20, 0x55, 0x00];
        let request = DepositRequest::new(&bytes);
        assert_eq!(request.sealed, "+uwgVQA=");
        assert_eq!(decode_sealed(&request.sealed).unwrap(), bytes);
    }

    #[test]
    fn bad_or_empty_sealed_text_is_refused_by_field_name() {
        for text in [
            "",
            "+uwgVQA",
            "+uwgVQA=?",
            "-_8=",
            "a b=",
            "=AAA",
            "+uwgVQB=",
        ] {
            let err = decode_sealed(text).unwrap_err();
            assert_eq!(err.field, "sealed", "{text:?}");
            assert!(err.message.starts_with("sealed must"), "{}", err.message);
        }
    }

    #[test]
    fn mailbox_pages_have_a_stable_json_shape() {
        let id: MailId = "0190f0a8-7c3e-7000-8000-000000000001".parse().unwrap();
        let page = MailboxPage {
            messages: vec![MailboxItem {
                id,
                sealed: "AQI=".into(),
                deposited_at: DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
            }],
            next: Some(id),
        };
        let json = serde_json::to_string(&page).unwrap();
        assert_eq!(
            json,
            r#"{"messages":[{"id":"0190f0a8-7c3e-7000-8000-000000000001","sealed":"AQI=","deposited_at":"2023-11-14T22:13:20Z"}],"next":"0190f0a8-7c3e-7000-8000-000000000001"}"#
        );
        assert_eq!(serde_json::from_str::<MailboxPage>(&json).unwrap(), page);
        assert_eq!(page.messages[0].sealed_bytes().unwrap(), [1, 2]);
    }

    #[test]
    fn ids_increase_and_print_hyphenated() {
        let (a, b) = (MailId::new(), MailId::new());
        assert!(a < b);
        assert_eq!(a.to_string().len(), 36);
        assert_eq!(a.to_string().parse::<MailId>().unwrap(), a);
        assert!("not-a-uuid".parse::<MailId>().is_err());
    }
}
