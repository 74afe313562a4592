//! Downloading certificates and CRLs over plain HTTP (NCA RK publishes them at
//! `http://` addresses; their integrity comes from their own signatures), bounded in
//! time and size, and the on-disk cache they land in.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Largest certificate or CRL we download (NCA CRLs are a few hundred KiB).
const MAX_DOWNLOAD: u64 = 32 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// GET `url`, returning the body.
pub fn download(url: &str) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err(format!("{url}: only http:// addresses are fetched"));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).build().into();
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    response.body_mut().with_config().limit(MAX_DOWNLOAD).read_to_vec().map_err(|e| format!("{url}: {e}"))
}

/// POST `body` to `url` (OCSP), returning the response body.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err(format!("{url}: only http:// addresses are used"));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).build().into();
    let mut response =
        agent.post(url).header("Content-Type", content_type).send(body).map_err(|e| format!("{url}: {e}"))?;
    response.body_mut().with_config().limit(MAX_DOWNLOAD).read_to_vec().map_err(|e| format!("{url}: {e}"))
}

/// The cache file for `url` in `dir`: the last path segment, made safe.
pub fn cache_path(dir: &Path, url: &str) -> PathBuf {
    let name: String = url
        .rsplit('/')
        .next()
        .unwrap_or("download")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' { c } else { '_' })
        .collect();
    dir.join(if name.is_empty() || name.starts_with('.') { format!("x{name}") } else { name })
}

/// Is the cached file younger than `max_age`?
pub fn is_fresh(path: &Path, max_age: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < max_age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_cannot_escape_the_directory() {
        let dir = Path::new("/cache");
        assert_eq!(cache_path(dir, "http://pki.gov.kz/cert/nca_rsa.crt"), dir.join("nca_rsa.crt"));
        assert_eq!(cache_path(dir, "http://x/../..").parent(), Some(dir));
        assert_eq!(cache_path(dir, "http://x/a%2F..%2Fb"), dir.join("a_2F.._2Fb"));
    }

    #[test]
    fn only_http_is_fetched() {
        assert!(download("file:///etc/passwd").is_err());
        assert!(download("https://example.kz/x").is_err());
    }
}
