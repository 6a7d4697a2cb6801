//! The server's one outbound HTTPS client, for calls to other services (the
//! OAuth token exchange now, REST and SOAP calls later). When the account has
//! a client certificate for the host being called, the TLS handshake
//! presents it. TLS is rustls with ring (the stack lettre already uses) and
//! HTTP/1.1 is hyper's client connection. Plain `http://` is allowed only to
//! loopback addresses, for local test providers.
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

/// How long a call may take in all, and how large an answer may be.
pub const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_BODY: usize = 1024 * 1024;

/// A client certificate chain and its private key.
pub struct ClientIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Why an outbound call failed, for the log (never shown to a browser as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundError(pub String);

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail(what: impl std::fmt::Display) -> OutboundError {
    OutboundError(what.to_string())
}

/// A call that ran out of time once its request was on its way: the other
/// side may have acted on it. (One that ran out connecting sent nothing.)
const UNANSWERED: &str = "sent, and not answered in time";

impl OutboundError {
    /// Whether the request was sent, perhaps acted on, and not answered.
    pub fn unanswered(&self) -> bool {
        self.0 == UNANSWERED
    }
}

/// A URL split into what a request needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

pub fn parse_url(url: &str) -> Result<Target, OutboundError> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(fail(format!("not an http(s) URL: {url}")));
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().map_err(|_| fail(format!("bad port in {url}")))?),
        None => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() || authority.contains('@') {
        return Err(fail(format!("bad host in {url}")));
    }
    if !tls && !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(fail("plain http is only for loopback test providers; use https"));
    }
    Ok(Target { tls, host: host.to_lowercase(), port, path: path.to_owned() })
}

pub struct Outbound {
    roots: Arc<RootCertStore>,
}

impl Outbound {
    /// Trusts the public web's certificate authorities (Mozilla's list).
    pub fn public() -> Self {
        let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        Outbound { roots: Arc::new(roots) }
    }

    /// Trusts exactly these authorities (tests, private networks).
    pub fn trusting(roots: RootCertStore) -> Self {
        Outbound { roots: Arc::new(roots) }
    }

    fn tls_config(&self, identity: Option<ClientIdentity>) -> Result<ClientConfig, OutboundError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(fail)?
            .with_root_certificates(self.roots.clone());
        match identity {
            Some(id) => builder.with_client_auth_cert(id.chain, id.key).map_err(fail),
            None => Ok(builder.with_no_client_auth()),
        }
    }

    /// Sends one request; `identity` is the account's certificate for this
    /// host, if it has one (see `certificates::identity_for`), and `bearer`
    /// the key it is authorized with, if any.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        form: Option<&[(&str, &str)]>,
        bearer: Option<&str>,
        identity: Option<ClientIdentity>,
    ) -> Result<Response, OutboundError> {
        let target = parse_url(url)?;
        let body = form.map(encode_form).unwrap_or_default();
        let mut request = http::Request::builder()
            .method(method)
            .uri(&target.path)
            .header(http::header::HOST, format!("{}:{}", target.host, target.port))
            .header(http::header::USER_AGENT, "VoiceConsole/1")
            .header(http::header::ACCEPT, "application/json");
        if form.is_some() {
            request =
                request.header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        if let Some(key) = bearer {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(fail)?;
        // Set once the connection is up and the request goes to it: a
        // timeout after that is `UNANSWERED`.
        let sending = std::sync::atomic::AtomicBool::new(false);
        let sent = || sending.store(true, std::sync::atomic::Ordering::Relaxed);
        let call = async {
            let tcp =
                tokio::net::TcpStream::connect((target.host.trim_matches(['[', ']']), target.port))
                    .await
                    .map_err(fail)?;
            if target.tls {
                let name = ServerName::try_from(target.host.clone()).map_err(fail)?;
                let connector =
                    tokio_rustls::TlsConnector::from(Arc::new(self.tls_config(identity)?));
                let tls = connector.connect(name, tcp).await.map_err(fail)?;
                sent();
                exchange(TokioIo::new(tls), request).await
            } else {
                sent();
                exchange(TokioIo::new(tcp), request).await
            }
        };
        tokio::time::timeout(TIMEOUT, call).await.map_err(|_| {
            match sending.load(std::sync::atomic::Ordering::Relaxed) {
                true => fail(UNANSWERED),
                false => fail("timed out before the request was sent"),
            }
        })?
    }
}

async fn exchange<T>(io: T, request: http::Request<Full<Bytes>>) -> Result<Response, OutboundError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(fail)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.map_err(fail)?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| fail(format!("reading the answer: {e}")))?
        .to_bytes();
    Ok(Response { status, body: String::from_utf8_lossy(&bytes).into_owned() })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded`, and query strings.
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("https://api.example.com/v1/charges?x=1").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (true, "api.example.com", 443, "/v1/charges?x=1")
        );
        let t = parse_url("http://127.0.0.1:9000").unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str()), (false, 9000, "/"));
        assert!(parse_url("http://api.example.com/").is_err(), "plain http only on loopback");
        assert!(parse_url("ftp://example.com/").is_err());
        assert!(parse_url("https://user@example.com/").is_err());
        assert_eq!(encode_form(&[("a b", "c&d")]), "a%20b=c%26d");
    }
}
