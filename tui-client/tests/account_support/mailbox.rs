//! `DirectoryClient`'s mailbox calls against a real directory: deposit, fetch every page,
//! delete, and each refusal decoded into its own error.

use p2p_chat::directory::{DirectoryClient, DirectoryError};
use p2p_chat_directory::Settings;
use p2p_chat_directory::mailbox::MailboxLimits;
use p2p_chat_protocol::api::{MAX_MAILBOX_PAGE_LIMIT, MailId, RegisterRequest};

use crate::account_support::{PASSWORD, directory_with};

/// More than one page, so fetching has to follow `next`.
const MESSAGES: usize = MAX_MAILBOX_PAGE_LIMIT as usize + 5;

async fn account(client: &DirectoryClient, name: &str) -> String {
    let request = RegisterRequest {
        username: name.to_owned(),
        password: PASSWORD.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: Some(4000),
        public_key: "ab".repeat(32),
        invite: None,
    };
    client.register(&request).await.unwrap();
    client.login(name, PASSWORD).await.unwrap().token
}

#[test]
fn mail_is_deposited_fetched_across_pages_and_deleted() {
    let dir = directory_with(Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        mailbox: MailboxLimits {
            max_messages: u32::try_from(MESSAGES).unwrap(),
            max_message_bytes: 1000,
            ..MailboxLimits::default()
        },
        ..Default::default()
    });
    dir.runtime.block_on(async {
        let client = DirectoryClient::new(&dir.url).unwrap();
        let alice = account(&client, "alice").await;
        let bob = account(&client, "bob").await;

        let mut receipts = Vec::new();
        for n in 0..MESSAGES {
            let sealed = format!("sealed #{n}").into_bytes();
            receipts.push(client.deposit("bob", &alice, &sealed).await.unwrap());
        }
        let mail = client.fetch_mailbox(&bob).await.unwrap();
        assert_eq!(mail.len(), MESSAGES);
        for (n, (item, receipt)) in mail.iter().zip(&receipts).enumerate() {
            assert_eq!(item.id, receipt.id);
            assert_eq!(
                item.sealed_bytes().unwrap(),
                format!("sealed #{n}").into_bytes()
            );
        }
        assert!(client.fetch_mailbox(&alice).await.unwrap().is_empty());

        let err = client
            .deposit("bob", &alice, b"one too many")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DirectoryError::MailboxFull { recipient, .. } if recipient == "bob")
        );
        let text = err.to_string();
        assert!(text.contains(&format!("{MESSAGES} messages")), "{text}");
        assert!(
            text.contains("try again after \"bob\" has fetched"),
            "{text}"
        );

        for item in &mail {
            client.delete_mail(&bob, item.id).await.unwrap();
        }
        assert!(client.fetch_mailbox(&bob).await.unwrap().is_empty());
        let gone = mail[0].id;
        let err = client.delete_mail(&bob, gone).await.unwrap_err();
        assert!(
            matches!(err, DirectoryError::MailNotFound { id } if id == gone),
            "{err}"
        );
        assert!(err.to_string().contains("already deleted or has expired"));
    });
}

#[test]
fn refusals_are_decoded_into_their_own_errors() {
    let dir = directory_with(Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        mailbox: MailboxLimits {
            max_message_bytes: 100,
            ..MailboxLimits::default()
        },
        ..Default::default()
    });
    dir.runtime.block_on(async {
        let client = DirectoryClient::new(&dir.url).unwrap();
        let alice = account(&client, "alice").await;
        let bob = account(&client, "bob").await;

        let err = client.deposit("bob", &alice, &[0; 101]).await.unwrap_err();
        assert!(matches!(err, DirectoryError::MailTooLarge { .. }), "{err}");
        assert!(err.to_string().contains("100 bytes"), "{err}");
        let err = client.deposit("nobody", &alice, b"x").await.unwrap_err();
        assert!(matches!(err, DirectoryError::NotFound { ref username } if username == "nobody"));
        for name in ["", ".", ".."] {
            let err = client.deposit(name, &alice, b"x").await.unwrap_err();
            assert!(
                matches!(err, DirectoryError::NotFound { .. }),
                "{name:?}: {err}"
            );
        }
        let err = client.deposit("bob", &alice, b"").await.unwrap_err();
        assert!(
            matches!(err, DirectoryError::Invalid { ref message } if message.contains("empty"))
        );

        let stale = "0".repeat(64);
        for err in [
            client.deposit("bob", &stale, b"x").await.unwrap_err(),
            client.fetch_mailbox(&stale).await.unwrap_err(),
            client.delete_mail(&stale, MailId::new()).await.unwrap_err(),
        ] {
            assert!(matches!(err, DirectoryError::TokenRejected), "{err}");
        }
        // Someone else's message is simply not there for me.
        let receipt = client.deposit("bob", &alice, b"for bob").await.unwrap();
        let err = client.delete_mail(&alice, receipt.id).await.unwrap_err();
        assert!(matches!(err, DirectoryError::MailNotFound { .. }), "{err}");
        assert_eq!(client.fetch_mailbox(&bob).await.unwrap().len(), 1);
    });
}

#[test]
fn a_mail_is_reported_once_while_its_answer_is_queued_behind_a_second_fetch() {
    use p2p_chat::app::{Action, MailEffect};
    use p2p_chat::delivery::mail::Mailer;
    use p2p_chat::identity::Identity;
    use p2p_chat::net::LocalPeer;
    use p2p_chat::presence::Account;
    use p2p_chat_protocol::sealed::{self, Mail};
    use p2p_chat_protocol::{MessageId, PeerMessage};
    use std::time::Duration;

    let dir = directory_with(Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        ..Default::default()
    });
    dir.runtime.block_on(async {
        let client = DirectoryClient::new(&dir.url).unwrap();
        let alice = account(&client, "alice").await;
        let bob = account(&client, "bob").await;
        let (alice_key, bob_key) = (Identity::generate().unwrap(), Identity::generate().unwrap());
        let mail = Mail {
            sender: "alice".into(),
            message: PeerMessage::Chat {
                id: MessageId::new(),
                sent_at_ms: 1,
                text: "hi".into(),
            },
        };
        let sealed = sealed::seal(alice_key.secret(), bob_key.public(), &mail).unwrap();
        client.deposit("bob", &alice, &sealed).await.unwrap();

        let (action_tx, mut actions) = tokio::sync::mpsc::channel(16);
        let mailer = Mailer {
            account: Account {
                client: client.clone(),
                username: "bob".into(),
                token: bob.clone(),
                fixed_port: None,
                relay_only: false,
            },
            local: LocalPeer {
                username: "bob".into(),
                listen_port: None,
                local_addr: None,
                identity: bob_key,
            },
            store: p2p_chat::store::LocalStore::in_memory().await.unwrap(),
            action_tx,
        };
        let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(mailer.work(queue));
        // Two fetches queued (a heartbeat's and a notice's) before the answer to the first.
        jobs.send(MailEffect::Fetch).unwrap();
        jobs.send(MailEffect::Fetch).unwrap();
        let first = actions.recv().await.unwrap();
        let Action::MailArrived { mail, .. } = first else {
            panic!("{first:?}")
        };
        // The second fetch, done before the answer came, reports nothing again.
        let quiet = tokio::time::timeout(Duration::from_millis(500), actions.recv()).await;
        assert!(quiet.is_err(), "reported again: {quiet:?}");
        // Answered: the mail goes, and a later fetch finds nothing.
        jobs.send(MailEffect::Discard { mail }).unwrap();
        jobs.send(MailEffect::Fetch).unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(500), actions.recv()).await;
        assert!(quiet.is_err(), "reported after its answer: {quiet:?}");
        assert!(client.fetch_mailbox(&bob).await.unwrap().is_empty());
    });
}
