//! Cursor connections: `first`/`after`, at most 100 a page, with `totalCount`.
//!
//! Cursors are opaque (base64 of the row id); ids are UUIDv7, so ordering
//! by id is ordering by creation and pages are stable under inserts.

use async_graphql::connection::{Connection, ConnectionNameType, Edge, EdgeNameType, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{AppError, AppResult};

/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;

/// The complexity of a connection field: its selection counted once per item
/// the page may hold, so `first: 100` weighs a hundred times `first: 1`.
///
/// Every connection field declares it as
/// `#[graphql(complexity = "page_complexity(child_complexity, first)")]`.
pub fn page_complexity(child_complexity: usize, first: Option<i32>) -> usize {
    let page = first
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE)
        .unsigned_abs() as usize;
    child_complexity.saturating_mul(page).saturating_add(1)
}

/// Fields every connection carries besides its edges.
#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// Number of items matching the filter, across all pages.
    pub total_count: i64,
}

/// True when the connection field being resolved selects `totalCount`, so a
/// list runs its `COUNT` only for a client that asked for it (the connection
/// answers 0 otherwise, which nobody sees).
pub fn total_count_selected(ctx: &async_graphql::Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// A connection whose GraphQL type names come from `Name` and `EdgeName`.
pub type CursorConnection<Node, Name, EdgeName> =
    Connection<String, Node, ConnectionTotals, EmptyFields, Name, EdgeName>;

/// A validated page request.
pub struct PageRequest {
    /// Rows to return.
    pub limit: i64,
    /// Id of the row the page starts after.
    pub after_id: Option<String>,
}

impl PageRequest {
    /// Checks `first` (1–100) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after_id = after.map(|cursor| decode_cursor(&cursor)).transpose()?;
        Ok(Self {
            limit: i64::from(first),
            after_id,
        })
    }

    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Builds the connection from up to `fetch_limit()` rows ordered by id (cursor: the id).
    pub fn connection<Row, Node, Name, EdgeName>(
        &self,
        rows: Vec<Row>,
        total_count: i64,
        id_of: impl Fn(&Row) -> &str,
        node_of: impl FnMut(Row) -> Node,
    ) -> CursorConnection<Node, Name, EdgeName>
    where
        Node: OutputType,
        Name: ConnectionNameType,
        EdgeName: EdgeNameType,
    {
        self.build(
            rows,
            total_count,
            |_, row| encode_cursor(id_of(row)),
            node_of,
        )
    }

    /// The position a cursor stands for, in lists sorted by other columns than the id.
    pub fn offset(&self) -> AppResult<i64> {
        match &self.after_id {
            None => Ok(0),
            Some(position) => position
                .parse::<i64>()
                .ok()
                .filter(|offset| *offset >= 0)
                .ok_or_else(|| AppError::bad_input("after", "not a valid cursor")),
        }
    }

    /// Builds the connection from up to `fetch_limit()` rows starting at `offset`
    /// (cursor: the position).
    pub fn offset_connection<Row, Node, Name, EdgeName>(
        &self,
        rows: Vec<Row>,
        total_count: i64,
        offset: i64,
        node_of: impl FnMut(Row) -> Node,
    ) -> CursorConnection<Node, Name, EdgeName>
    where
        Node: OutputType,
        Name: ConnectionNameType,
        EdgeName: EdgeNameType,
    {
        let cursor = |index: usize, _: &Row| {
            encode_cursor(&(offset + i64::try_from(index).unwrap_or(i64::MAX) + 1).to_string())
        };
        self.build(rows, total_count, cursor, node_of)
    }

    fn build<Row, Node, Name, EdgeName>(
        &self,
        mut rows: Vec<Row>,
        total_count: i64,
        cursor_of: impl Fn(usize, &Row) -> String,
        mut node_of: impl FnMut(Row) -> Node,
    ) -> CursorConnection<Node, Name, EdgeName>
    where
        Node: OutputType,
        Name: ConnectionNameType,
        EdgeName: EdgeNameType,
    {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let has_next_page = rows.len() > limit;
        rows.truncate(limit);
        let mut connection = Connection::with_additional_fields(
            self.after_id.is_some(),
            has_next_page,
            ConnectionTotals { total_count },
        );
        connection.edges = rows
            .into_iter()
            .enumerate()
            .map(|(index, row)| Edge::new(cursor_of(index, &row), node_of(row)))
            .collect();
        connection
    }
}

/// The opaque cursor for a row id.
pub fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> AppResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| AppError::bad_input("after", "not a valid cursor"))
}

/// Declares the GraphQL names of a connection and its edge type.
#[macro_export]
macro_rules! connection_names {
    ($connection:ident, $edge:ident) => {
        /// GraphQL name of the connection type.
        pub struct $connection;
        impl async_graphql::connection::ConnectionNameType for $connection {
            fn type_name<T: async_graphql::OutputType>() -> String {
                stringify!($connection).to_owned()
            }
        }
        /// GraphQL name of the edge type.
        pub struct $edge;
        impl async_graphql::connection::EdgeNameType for $edge {
            fn type_name<T: async_graphql::OutputType>() -> String {
                stringify!($edge).to_owned()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds_and_cursors() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 20);
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(101), None).is_err());
        let page = PageRequest::new(Some(5), Some(encode_cursor("abc"))).unwrap();
        assert_eq!(page.after_id.as_deref(), Some("abc"));
        assert!(matches!(
            PageRequest::new(None, Some("%%%".into())),
            Err(AppError::BadInput { field, .. }) if field == "after"
        ));
    }

    #[test]
    fn pages_weigh_by_their_size() {
        assert_eq!(page_complexity(4, Some(100)), 401);
        assert_eq!(page_complexity(4, None), 81);
        // Out-of-range sizes are refused by the resolver; here they only must not overflow.
        assert_eq!(page_complexity(4, Some(i32::MAX)), 401);
        assert_eq!(page_complexity(4, Some(-5)), 5);
    }
}
