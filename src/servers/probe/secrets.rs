//! Keeping passwords out of every message a probe produces.

use reqwest::Url;

use super::{non_empty, ProbeTarget};

/// Everything that must not appear in a message: the password, and any password in an HTTP URL.
pub(super) fn secrets_of(target: &ProbeTarget) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(p) = non_empty(&target.password) {
        secrets.push(p.to_owned());
    }
    if let Ok(url) = Url::parse(target.address.trim()) {
        if let Some(p) = url.password().filter(|p| !p.is_empty()) {
            secrets.push(p.to_owned());
            if let Ok(decoded) = percent_decode(p) {
                secrets.push(decoded);
            }
        }
    }
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// Replaces every occurrence of every secret with `********` and puts the message on one line.
pub(super) fn scrub(message: String, secrets: &[String]) -> String {
    fn one_line(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    fn replace_all(mut message: String, secrets: impl Iterator<Item = String>) -> String {
        for secret in secrets {
            if !secret.is_empty() && message.contains(secret.as_str()) {
                message = message.replace(secret.as_str(), "********");
            }
        }
        message
    }
    // Before and after flattening, so a password with spaces or newlines goes either way.
    let message = replace_all(message, secrets.iter().cloned());
    replace_all(one_line(&message), secrets.iter().map(|s| one_line(s)))
}

/// The address with any password in a URL replaced by `********`.
pub(super) fn redact_url_password(address: &str) -> String {
    match Url::parse(address.trim()) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("********"));
            url.to_string()
        }
        _ => address.to_owned(),
    }
}

pub(super) fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}
