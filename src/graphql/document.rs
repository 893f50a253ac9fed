//! Cheap lexical passes over a GraphQL document, run before the parser sees it.
//!
//! The parser recurses on nested lists, objects and selections, so a small
//! document nested a few thousand levels deep overflows a worker's stack. The
//! nesting check is one linear scan with no recursion. The same scan gives a
//! hash of the document's shape for logs: literals are left out, so the hash
//! says nothing about a password written inline.

use sha2::{Digest, Sha256};

/// One lexical token; string and number literals carry no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A name or keyword.
    Name(&'a str),
    /// A string or block string literal.
    Text,
    /// An integer or float literal.
    Number,
    /// Any other character (punctuators, and stray bytes the parser will refuse).
    Punctuator(u8),
}

/// Splits a document into tokens, skipping white space, commas and comments.
struct Tokens<'a> {
    source: &'a str,
    position: usize,
}

impl<'a> Tokens<'a> {
    fn new(source: &'a str) -> Self {
        Self {
            source,
            position: 0,
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.source.as_bytes()[self.position..]
    }

    /// Moves past a `"…"` string: up to the closing quote, or the end of the line.
    fn skip_string(&mut self) {
        let bytes = self.rest();
        let mut index = 1;
        while let Some(&byte) = bytes.get(index) {
            match byte {
                b'\\' => index += 2,
                b'"' => {
                    index += 1;
                    break;
                }
                b'\n' | b'\r' => break,
                _ => index += 1,
            }
        }
        self.position += index.min(bytes.len());
    }

    /// Moves past a `"""…"""` block string, where `\"""` does not close it.
    fn skip_block_string(&mut self) {
        let bytes = self.rest();
        let mut index = 3;
        while index < bytes.len() {
            if bytes[index..].starts_with(br#"\""""#) {
                index += 4;
            } else if bytes[index..].starts_with(br#"""""#) {
                index += 3;
                break;
            } else {
                index += 1;
            }
        }
        self.position += index.min(bytes.len());
    }

    /// Moves past bytes while `keep` holds; returns how many.
    fn skip_while(&mut self, keep: impl Fn(u8) -> bool) -> usize {
        let count = self.rest().iter().take_while(|byte| keep(**byte)).count();
        self.position += count;
        count
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let &first = self.rest().first()?;
            match first {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => self.position += 1,
                b'#' => {
                    self.skip_while(|byte| byte != b'\n' && byte != b'\r');
                }
                b'"' if self.rest().starts_with(br#"""""#) => {
                    self.skip_block_string();
                    return Some(Token::Text);
                }
                b'"' => {
                    self.skip_string();
                    return Some(Token::Text);
                }
                b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                    let start = self.position;
                    self.skip_while(|byte| byte == b'_' || byte.is_ascii_alphanumeric());
                    return Some(Token::Name(&self.source[start..self.position]));
                }
                b'-' | b'0'..=b'9' => {
                    self.position += 1;
                    self.skip_while(|byte| {
                        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'+' | b'-')
                    });
                    return Some(Token::Number);
                }
                other => {
                    // Multi-byte characters advance by their whole width.
                    let width = self.source[self.position..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                    self.position += width;
                    return Some(Token::Punctuator(other));
                }
            }
        }
    }
}

/// Whether `[`, `{` and `(` nest deeper than `limit` anywhere outside strings and comments.
pub fn nests_deeper_than(document: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    for token in Tokens::new(document) {
        match token {
            Token::Punctuator(b'[' | b'{' | b'(') => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            Token::Punctuator(b']' | b'}' | b')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// A short hash of the document's shape: names and punctuation, literals left out.
/// Equal for the same operation whatever values are written into it.
pub fn shape_hash(document: &str) -> String {
    let mut hasher = Sha256::new();
    for token in Tokens::new(document) {
        match token {
            Token::Name(name) => hasher.update(name.as_bytes()),
            Token::Text => hasher.update(b"\"\""),
            Token::Number => hasher.update(b"0"),
            Token::Punctuator(byte) => hasher.update([byte]),
        }
        hasher.update(b" ");
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_found_in_every_bracket_kind() {
        for (open, close) in [('[', ']'), ('{', '}'), ('(', ')')] {
            let deep = format!(
                "{{ __typename(x: {}{}) }}",
                open.to_string().repeat(100_000),
                close.to_string().repeat(100_000)
            );
            assert!(nests_deeper_than(&deep, 64), "{open}");
        }
        assert!(!nests_deeper_than(
            "query($id: ID!) { run(id: $id) { results(first: 5) { edges { node { id } } } } }",
            8
        ));
        assert!(nests_deeper_than("{ a { b { c } } }", 2));
        assert!(!nests_deeper_than("{ a { b { c } } }", 3));
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let quoted = format!("{{ a(x: \"{}\") }}", "[".repeat(1_000));
        assert!(!nests_deeper_than(&quoted, 4));
        let escaped = format!("{{ a(x: \"\\\"{}\") }}", "{".repeat(1_000));
        assert!(!nests_deeper_than(&escaped, 4));
        let block = format!("{{ a(x: \"\"\"\\\"\"\" {} \"\"\") }}", "(".repeat(1_000));
        assert!(!nests_deeper_than(&block, 4));
        let comment = format!("{{ a # {}\n }}", "[".repeat(1_000));
        assert!(!nests_deeper_than(&comment, 4));
        // An unterminated string ends at the line's end; what follows counts again.
        let unterminated = format!("{{ a(x: \"[[[\n{}", "[".repeat(10));
        assert!(nests_deeper_than(&unterminated, 4));
    }

    #[test]
    fn the_shape_hash_ignores_literals_and_layout() {
        let one = shape_hash(
            r#"mutation { login(input: {login: "ada", password: "hunter2"}) { accessToken } }"#,
        );
        let other = shape_hash(
            "mutation {\n  login(input: {login: \"bob\", password: \"\"\"s3cret\"\"\"}) # hi\n  { accessToken }\n}",
        );
        assert_eq!(one, other);
        assert_eq!(one.len(), 16);
        assert_ne!(one, shape_hash("mutation { logout { ok } }"));
        assert_eq!(shape_hash("{ a(n: 1) }"), shape_hash("{ a(n: -2.5e3) }"));
        assert_ne!(shape_hash("{ a(n: 1) }"), shape_hash("{ b(n: 1) }"));
    }
}
