//! argon2id hashes in PHC strings, computed in memory the caller keeps.
//!
//! The argon2 crate's `PasswordHasher` allocates 19 MiB per hash and frees it;
//! the allocator then keeps those chunks in per-thread arenas, so a burst of
//! logins left hundreds of megabytes behind. Here each hashing thread owns a
//! [`Workspace`] and every hash it computes reuses it.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// OWASP's argon2id settings: 19 MiB of memory, 2 passes, 1 lane, 32-byte output.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, Some(32)).expect("valid argon2 parameters")
}

/// One thread's argon2 memory, allocated at its first hash and reused after.
#[derive(Default)]
pub struct Workspace(Vec<Block>);

impl Workspace {
    /// `count` blocks of this workspace, resized when a stored hash asks for another size.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() != count {
            self.0 = vec![Block::default(); count];
        }
        &mut self.0
    }
}

/// Hashes `password` with a fresh salt into a PHC string.
pub fn hash(workspace: &mut Workspace, password: &[u8]) -> anyhow::Result<String> {
    let params = params();
    let salt = Salt::generate();
    let mut output = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password,
            &salt,
            &mut output,
            workspace.blocks(params.block_count()),
        )
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|e| anyhow::anyhow!("encoding argon2 parameters: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&output).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// True when `password` matches the PHC string `stored`, with the parameters the
/// string names. A malformed string never matches.
pub fn verify(workspace: &mut Workspace, password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = phc
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut output,
        workspace.blocks(params.block_count()),
    );
    // `Output` compares in constant time.
    computed.is_ok() && Output::new(&output).is_ok_and(|output| output == *expected)
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_phc_strings_that_verify() {
        let mut workspace = Workspace::default();
        let first = hash(&mut workspace, b"correct horse").unwrap();
        let second = hash(&mut workspace, b"correct horse").unwrap();
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second);
        assert!(verify(&mut workspace, b"correct horse", &first));
        assert!(!verify(&mut workspace, b"wrong horse", &first));
        assert!(!verify(&mut workspace, b"x", "not a hash"));
        assert!(!verify(
            &mut workspace,
            b"x",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"
        ));
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        let crate_hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let stored_by_crate = crate_hasher
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        let mut workspace = Workspace::default();
        assert!(verify(&mut workspace, b"correct horse", &stored_by_crate));
        assert!(!verify(&mut workspace, b"correct hors", &stored_by_crate));

        let stored_here = hash(&mut workspace, b"correct horse").unwrap();
        assert!(crate_hasher
            .verify_password(b"correct horse", stored_here.as_str())
            .is_ok());
        // Other parameters (an older hash) are honoured too, in a resized workspace.
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let older = light.hash_password(b"old one").unwrap().to_string();
        assert!(verify(&mut workspace, b"old one", &older));
        assert!(verify(&mut workspace, b"correct horse", &stored_here));
    }
}
