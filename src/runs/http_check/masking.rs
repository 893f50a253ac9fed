//! The one masking step: an outcome built from what was sent and received
//! becomes the outcome recorded, every text field masked.
//!
//! Masked as [`MASK`]: every secret (also URL-form- and JSON-encoded), and
//! values of sensitive request headers (4 bytes or longer) wherever they
//! reappear; sensitive headers' values are always [`MASK`] in records.

use crate::cases::spec::KeyValue;

use super::{
    AssertionOutcome, HttpCaseOutcome, RequestFailure, RequestRecord, ResponseRecord,
    EXCERPT_BYTES, MASK,
};

/// Largest `expected`/`actual` text recorded for an assertion, in bytes.
const MAX_DETAIL_BYTES: usize = 1024;
/// Shortest sensitive header value also masked wherever it appears.
const MIN_HEADER_SECRET: usize = 4;

/// Replaces secrets (and their URL- and JSON-encoded forms) with [`MASK`].
pub(super) struct Masker {
    needles: Vec<String>,
}

impl Masker {
    pub(super) fn new(secrets: &[String]) -> Self {
        let mut needles: Vec<String> = Vec::new();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            let json = serde_json::to_string(secret).unwrap_or_default();
            let json = json.trim_matches('"').to_string();
            for needle in [secret.clone(), form, json] {
                if !needle.is_empty() && !needles.contains(&needle) {
                    needles.push(needle);
                }
            }
        }
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        Self { needles }
    }

    pub(super) fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        out
    }

    /// Also masks a sensitive header's value, and its credentials after an auth scheme.
    pub(super) fn add_header_value(&mut self, value: &str) {
        let value = value.trim();
        let credentials = value.split_once(' ').map(|(_, rest)| rest.trim());
        for needle in std::iter::once(value).chain(credentials) {
            // Very short values would mask unrelated text.
            if needle.len() >= MIN_HEADER_SECRET && !self.needles.iter().any(|n| n == needle) {
                self.needles.push(needle.to_string());
            }
        }
        self.needles
            .sort_by_key(|needle| std::cmp::Reverse(needle.len()));
    }

    fn longest(&self) -> usize {
        self.needles.first().map_or(0, String::len)
    }

    /// The start of a body as text, long enough to become an excerpt once masked:
    /// it reads past [`EXCERPT_BYTES`] by the longest secret, so that one straddling
    /// the cut is still masked.
    pub(super) fn unmasked_excerpt(&self, bytes: &[u8]) -> String {
        lossy_prefix(bytes, EXCERPT_BYTES + self.longest())
    }

    /// An excerpt as recorded: masked, then cut to [`EXCERPT_BYTES`].
    pub(super) fn excerpt(&self, unmasked: &str) -> String {
        truncate_at_boundary(self.mask(unmasked), EXCERPT_BYTES)
    }

    fn headers(&self, headers: Vec<KeyValue>) -> Vec<KeyValue> {
        headers
            .into_iter()
            .map(|kv| KeyValue {
                value: if is_sensitive_header(&kv.name) {
                    MASK.to_string()
                } else {
                    self.mask(&kv.value)
                },
                name: kv.name,
            })
            .collect()
    }

    /// The outcome as recorded: every text masked (captures included), excerpts and
    /// assertion details cut to size. The one place an outcome is masked.
    pub(super) fn outcome(&self, unmasked: HttpCaseOutcome) -> HttpCaseOutcome {
        let HttpCaseOutcome {
            status,
            duration_ms,
            request,
            response,
            assertions,
            captures,
            error,
        } = unmasked;
        let RequestRecord {
            method,
            url,
            headers,
            body_excerpt,
        } = request;
        HttpCaseOutcome {
            status,
            duration_ms,
            request: RequestRecord {
                method,
                url: self.mask(&url),
                headers: self.headers(headers),
                body_excerpt: body_excerpt.map(|excerpt| self.excerpt(&excerpt)),
            },
            response: response.map(|response| {
                let ResponseRecord {
                    status,
                    headers,
                    body_excerpt,
                    body_bytes,
                } = response;
                ResponseRecord {
                    status,
                    headers: self.headers(headers),
                    body_excerpt: self.excerpt(&body_excerpt),
                    body_bytes,
                }
            }),
            assertions: assertions
                .into_iter()
                .map(|assertion| {
                    let AssertionOutcome {
                        index,
                        kind,
                        description,
                        expected,
                        actual,
                        passed,
                    } = assertion;
                    AssertionOutcome {
                        index,
                        kind,
                        description: clip(self.mask(&description)),
                        expected: clip(self.mask(&expected)),
                        actual: clip(self.mask(&actual)),
                        passed,
                    }
                })
                .collect(),
            captures: captures
                .into_iter()
                .map(|capture| KeyValue {
                    value: self.mask(&capture.value),
                    name: capture.name,
                })
                .collect(),
            error: error.map(|failure| RequestFailure {
                kind: failure.kind,
                message: self.mask(&failure.message),
            }),
        }
    }
}

/// Whether a header's value is always masked in records.
pub(super) fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "x-api-key"
    ) || ["token", "secret", "key", "password"]
        .iter()
        .any(|word| name.contains(word))
}

/// UTF-8 lossy text of at most `limit` bytes, without a broken character at a cut end.
fn lossy_prefix(bytes: &[u8], limit: usize) -> String {
    let cut = bytes.len() > limit;
    let slice = &bytes[..bytes.len().min(limit)];
    let mut out = String::with_capacity(slice.len());
    let mut chunks = slice.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        out.push_str(chunk.valid());
        // Invalid bytes at a cut end are a character split by the cut: drop them.
        let split_at_cut = cut && chunks.peek().is_none();
        if !chunk.invalid().is_empty() && !split_at_cut {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    out
}

fn truncate_at_boundary(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn clip(text: String) -> String {
    if text.len() <= MAX_DETAIL_BYTES {
        return text;
    }
    let mut clipped = truncate_at_boundary(text, MAX_DETAIL_BYTES);
    clipped.push('…');
    clipped
}
