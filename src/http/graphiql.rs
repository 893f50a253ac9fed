//! The GraphiQL page and its assets, embedded at build time so the page works offline.
//!
//! The assets are the production builds of pinned npm packages, committed
//! under `assets/graphiql/` (see its README for versions and licences).

use poem::http::{header, StatusCode};
use poem::web::Path;
use poem::{handler, IntoResponse, Response};

/// The page; it names only the assets below, by local paths.
const PAGE: &str = include_str!("graphiql.html");

/// `(file name, content type, bytes)` of every file under `/graphiql/`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
];

/// Assets change only with a new build; let browsers keep them for a day.
const ASSET_CACHE_CONTROL: &str = "public, max-age=86400";

/// The GraphiQL page.
pub fn page() -> Response {
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(PAGE)
}

/// `GET /graphiql/:file`: one embedded asset, or 404.
#[handler]
pub fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => Response::builder()
            .content_type(*content_type)
            .header(header::CACHE_CONTROL, ASSET_CACHE_CONTROL)
            .body(*bytes),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{ASSETS, PAGE};

    #[test]
    fn the_page_loads_every_asset_and_nothing_else() {
        for (name, _, bytes) in ASSETS {
            assert!(PAGE.contains(&format!("\"/graphiql/{name}\"")), "{name}");
            assert!(!bytes.is_empty());
        }
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
        assert_eq!(
            PAGE.matches("src=").count() + PAGE.matches("href=").count(),
            4
        );
    }
}
