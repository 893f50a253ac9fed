//! Access tokens (HS256 JWTs) and refresh tokens (opaque, stored hashed).

use std::path::Path;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::AuthConfig;
use crate::secrets::create_private_file;

/// File in the data directory that holds the generated signing key.
pub const JWT_KEY_FILE: &str = "jwt-secret";
/// Prefix that makes refresh tokens recognisable in a leak scan.
const REFRESH_TOKEN_PREFIX: &str = "twr_";

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Login session (token family) the token belongs to.
    pub fam: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

/// Signs and checks tokens with one HS256 key.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Access token lifetime in seconds.
    pub access_ttl: i64,
    /// Refresh token lifetime in seconds.
    pub refresh_ttl: i64,
}

impl TokenIssuer {
    /// Uses the configured key, or the one generated into `data_dir` (made on first start).
    pub fn load(config: &AuthConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let secret = match &config.jwt_secret {
            Some(secret) if secret.len() < 32 => {
                anyhow::bail!("TIDEWATCH_JWT_SECRET must be at least 32 characters")
            }
            Some(secret) => secret.as_bytes().to_vec(),
            None => load_or_generate_key(&data_dir.join(JWT_KEY_FILE))?,
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            access_ttl: i64::try_from(config.access_token_ttl).context("access token TTL")?,
            refresh_ttl: i64::try_from(config.refresh_token_ttl).context("refresh token TTL")?,
        })
    }

    /// A fresh access token for `user_id` in the session `family_id`.
    pub fn issue_access_token(&self, user_id: &str, family_id: &str) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            fam: family_id.to_owned(),
            iat: now,
            exp: now + self.access_ttl,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("signing access token")
    }

    /// Checks signature, algorithm and expiry; returns the claims.
    pub fn verify_access_token(&self, token: &str) -> Option<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .ok()
    }
}

/// A new refresh token: the text handed to the client and the hash that is stored.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{REFRESH_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex_encode(&Sha256::digest(token.as_bytes()))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the key at `path`, or creates one readable only by its owner.
fn load_or_generate_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return URL_SAFE_NO_PAD
            .decode(text.trim())
            .with_context(|| format!("decoding {}", path.display()));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut key = vec![0u8; 64];
    rand::rng().fill_bytes(&mut key);
    let mut file =
        create_private_file(path).with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, URL_SAFE_NO_PAD.encode(&key).as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new token signing key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn issuer(dir: &Path) -> TokenIssuer {
        TokenIssuer::load(&Config::with_data_dir(dir).auth, dir).unwrap()
    }

    #[test]
    fn generated_key_is_kept_so_tokens_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let token = issuer(dir.path()).issue_access_token("u1", "f1").unwrap();
        let claims = issuer(dir.path()).verify_access_token(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.fam.as_str()), ("u1", "f1"));
        let other = tempfile::tempdir().unwrap();
        assert!(issuer(other.path()).verify_access_token(&token).is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (first, first_hash) = new_refresh_token();
        let (second, _) = new_refresh_token();
        assert_ne!(first, second);
        assert_eq!(hash_refresh_token(&first), first_hash);
        assert!(!first_hash.contains(&first));
    }
}
