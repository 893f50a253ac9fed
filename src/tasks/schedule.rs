//! Cron schedules: parsing, validation and the fire times they produce.
//!
//! Six fields (seconds first, `0 */30 * * * *`), five fields (standard, the
//! seconds are 0) and the `@hourly`-style shortcuts are accepted; the time zone
//! is a tz database name. Fire times are whole seconds in UTC.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::error::{AppError, AppResult};

/// Most fire times a preview returns.
pub const MAX_PREVIEW: usize = 100;
/// Most missed fire times counted one by one after downtime (older ones are summed up).
const MAX_MISSED_SCAN: usize = 100_000;

/// A parsed cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    timezone: Tz,
}

impl Schedule {
    /// Parses `cron` in `timezone`; `BAD_USER_INPUT` naming the field and the problem.
    pub fn parse(cron: &str, timezone: &str) -> AppResult<Self> {
        let timezone = Tz::from_str(timezone.trim()).map_err(|_| {
            AppError::bad_input(
                "schedule.timezone",
                format!("unknown time zone {timezone:?}; use a tz database name such as Europe/Berlin or UTC"),
            )
        })?;
        let fields = cron.split_whitespace().count();
        if !cron.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
            return Err(AppError::bad_input(
                "schedule.cron",
                format!("a cron expression has 5 fields (minute first) or 6 (second first), not {fields}"),
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(cron)
            .map_err(|error| {
                AppError::bad_input(
                    "schedule.cron",
                    format!("invalid cron expression {cron:?}: {error}"),
                )
            })?;
        let schedule = Self { cron, timezone };
        // Patterns such as `0 0 30 2 *` parse but never fire.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(AppError::bad_input(
                "schedule.cron",
                "the cron expression never fires",
            ));
        }
        Ok(schedule)
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // croner carries sub-second parts of its start into the answer: start
        // from the whole second so fire times stay whole seconds.
        let start = after.trunc_subsecs(0).with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }

    /// The next `count` fire times after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(count.min(MAX_PREVIEW));
        let mut cursor = after;
        while times.len() < count.min(MAX_PREVIEW) {
            let Some(next) = self.next_after(cursor) else {
                break;
            };
            times.push(next);
            cursor = next;
        }
        times
    }

    /// The fire times in `(after, until]`: how many, the first and the last.
    pub fn due_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DueFires> {
        let first = self.next_after(after).filter(|first| *first <= until)?;
        let mut due = DueFires {
            first,
            last: first,
            count: 1,
        };
        while due.count < MAX_MISSED_SCAN {
            match self.next_after(due.last) {
                Some(next) if next <= until => {
                    due.last = next;
                    due.count += 1;
                }
                _ => return Some(due),
            }
        }
        // Too many to walk one by one: the last one still matters for the catch-up.
        if let Ok(last) = self
            .cron
            .find_previous_occurrence(&until.with_timezone(&self.timezone), true)
        {
            due.last = last.with_timezone(&Utc);
        }
        Some(due)
    }
}

/// Fire times that fell due in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueFires {
    /// The earliest.
    pub first: DateTime<Utc>,
    /// The latest.
    pub last: DateTime<Utc>,
    /// How many (at least; walking stops after a bound).
    pub count: usize,
}

/// A stored timestamp (naive UTC) as UTC.
pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn field_of(error: AppError) -> (String, String) {
        match error {
            AppError::BadInput { field, message } => (field, message),
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn six_fields_have_seconds_first() {
        let schedule = Schedule::parse("0 */30 * * * *", "UTC").unwrap();
        let times = schedule.upcoming(at("2026-11-22T10:05:07.250Z"), 3);
        assert_eq!(
            times,
            vec![
                at("2026-11-22T10:30:00Z"),
                at("2026-11-22T11:00:00Z"),
                at("2026-11-22T11:30:00Z")
            ]
        );
    }

    #[test]
    fn five_fields_fire_on_the_minute() {
        let schedule = Schedule::parse("*/15 * * * *", "UTC").unwrap();
        let next = schedule.next_after(at("2026-11-22T10:05:07Z")).unwrap();
        assert_eq!(next, at("2026-11-22T10:15:00Z"));
    }

    #[test]
    fn shortcuts_are_accepted() {
        let schedule = Schedule::parse("@hourly", "UTC").unwrap();
        assert_eq!(
            schedule.next_after(at("2026-11-22T10:05:00Z")).unwrap(),
            at("2026-11-22T11:00:00Z")
        );
        let daily = Schedule::parse("@daily", "UTC").unwrap();
        assert_eq!(
            daily.next_after(at("2026-11-22T10:05:00Z")).unwrap(),
            at("2026-11-23T00:00:00Z")
        );
    }

    #[test]
    fn time_zones_shift_fire_times() {
        let schedule = Schedule::parse("0 0 9 * * *", "Asia/Shanghai").unwrap();
        let next = schedule.next_after(at("2026-11-22T00:00:00Z")).unwrap();
        assert_eq!(next, at("2026-11-22T01:00:00Z"));
        // Across the spring change in Berlin, 09:00 local moves from 08:00 to 07:00 UTC.
        let berlin = Schedule::parse("0 9 * * *", "Europe/Berlin").unwrap();
        let times = berlin.upcoming(Utc.with_ymd_and_hms(2027, 3, 27, 12, 0, 0).unwrap(), 2);
        assert_eq!(
            times,
            vec![at("2027-03-28T07:00:00Z"), at("2027-03-29T07:00:00Z")]
        );
    }

    #[test]
    fn bad_expressions_name_the_problem() {
        let (field, message) = field_of(Schedule::parse("61 * * * * *", "UTC").unwrap_err());
        assert_eq!(field, "schedule.cron");
        assert!(message.contains("invalid cron expression"), "{message}");
        let (field, message) = field_of(Schedule::parse("* * *", "UTC").unwrap_err());
        assert_eq!(field, "schedule.cron");
        assert!(message.contains("not 3"), "{message}");
        let (field, _) = field_of(Schedule::parse("0 0 30 2 *", "UTC").unwrap_err());
        assert_eq!(field, "schedule.cron");
        let (field, message) = field_of(Schedule::parse("* * * * *", "Mars/Olympus").unwrap_err());
        assert_eq!(field, "schedule.timezone");
        assert!(message.contains("Mars/Olympus"), "{message}");
    }

    #[test]
    fn due_fires_are_counted_in_the_window() {
        let schedule = Schedule::parse("* * * * * *", "UTC").unwrap();
        let due = schedule
            .due_between(at("2026-11-22T10:00:00Z"), at("2026-11-22T10:00:10.500Z"))
            .unwrap();
        assert_eq!(due.count, 10);
        assert_eq!(due.first, at("2026-11-22T10:00:01Z"));
        assert_eq!(due.last, at("2026-11-22T10:00:10Z"));
        assert!(schedule
            .due_between(at("2026-11-22T10:00:00Z"), at("2026-11-22T10:00:00.900Z"))
            .is_none());
    }
}
