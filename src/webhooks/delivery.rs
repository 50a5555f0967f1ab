//! Draining the webhook queue. Any server may run `deliver_due`: it leases due deliveries
//! with `FOR UPDATE SKIP LOCKED` (so two servers never send the same one at once), posts
//! each signed body, and records the answer. A failure is retried with backoff (30 s, 2
//! min, 8 min, … up to 6 h) until `MAX_ATTEMPTS`; a server that dies mid-send leaves a
//! lease that expires, and the delivery is sent again (receivers dedupe on
//! `X-Yardstick-Delivery`). An endpoint turned off keeps its queue until it is on again.
//!
//! Each request carries `X-Yardstick-Signature: t=<unix seconds>,v1=<hex>`, where the hex
//! is HMAC-SHA256 with the endpoint's secret over `<t>.<body>`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use uuid::Uuid;

/// Attempts before a delivery is given up as failed.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long one attempt may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a lease lasts: longer than an attempt.
const LEASE_SECONDS: i64 = 60;

/// The wait before attempt `attempts + 1`: 30 s × 4^(attempts − 1), at most 6 hours.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let seconds = 30i64.saturating_mul(4i64.saturating_pow(attempts.saturating_sub(1) as u32));
    chrono::Duration::seconds(seconds.min(6 * 3600))
}

/// `t=<unix>,v1=<hex hmac>` for `body` sent at `at`.
pub fn signature(secret: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    let t = at.timestamp();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

#[derive(Debug, sqlx::FromRow)]
struct Leased {
    id: Uuid,
    event: String,
    payload: serde_json::Value,
    attempts: i32,
    url: String,
    secret: String,
}

/// How one attempt ended: the HTTP status, or why there was none.
type Answer = Result<u16, String>;

/// The TLS settings for https endpoints: the web's public roots.
fn tls() -> Arc<tokio_rustls::rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<tokio_rustls::rustls::ClientConfig>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = tokio_rustls::rustls::RootCertStore::from_iter(
                webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
            );
            let provider = tokio_rustls::rustls::crypto::ring::default_provider();
            let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider.into())
                .with_safe_default_protocol_versions()
                .expect("the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// Posts `body` to `url` with `headers`; the status, or what went wrong.
async fn post(url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err("the URL must start with http:// or https://".into()),
    };
    let host = uri.host().ok_or("the URL has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let mut request = hyper::Request::post(path)
        .header(
            hyper::header::HOST,
            uri.authority().map(|a| a.as_str()).unwrap_or(&host),
        )
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "Yardstick-Webhooks/1");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    if https {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("not a host name: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(tls())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        send(TokioIo::new(stream), request).await
    } else {
        send(TokioIo::new(tcp), request).await
    }
}

async fn send<T>(io: T, request: hyper::Request<Full<Bytes>>) -> Answer
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    // Only the status counts: the body is not read (whatever its size).
    Ok(response.status().as_u16())
}

/// One attempt at a leased delivery.
async fn attempt(delivery: &Leased, now: DateTime<Utc>) -> Answer {
    let body = serde_json::to_vec(&delivery.payload).map_err(|e| e.to_string())?;
    let headers = [
        ("x-yardstick-event", delivery.event.clone()),
        ("x-yardstick-delivery", delivery.id.to_string()),
        (
            "x-yardstick-signature",
            signature(&delivery.secret, now, &body),
        ),
    ];
    match tokio::time::timeout(TIMEOUT, post(&delivery.url, &headers, body)).await {
        Ok(answer) => answer,
        Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

/// Sends up to `limit` due deliveries; answers how many were attempted. `now` is the
/// application's clock.
pub async fn deliver_due(
    db: &crate::db::Db,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<usize> {
    let leased: Vec<Leased> = sqlx::query_as(
        "WITH due AS (
             SELECT d.id FROM webhook_deliveries d
               JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.active
              WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                AND (d.leased_until IS NULL OR d.leased_until <= $1)
              ORDER BY d.next_attempt_at
              LIMIT $2
                FOR UPDATE OF d SKIP LOCKED)
         UPDATE webhook_deliveries d
            SET leased_until = $1 + make_interval(secs => $3), attempts = d.attempts + 1
           FROM due, webhook_endpoints w
          WHERE d.id = due.id AND w.id = d.endpoint_id
         RETURNING d.id, d.event, d.payload, d.attempts, w.url, w.secret",
    )
    .bind(now)
    .bind(limit)
    .bind(LEASE_SECONDS as f64)
    .fetch_all(db)
    .await?;
    for delivery in &leased {
        let answer = attempt(delivery, now).await;
        let (state, next, status, error) = match &answer {
            Ok(status) if (200..300).contains(status) => {
                ("delivered", now, Some(*status), String::new())
            }
            _ => {
                let (status, error) = match &answer {
                    Ok(status) => (Some(*status), format!("answered {status}")),
                    Err(error) => (None, error.clone()),
                };
                let state = if delivery.attempts >= MAX_ATTEMPTS {
                    "failed"
                } else {
                    "pending"
                };
                (state, now + backoff(delivery.attempts), status, error)
            }
        };
        sqlx::query(
            "UPDATE webhook_deliveries
                SET state = $2, next_attempt_at = $3, leased_until = NULL, last_status = $4, last_error = $5,
                    delivered_at = CASE WHEN $2 = 'delivered' THEN $6 END
              WHERE id = $1",
        )
        .bind(delivery.id)
        .bind(state)
        .bind(next)
        .bind(status.map(i32::from))
        .bind(error.chars().take(500).collect::<String>())
        .bind(now)
        .execute(db)
        .await?;
    }
    Ok(leased.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_six_hours() {
        let waits: Vec<i64> = (1..=8).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits, [30, 120, 480, 1920, 7680, 21600, 21600, 21600]);
    }

    #[test]
    fn the_signature_is_the_hmac_of_the_time_and_the_body() {
        let at = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        // HMAC-SHA256("whsec_test", "1780000000.{}"), computed independently with openssl.
        assert_eq!(
            signature("whsec_test", at, b"{}"),
            "t=1780000000,v1=b609026af9e57aacaa80bc40f33504841d55b898bf7a94ef9c45d964ea2171a4"
        );
    }
}
