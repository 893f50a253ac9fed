//! GraphQL for runs: start and control them, read results and reports, watch them live.

mod events;
mod mutations;
mod queries;
mod report;
mod results;
mod run;
mod subscriptions;

pub use events::{RunEvent, RunEventKind};
pub use mutations::RunMutation;
pub use queries::RunQuery;
pub use report::{RunReport, RunTrendPoint};
pub use results::{CaseResult, CaseResultConnection, CaseResultEdge};
pub use run::{Run, RunConnection, RunEdge};
pub use subscriptions::RunSubscription;
