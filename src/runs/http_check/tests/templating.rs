use super::*;
#[test]
fn template_fills_placeholders() {
    let vars: HashMap<String, String> = [("host", "example.org"), ("id", "42"), ("a.b-c_1", "x")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        template("https://{{host}}/items/{{ id }}", &vars),
        Ok("https://example.org/items/42".to_string())
    );
    assert_eq!(template("{{a.b-c_1}}{{id}}", &vars), Ok("x42".to_string()));
    assert_eq!(
        template("no placeholders", &vars),
        Ok("no placeholders".to_string())
    );
    assert_eq!(
        template("{{missing}} and {{id}}", &vars),
        Err("missing".to_string())
    );
    // Not names: left as written.
    assert_eq!(
        template("{{}} {{a b}} {{", &vars),
        Ok("{{}} {{a b}} {{".to_string())
    );
    assert_eq!(template("{{{id}}}", &vars), Ok("{42}".to_string()));
    assert_eq!(
        template("{{1abc}} {{-x}}", &vars),
        Ok("{{1abc}} {{-x}}".to_string())
    );
    // Values are not templated again.
    let nested: HashMap<String, String> = [("a".to_string(), "{{b}}".to_string())].into();
    assert_eq!(template("{{a}}", &nested), Ok("{{b}}".to_string()));
}

#[test]
fn placeholders_in_order_without_repeats() {
    assert_eq!(
        placeholders("{{base}}/users/{{ id }}?t={{token}}&again={{id}}"),
        vec!["base", "id", "token"]
    );
    assert!(placeholders("plain {{ not a name }}").is_empty());
    let spec = spec(json!({
        "request": {
            "method": "POST",
            "url": "{{base}}/x",
            "query": [{ "name": "q", "value": "{{q}}" }],
            "headers": [
                { "name": "Authorization", "value": "Bearer {{token}}" },
                { "name": "X-{{hdr}}", "value": "1" }
            ],
            "body": { "json": { "a": ["{{one}}", { "{{key}}": "{{two}}" }], "n": 1 } }
        }
    }));
    assert_eq!(
        request_placeholders(&spec.request),
        vec!["base", "q", "token", "hdr", "one", "two"]
    );
}

#[test]
fn excerpts_cut_cleanly_and_mask_across_the_cut() {
    // A two-byte character straddling the cut is dropped, not shown as U+FFFD.
    let mut body = vec![b'a'; EXCERPT_BYTES - 1];
    body.extend_from_slice("é and more".as_bytes());
    let masker = Masker::new(&[]);
    let excerpt = masker.excerpt(&masker.unmasked_excerpt(&body));
    assert_eq!(excerpt.len(), EXCERPT_BYTES - 1);
    assert!(!excerpt.contains(char::REPLACEMENT_CHARACTER));
    // Invalid bytes inside are replaced.
    assert_eq!(
        masker.excerpt(&masker.unmasked_excerpt(b"ok\xffok")),
        "ok\u{FFFD}ok"
    );
    // A secret that starts before the cut is masked, not half shown.
    let masker = Masker::new(&["supersecret".to_string()]);
    let mut body = vec![b'a'; EXCERPT_BYTES - 5];
    body.extend_from_slice(b"supersecret tail");
    let excerpt = masker.excerpt(&masker.unmasked_excerpt(&body));
    assert!(
        !excerpt.contains("supe"),
        "{}",
        &excerpt[excerpt.len() - 10..]
    );
    assert!(excerpt.len() <= EXCERPT_BYTES);
}

#[test]
fn sensitive_header_names() {
    for name in [
        "Authorization",
        "cookie",
        "Set-Cookie",
        "X-API-Key",
        "X-Auth-Token",
        "client_secret",
        "X-Password",
        "Proxy-Authorization",
    ] {
        assert!(is_sensitive_header(name), "{name}");
    }
    for name in ["Content-Type", "Accept", "X-Request-Id", "Location"] {
        assert!(!is_sensitive_header(name), "{name}");
    }
}
