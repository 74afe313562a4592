//! The HTTP/1.1 request that opens every connection on our port: a WebSocket
//! upgrade, or a plain GET for the status page (people open
//! `https://127.0.0.1:13579` to check the certificate).
//!
//! We read the request head ourselves (bounded in size and time) so one port serves
//! both, then hand the stream to the WebSocket layer with whatever followed the head.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head we accept.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// What the opening request asked for.
#[derive(Debug)]
pub enum Opening {
    /// A WebSocket upgrade: the `Sec-WebSocket-Key`, the `Origin` if any, and bytes
    /// already read past the head.
    Upgrade { key: String, origin: Option<String>, rest: Vec<u8> },
    /// Any other request: method and path; `typed`: the person opened it themselves
    /// (`Sec-Fetch-Site: none`: typed, a bookmark), not another page (an image, a frame).
    Plain { method: String, path: String, typed: bool },
}

/// Read and parse the request head. `None`: the peer closed or sent garbage.
pub async fn read_opening<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<Opening>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => return Ok(Some(classify(&request, buf[len..].to_vec()))),
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            _ => return Ok(None),
        }
    }
}

fn classify(request: &httparse::Request<'_, '_>, rest: Vec<u8>) -> Opening {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let upgrade = header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    match (upgrade, header("sec-websocket-key")) {
        (true, Some(key)) if request.method == Some("GET") => Opening::Upgrade {
            key: key.to_owned(),
            origin: header("origin").filter(|o| !o.is_empty()).map(str::to_owned),
            rest,
        },
        _ => Opening::Plain {
            method: request.method.unwrap_or_default().to_owned(),
            path: request.path.unwrap_or_default().to_owned(),
            typed: header("sec-fetch-site").is_some_and(|v| v.eq_ignore_ascii_case("none")),
        },
    }
}

/// Accept the WebSocket upgrade (RFC 6455 §4.2.2).
pub async fn write_upgrade<S: AsyncWrite + Unpin>(stream: &mut S, key: &str) -> std::io::Result<()> {
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}

/// Refuse an upgrade: every connection slot is busy with a request.
pub async fn write_busy<S: AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<()> {
    let body = "qoltanba is busy: every connection has a request pending. Try again.\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}

/// Answer a plain request: the status page for GET/HEAD `/`, 404 or 405 otherwise.
pub async fn write_plain<S: AsyncWrite + Unpin>(
    stream: &mut S,
    method: &str,
    path: &str,
    ca_path: &str,
    report: Option<&str>,
) -> std::io::Result<()> {
    let (status, body) = match (method, path.split('?').next().unwrap_or("/")) {
        ("GET" | "HEAD", "/") => ("200 OK", status_page(ca_path, report.unwrap_or_default())),
        ("GET" | "HEAD", _) => ("404 Not Found", "Not found\n".to_owned()),
        _ => ("405 Method Not Allowed", "Method not allowed\n".to_owned()),
    };
    let content_type = if status.starts_with("200") { "text/html; charset=utf-8" } else { "text/plain; charset=utf-8" };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn status_page(ca_path: &str, report: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let ca_path = escape_html(ca_path);
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qoltanba {version}</title>
<style>body{{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.4}}code{{background:#eee;padding:0 .2em}}
.checks{{list-style:none;padding:0}}.checks li{{margin:.4em 0;padding:.3em .6em;border-left:.3em solid #bbb}}
.checks .ok{{border-color:#2a2}}.checks .warning{{border-color:#e90}}.checks .problem{{border-color:#d22}}</style></head>
<body>
<h1>qoltanba {version} is running</h1>
<p>qoltanba is an NCALayer-compatible signing service. Web pages connect to
<code>wss://127.0.0.1:13579</code> and ask it to sign; every signature needs your approval in qoltanba's own window.</p>
<p>If you see this page without a certificate warning, your browser trusts qoltanba's local certificate authority and pages can connect.</p>
{report}
<h2>Trusting the local CA</h2>
<p>The CA certificate is at <code>{ca_path}</code>. It is restricted to 127.0.0.1, ::1 and localhost, so it cannot vouch for any other site.
Run <code>qoltanba trust install</code> to add it to every browser of yours, and <code>qoltanba doctor</code> for this check in a terminal.</p>
<p lang="ru">qoltanba работает. Это совместимая с NCALayer служба подписи.</p>
<p lang="kk">qoltanba жұмыс істеп тұр. Бұл NCALayer-мен үйлесімді қол қою қызметі.</p>
</body></html>
"#
    )
}

/// `text` for an HTML page, as element content or a quoted attribute value.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
