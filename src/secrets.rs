//! Credentials encrypted at rest with XChaCha20-Poly1305.
//!
//! A sealed value is `v1:` followed by standard base64 (with padding) of the
//! 24-byte random nonce and the ciphertext with its 16-byte tag. The key lives
//! in the file `credential-key` in the data directory (base64, mode 0600),
//! unless one is configured. For key rotation, [`SecretBox::with_previous`]
//! keeps the old key around for opening; [`SecretBox::needs_reseal`] says
//! which stored values still use it.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Generate, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// Name of the key file inside the data directory.
pub const KEY_FILE_NAME: &str = "credential-key";

/// Prefix of every value sealed by this version of the format.
const PREFIX_V1: &str = "v1:";
/// XChaCha20 nonce length in bytes.
const NONCE_LEN: usize = 24;
/// Poly1305 tag length in bytes.
const TAG_LEN: usize = 16;

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The value does not start with a known version prefix such as `v1:`.
    #[error("sealed value has an unknown format (expected a \"v1:\" prefix)")]
    UnknownFormat,
    /// The value is not valid base64 or is too short to hold a nonce and tag.
    #[error("sealed value is malformed")]
    Malformed,
    /// No key opened the value: it was sealed with another key or was tampered with.
    #[error("sealed value could not be decrypted (wrong key or tampered data)")]
    Decrypt,
    /// The decrypted bytes are not UTF-8 text.
    #[error("decrypted value is not valid UTF-8")]
    NotUtf8,
}

/// Seals and opens secrets with a 32-byte key, optionally also opening with a previous key.
#[derive(Clone)]
pub struct SecretBox {
    current: XChaCha20Poly1305,
    previous: Option<XChaCha20Poly1305>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("key", &"<redacted>")
            .field("has_previous", &self.previous.is_some())
            .finish()
    }
}

impl SecretBox {
    /// Builds a box from raw key bytes.
    pub fn from_key_bytes(key: &[u8; 32]) -> Self {
        let key = Key::from(*key);
        Self {
            current: XChaCha20Poly1305::new(&key),
            previous: None,
        }
    }

    /// Builds a box from a base64 key (standard alphabet; surrounding whitespace ignored).
    pub fn from_base64_key(encoded: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .context("credential key is not valid base64")?;
        let key: [u8; 32] = match bytes.try_into() {
            Ok(key) => key,
            Err(bytes) => bail!("credential key must be 32 bytes, got {}", bytes.len()),
        };
        Ok(Self::from_key_bytes(&key))
    }

    /// Generates a fresh random key and returns it base64-encoded (for writing to config or a file).
    pub fn generate_base64_key() -> anyhow::Result<String> {
        let key = Key::try_generate()
            .map_err(|e| anyhow::anyhow!("system random generator failed: {e}"))?;
        Ok(STANDARD.encode(key.as_slice()))
    }

    /// Uses the configured base64 key if given (blank counts as not given), else the key
    /// file `credential-key` in `data_dir`, creating it with mode 0600 on first use.
    pub fn load_or_generate(data_dir: &Path, configured: Option<&str>) -> anyhow::Result<Self> {
        if let Some(configured) = configured.filter(|c| !c.trim().is_empty()) {
            return Self::from_base64_key(configured).context("configured credential key");
        }
        let path = data_dir.join(KEY_FILE_NAME);
        match fs::read_to_string(&path) {
            Ok(text) => {
                return Self::from_base64_key(&text)
                    .with_context(|| format!("key file {}", path.display()));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let encoded = Self::generate_base64_key()?;
        match create_private_file(&path) {
            Ok(mut file) => {
                file.write_all(format!("{encoded}\n").as_bytes())
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("writing {}", path.display()))?;
                Self::from_base64_key(&encoded)
            }
            // Another process created it between our read and our create: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Self::from_base64_key(&text).with_context(|| format!("key file {}", path.display()))
            }
            Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }

    /// Returns `current` that also opens values sealed with `previous` (for key rotation).
    pub fn with_previous(current: SecretBox, previous: Option<SecretBox>) -> Self {
        Self {
            current: current.current,
            previous: previous.map(|p| p.current),
        }
    }

    /// Encrypts `plaintext` with the current key and a random nonce: `v1:` + base64(nonce || ciphertext).
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XNonce::try_generate().expect("system random generator failed");
        let ciphertext = self
            .current
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        raw.extend_from_slice(nonce.as_slice());
        raw.extend_from_slice(&ciphertext);
        format!("{PREFIX_V1}{}", STANDARD.encode(raw))
    }

    /// Decrypts a sealed value with the current key, then the previous one.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        self.open_with_source(sealed).map(|(text, _)| text)
    }

    /// True when `sealed` opens only with the previous key, so it should be sealed again.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        matches!(self.open_with_source(sealed), Ok((_, KeyUsed::Previous)))
    }

    /// Opens `sealed` and seals it again with the current key (for rotation jobs).
    pub fn reseal(&self, sealed: &str) -> Result<String, SecretError> {
        self.open(sealed).map(|plain| self.seal(&plain))
    }

    fn open_with_source(&self, sealed: &str) -> Result<(String, KeyUsed), SecretError> {
        let body = sealed
            .trim()
            .strip_prefix(PREFIX_V1)
            .ok_or(SecretError::UnknownFormat)?;
        let raw = STANDARD.decode(body).map_err(|_| SecretError::Malformed)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SecretError::Malformed)?;
        let (plain, used) = match self.current.decrypt(&nonce, ciphertext) {
            Ok(plain) => (plain, KeyUsed::Current),
            Err(_) => {
                let previous = self.previous.as_ref().ok_or(SecretError::Decrypt)?;
                let plain = previous
                    .decrypt(&nonce, ciphertext)
                    .map_err(|_| SecretError::Decrypt)?;
                (plain, KeyUsed::Previous)
            }
        };
        let text = String::from_utf8(plain).map_err(|_| SecretError::NotUtf8)?;
        Ok((text, used))
    }
}

/// Which key opened a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyUsed {
    Current,
    Previous,
}

/// Creates a new file readable and writable by the owner only; fails if it exists.
pub(crate) fn create_private_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretBox {
        SecretBox::from_key_bytes(&[byte; 32])
    }

    #[test]
    fn round_trip_and_format() {
        let sb = key(1);
        let sealed = sb.seal("hunter2 ünïcode");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("hunter2"));
        let raw = STANDARD.decode(&sealed[3..]).unwrap();
        assert_eq!(raw.len(), NONCE_LEN + "hunter2 ünïcode".len() + TAG_LEN);
        assert_eq!(sb.open(&sealed).unwrap(), "hunter2 ünïcode");
        assert_eq!(sb.open(&sb.seal("")).unwrap(), "");
    }

    #[test]
    fn nonces_are_random() {
        let sb = key(1);
        assert_ne!(sb.seal("same"), sb.seal("same"));
    }

    #[test]
    fn tampering_is_detected() {
        let sb = key(1);
        let sealed = sb.seal("secret");
        let mut raw = STANDARD.decode(&sealed[3..]).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 0x01;
            let tampered = format!("v1:{}", STANDARD.encode(&raw));
            assert_eq!(sb.open(&tampered), Err(SecretError::Decrypt));
            raw[i] ^= 0x01;
        }
        assert_eq!(sb.open("secret"), Err(SecretError::UnknownFormat));
        assert_eq!(sb.open("v2:AAAA"), Err(SecretError::UnknownFormat));
        assert_eq!(sb.open("v1:!!!"), Err(SecretError::Malformed));
        assert_eq!(sb.open("v1:AAAA"), Err(SecretError::Malformed));
        assert_eq!(sb.open(""), Err(SecretError::UnknownFormat));
        // Truncated ciphertext.
        let short = format!("v1:{}", STANDARD.encode(&raw[..raw.len() - 1]));
        assert_eq!(sb.open(&short), Err(SecretError::Decrypt));
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = key(1).seal("secret");
        assert_eq!(key(2).open(&sealed), Err(SecretError::Decrypt));
        assert!(!key(2).needs_reseal(&sealed));
    }

    #[test]
    fn rotation_opens_old_values_and_flags_them() {
        let old = key(1);
        let old_sealed = old.seal("old secret");
        let rotated = SecretBox::with_previous(key(2), Some(key(1)));
        assert_eq!(rotated.open(&old_sealed).unwrap(), "old secret");
        assert!(rotated.needs_reseal(&old_sealed));

        let new_sealed = rotated.seal("new secret");
        assert!(!rotated.needs_reseal(&new_sealed));
        assert_eq!(old.open(&new_sealed), Err(SecretError::Decrypt));
        assert_eq!(key(2).open(&new_sealed).unwrap(), "new secret");

        let resealed = rotated.reseal(&old_sealed).unwrap();
        assert!(!rotated.needs_reseal(&resealed));
        assert_eq!(key(2).open(&resealed).unwrap(), "old secret");

        // A value sealed with neither key still fails, and is not flagged.
        let foreign = key(3).seal("x");
        assert_eq!(rotated.open(&foreign), Err(SecretError::Decrypt));
        assert!(!rotated.needs_reseal(&foreign));
        // Without a previous key, old values do not open.
        let no_previous = SecretBox::with_previous(key(2), None);
        assert_eq!(no_previous.open(&old_sealed), Err(SecretError::Decrypt));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("nested").join("data");
        let first = SecretBox::load_or_generate(&data_dir, None).unwrap();
        let path = data_dir.join(KEY_FILE_NAME);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(STANDARD.decode(text.trim()).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "key file mode is {mode:o}");
        }
        let sealed = first.seal("persisted");
        let second = SecretBox::load_or_generate(&data_dir, Some("  ")).unwrap();
        assert_eq!(second.open(&sealed).unwrap(), "persisted");
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "file rewritten");
    }

    #[test]
    fn configured_key_wins_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let configured = STANDARD.encode([7u8; 32]);
        let sb = SecretBox::load_or_generate(dir.path(), Some(&configured)).unwrap();
        assert_eq!(key(7).open(&sb.seal("x")).unwrap(), "x");
        assert!(!dir.path().join(KEY_FILE_NAME).exists());

        let short = STANDARD.encode([7u8; 16]);
        let err = SecretBox::load_or_generate(dir.path(), Some(&short)).unwrap_err();
        assert!(format!("{err:#}").contains("32 bytes"), "{err:#}");
        assert!(SecretBox::load_or_generate(dir.path(), Some("not base64!")).is_err());
    }

    #[test]
    fn corrupt_key_file_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        fs::write(&path, "garbage").unwrap();
        assert!(SecretBox::load_or_generate(dir.path(), None).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "garbage");
    }

    #[test]
    fn debug_does_not_show_key() {
        let text = format!("{:?}", key(0xAB));
        assert!(text.contains("redacted"));
    }

    #[test]
    fn generated_keys_differ() {
        let a = SecretBox::generate_base64_key().unwrap();
        let b = SecretBox::generate_base64_key().unwrap();
        assert_ne!(a, b);
        assert!(SecretBox::from_base64_key(&a).is_ok());
    }
}
