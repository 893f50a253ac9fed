//! Turning client errors into a failure kind and a readable message.

use std::error::Error as StdError;
use std::io;

use super::{Failure, ProbeErrorKind};

/// Classifies an I/O error; `what` names the attempted thing ("PostgreSQL at host:port").
pub(super) fn io_failure(e: &io::Error, what: &str) -> Failure {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => Failure::new(
            ProbeErrorKind::Refused,
            format!("{what}: connection refused (nothing is listening on that port, or a firewall rejects it)"),
        ),
        K::TimedOut => Failure::new(
            ProbeErrorKind::TimedOut,
            format!("{what}: timed out ({e})"),
        ),
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe | K::InvalidData => {
            Failure::new(
                ProbeErrorKind::Protocol,
                format!("{what}: the server closed or garbled the connection ({e}); is this the right kind of server?"),
            )
        }
        _ => Failure::new(ProbeErrorKind::Other, format!("{what}: {e}")),
    }
}

/// The most specific `std::io::Error` in an error's source chain: the first
/// whose kind is not `Other`, else the first.
pub(super) fn find_io_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let ios: Vec<&io::Error> = causes(e)
        .into_iter()
        .filter_map(|err| err.downcast_ref::<io::Error>())
        .collect();
    ios.iter()
        .find(|io| io.kind() != io::ErrorKind::Other)
        .or(ios.first())
        .copied()
}

/// The first error of type `T` in an error's source chain.
pub(super) fn find_in_chain<'a, T: StdError + 'static>(
    e: &'a (dyn StdError + 'static),
) -> Option<&'a T> {
    causes(e)
        .into_iter()
        .find_map(|err| err.downcast_ref::<T>())
}

/// An error and its causes, also looking inside custom `io::Error`s (whose
/// `source()` skips the error they wrap).
pub(super) fn causes<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        if out.len() >= 32 {
            break;
        }
        out.push(err);
        current = match err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    out
}

/// An error and its sources joined with ": ", skipping sources already quoted by their parent.
pub(super) fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut current = e.source();
    while let Some(err) = current {
        let part = err.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = err.source();
    }
    text
}
