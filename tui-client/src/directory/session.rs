//! Ending logins: `POST /logout` and `PUT /clients/{username}/password`.

use p2p_chat_protocol::api::PasswordChangeRequest;

use super::error::Op;
use super::transport::{Secret, warn_before_sending};
use super::{DirectoryClient, DirectoryError};

impl DirectoryClient {
    /// `POST /logout`: revokes `token` on the directory.
    ///
    /// # Errors
    /// [`DirectoryError::TokenRejected`] when the token was not valid anymore (expired,
    /// revoked: either way it no longer works), and the transport errors.
    pub async fn logout(&self, token: &str) -> Result<(), DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let req = self.http.post(self.url(&["logout"])).bearer_auth(token);
        self.send(Op::Logout, req).await.map(drop)
    }

    /// `PUT /clients/{username}/password`: changes the password. On success the directory
    /// revokes every token of the user, `token` included: log in again with `new_password`.
    ///
    /// # Errors
    /// [`DirectoryError::WrongPassword`] when `old_password` is wrong,
    /// [`DirectoryError::TokenRejected`], [`DirectoryError::Invalid`] for a new password the
    /// directory refuses, and the transport errors.
    pub async fn change_password(
        &self,
        username: &str,
        token: &str,
        old_password: &str,
        new_password: &str,
    ) -> Result<(), DirectoryError> {
        let body = PasswordChangeRequest {
            old_password: old_password.to_owned(),
            new_password: new_password.to_owned(),
        };
        warn_before_sending(&self.base, Secret::Password);
        let url = self.user_url(username, &["password"])?;
        let req = self.http.put(url).bearer_auth(token).json(&body);
        self.send(Op::PasswordChange { username }, req)
            .await
            .map(drop)
    }
}
