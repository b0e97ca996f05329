//! UTC timestamps for run names and `run.json`, with no time-zone database: the same text on
//! every machine.

use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYYmmdd-HHMMSS`, for directory names.
pub fn stamp(time: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = parts(time);
    format!("{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}")
}

/// `YYYY-mm-ddTHH:MM:SSZ` (ISO 8601), for files.
pub fn iso(time: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = parts(time);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

fn parts(time: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    (y, m, d, rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_stamps() {
        assert_eq!(stamp(UNIX_EPOCH), "19700101-000000");
        // 2024-02-29 13:45:07 UTC, a leap day.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_214_307);
        assert_eq!(stamp(t), "20240229-134507");
        assert_eq!(iso(t), "2024-02-29T13:45:07Z");
    }
}
