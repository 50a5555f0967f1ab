//! Mail over SMTP (`YARDSTICK_SMTP_URL`): the daily reminder digest, and invitation and
//! password-reset links. Without a URL nothing is mailed and links are shown to copy.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends plain-text mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    // The URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`; `from` like `Yardstick <yardstick@example.org>`.
    pub fn from_url(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("YARDSTICK_SMTP_URL is not a usable SMTP address: {e}"))?
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("YARDSTICK_MAIL_FROM is not an address: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends one message; the error says why the server refused or could not be reached.
    pub async fn send(
        &self,
        to_name: &str,
        to_email: &str,
        subject: &str,
        body: String,
    ) -> anyhow::Result<()> {
        let to = Mailbox::new(Some(to_name.to_string()), to_email.parse()?);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)?;
        self.transport.send(message).await?;
        Ok(())
    }
}
