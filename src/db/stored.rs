//! Typed storage: enums and JSON documents kept in TEXT columns.
//!
//! A stored enum is read with [`FromSql`], so a value no variant spells is an
//! error of the query that read it, never a default that the next save would
//! write back. [`Json`] does the same for JSON documents. Model functions that
//! read one row by id pass the error through [`unreadable_row`], which logs
//! the table and id of the row that could not be read.

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::DbError;

/// A stored text that no variant of `type_name` spells.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {type_name} {value:?} in storage")]
pub struct UnknownValue {
    /// The enum.
    pub type_name: &'static str,
    /// The text found.
    pub value: String,
}

/// Gives a text-backed enum its stored spelling and typed storage.
///
/// `stored_enum!(ProjectRole { Owner = "OWNER", Viewer = "VIEWER" });` adds
/// `as_str`, `ALL`, `FromStr` (unknown text: [`UnknownValue`]), `Display`, and
/// the diesel impls to write it to (`AsExpression`, `ToSql`, so `eq` and
/// `eq_any` take it) and read it from (`FromSql`) a `Text` column on either
/// backend. The enum stays where it is defined; this only adds impls.
#[macro_export]
macro_rules! stored_enum {
    ($type:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $type {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $crate::db::stored::UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::db::stored::UnknownValue {
                        type_name: stringify!($type),
                        value: other.to_owned(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::stored_enum!(@expression $type, diesel::sql_types::Text);
        $crate::stored_enum!(@expression $type, diesel::sql_types::Nullable<diesel::sql_types::Text>);

        $crate::stored_enum!(@text_column $type);
    };
    // Written with `as_str` and read with `FromStr`, on either backend.
    (@text_column $type:ident) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $type
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $type
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Ok(text.parse::<Self>()?)
            }
        }

        impl<DB, ST> diesel::deserialize::Queryable<ST, DB> for $type
        where
            DB: diesel::backend::Backend,
            ST: diesel::sql_types::SingleValue,
            Self: diesel::deserialize::FromSql<ST, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> diesel::deserialize::Result<Self> {
                Ok(row)
            }
        }
    };
    // Written as its `&'static str` spelling, by value and by reference.
    (@expression $type:ident, $sql_type:ty) => {
        impl diesel::expression::AsExpression<$sql_type> for $type {
            type Expression = <&'static str as diesel::expression::AsExpression<$sql_type>>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$sql_type>::as_expression(self.as_str())
            }
        }

        impl diesel::expression::AsExpression<$sql_type> for &$type {
            type Expression = <&'static str as diesel::expression::AsExpression<$sql_type>>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$sql_type>::as_expression(self.as_str())
            }
        }

        impl diesel::expression::AsExpression<$sql_type> for &&$type {
            type Expression = <&'static str as diesel::expression::AsExpression<$sql_type>>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<$sql_type>::as_expression(self.as_str())
            }
        }
    };
}

/// Declares a text id type, so that ids of different objects cannot be
/// passed for one another: `stored_id!(AlertRuleId);` is a `String`
/// newtype stored in a `Text` column and serialized as the bare string. It
/// derefs to `str`, so code that takes a plain id still accepts it.
#[macro_export]
macro_rules! stored_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            diesel::expression::AsExpression,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self(text.to_owned()))
            }
        }

        impl ::std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        $crate::stored_enum!(@text_column $name);
    };
}

/// A JSON document in a `Text` column, read and written as `T`.
///
/// Text that is not a valid `T` fails the query that reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
#[serde(transparent)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The document.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Serialize + Debug> ToSql<Text, Sqlite> for Json<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl<T: Serialize + Debug> ToSql<Text, Pg> for Json<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        serde_json::to_writer(out, &self.0)?;
        Ok(IsNull::No)
    }
}

impl<T, DB> FromSql<Text, DB> for Json<T>
where
    T: DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        serde_json::from_str(&text).map(Json).map_err(|error| {
            format!(
                "unreadable {} in storage: {error}",
                std::any::type_name::<T>()
            )
            .into()
        })
    }
}

/// Turns a query error into a [`DbError`], logging `table` and `id` when the
/// row was found but a stored value in it could not be read.
pub fn unreadable_row(error: diesel::result::Error, table: &'static str, id: &str) -> DbError {
    if let diesel::result::Error::DeserializationError(cause) = &error {
        tracing::error!(table, id, error = %cause, "a stored row could not be read");
    }
    DbError::Query(error)
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Light {
        Red,
        Green,
    }

    crate::stored_enum!(Light {
        Red = "RED",
        Green = "GREEN",
    });

    #[test]
    fn stored_spellings_round_trip_and_unknown_text_is_an_error() {
        for light in Light::ALL {
            assert_eq!(light.as_str().parse::<Light>(), Ok(*light));
            assert_eq!(light.to_string(), light.as_str());
        }
        let error = "BLUE".parse::<Light>().unwrap_err();
        assert_eq!(error.to_string(), "unknown Light \"BLUE\" in storage");
    }

    #[test]
    fn json_documents_serialize_as_the_document_itself() {
        let tags = Json(vec!["smoke".to_owned()]);
        assert_eq!(serde_json::to_string(&tags).unwrap(), r#"["smoke"]"#);
        assert_eq!(tags.len(), 1);
    }
}
