//! Order mail over SMTP with lettre (`SMTP_URL`, `SMTP_FROM`). Without `SMTP_URL` the shop
//! appends its mail to `<data dir>/mail.log` (`app::checkout::notify::MailLog`).

use std::time::Duration;

use app::checkout::notify::{Mail, MailError, Mailer};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends each mail over one SMTP connection of its own (order mail is a trickle; a failure
/// leaves the outbox row for the next try).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `url`: `smtp://host:port` (STARTTLS when offered), `smtp://host:587?tls=required`,
    /// `smtps://user:password@host:465`. `from`: `Shop <shop@example.com>` or an address.
    pub fn new(url: &str, from: &str) -> Result<Self, SmtpConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SmtpConfigError::Url(e.to_string()))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| SmtpConfigError::From { got: from.to_owned(), reason: e.to_string() })?;
        Ok(Self { transport, from })
    }
}

/// `SMTP_URL` or `SMTP_FROM` that cannot be used; the shop refuses to start with it.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("SMTP_URL: {0}")]
    Url(String),
    #[error("SMTP_FROM: {reason} (got \"{got}\")")]
    From { got: String, reason: String },
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to = mail.to.parse::<Mailbox>().map_err(|e| MailError::Recipient { to: mail.to.clone(), reason: e.to_string() })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| MailError::Transport(e.to_string()))
    }
}
