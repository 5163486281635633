//! The directory's offline mailbox: `POST /mailbox/{recipient}`, `GET /mailbox` and
//! `DELETE /mailbox/{id}` (`docs/api.md`). The bytes deposited are sealed by the caller; this
//! module only carries them.

use p2p_chat_protocol::api::{
    DepositReceipt, DepositRequest, MAX_MAILBOX_PAGE_LIMIT, MailId, MailboxItem, MailboxPage,
    MailboxQuery,
};
use reqwest::StatusCode;

use super::error::Op;
use super::transport::{Secret, warn_before_sending};
use super::{DirectoryClient, DirectoryError};

/// Which mailbox request got an error status.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MailOp<'a> {
    Deposit { recipient: &'a str },
    Fetch,
    Delete { id: MailId },
}

impl DirectoryClient {
    /// `POST /mailbox/{recipient}`: leaves `sealed` (already encrypted to the recipient) in
    /// the recipient's mailbox, authorised by `token` (any account's).
    ///
    /// # Errors
    /// [`DirectoryError::NotFound`] for an unknown recipient, [`DirectoryError::MailboxFull`],
    /// [`DirectoryError::MailTooLarge`], [`DirectoryError::TokenRejected`],
    /// [`DirectoryError::Invalid`] (e.g. for empty `sealed`), and the transport errors.
    pub async fn deposit(
        &self,
        recipient: &str,
        token: &str,
        sealed: &[u8],
    ) -> Result<DepositReceipt, DirectoryError> {
        // The url crate drops `.` and `..` segments; no username is that short.
        if matches!(recipient, "" | "." | "..") {
            return Err(DirectoryError::NotFound {
                username: recipient.to_owned(),
            });
        }
        warn_before_sending(&self.base, Secret::Token);
        let req = self.http.post(self.url(&["mailbox", recipient]));
        let req = req.bearer_auth(token).json(&DepositRequest::new(sealed));
        self.json(Op::Mail(MailOp::Deposit { recipient }), req)
            .await
    }

    /// Every message waiting in the mailbox of `token`'s owner, oldest first: walks all pages
    /// of `GET /mailbox`. Nothing is deleted; see [`DirectoryClient::delete_mail`].
    ///
    /// # Errors
    /// [`DirectoryError::TokenRejected`], the transport errors, or
    /// [`DirectoryError::UnexpectedResponse`] when an item is not valid base64 or the pages do
    /// not advance.
    pub async fn fetch_mailbox(&self, token: &str) -> Result<Vec<MailboxItem>, DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let mut all = Vec::new();
        let mut after: Option<MailId> = None;
        loop {
            let query = MailboxQuery {
                limit: Some(MAX_MAILBOX_PAGE_LIMIT),
                after: after.map(|id| id.to_string()),
            };
            let req = self.http.get(self.url(&["mailbox"])).query(&query);
            let page: MailboxPage = self
                .json(Op::Mail(MailOp::Fetch), req.bearer_auth(token))
                .await?;
            if let Some(bad) = page.messages.iter().find(|m| m.sealed_bytes().is_err()) {
                return Err(self.unexpected(&format!("mailbox message {} is not base64", bad.id)));
            }
            all.extend(page.messages);
            match page.next {
                None => return Ok(all),
                // A cursor that does not move forward would loop for ever.
                Some(next) if after.is_some_and(|a| next <= a) => {
                    return Err(self.unexpected("GET /mailbox returned a cursor that goes back"));
                }
                Some(next) => after = Some(next),
            }
        }
    }

    /// `DELETE /mailbox/{id}`: deletes one message of `token`'s owner, once it is stored
    /// safely on this side.
    ///
    /// # Errors
    /// [`DirectoryError::MailNotFound`] when it is gone already (deleted or expired),
    /// [`DirectoryError::TokenRejected`] and the transport errors.
    pub async fn delete_mail(&self, token: &str, id: MailId) -> Result<(), DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.url(&["mailbox", &id.to_string()]);
        let req = self.http.delete(url).bearer_auth(token);
        self.send(Op::Mail(MailOp::Delete { id }), req)
            .await
            .map(drop)
    }
}

/// The error for a mailbox request answered with `status` (other than 429, which is handled
/// for every request alike); `message` is the directory's explanation.
pub(crate) fn status_error(
    op: MailOp<'_>,
    url: &str,
    status: StatusCode,
    message: String,
) -> DirectoryError {
    match (status, op) {
        (StatusCode::INSUFFICIENT_STORAGE, MailOp::Deposit { recipient }) => {
            DirectoryError::MailboxFull {
                recipient: recipient.to_owned(),
                message,
            }
        }
        (StatusCode::PAYLOAD_TOO_LARGE, MailOp::Deposit { .. }) => {
            DirectoryError::MailTooLarge { message }
        }
        (StatusCode::NOT_FOUND, MailOp::Deposit { recipient }) => DirectoryError::NotFound {
            username: recipient.to_owned(),
        },
        (StatusCode::NOT_FOUND, MailOp::Delete { id }) => DirectoryError::MailNotFound { id },
        (StatusCode::NOT_FOUND, MailOp::Fetch) => DirectoryError::UnexpectedResponse {
            url: url.to_owned(),
            detail: "it has no mailbox (a directory older than this client?)".to_owned(),
        },
        (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => DirectoryError::TokenRejected,
        (StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE, _) => {
            DirectoryError::Invalid { message }
        }
        _ => DirectoryError::Server {
            status: status.as_u16(),
            message,
        },
    }
}
