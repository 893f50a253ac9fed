//! Passwords scrubbed from messages.

use super::*;

#[test]
fn scrub_removes_every_form_of_the_password() {
    let mut t = target(ServerKind::Http, "http://u:p%40ss-word@example.com/");
    t.password = Some(PASSWORD.into());
    let secrets = secrets_of(&t);
    let message = format!("failed for {PASSWORD} and p@ss-word and p%40ss-word");
    let clean = scrub(message, &secrets);
    assert!(
        !clean.contains(PASSWORD) && !clean.contains("p@ss-word") && !clean.contains("p%40ss-word")
    );
    assert_eq!(clean.matches("********").count(), 3, "{clean}");
    let spaced = vec!["pass  word\nx".to_owned()];
    assert_eq!(
        scrub("a pass  word\nx b pass word x\n".into(), &spaced),
        "a ******** b ********"
    );
    let debug = format!("{t:?}");
    assert!(
        !debug.contains(PASSWORD) && !debug.contains("p%40ss-word"),
        "{debug}"
    );
    assert_eq!(percent_decode("a%2Fb%").unwrap(), "a/b%");
}
