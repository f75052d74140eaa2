//! `--format text`: one line per finding, `path:line:col: severity detector/rule: message
//! (excerpt)`, the shape compilers and grep use, so editors and CI logs link to the place.

use std::io::{self, Write};

use super::{Report, printable};

/// Writes one line per finding, in input order.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for (file, located) in report.findings() {
        let finding = &located.finding;
        let start = located.region.start;
        write!(
            out,
            "{}:{}:{}: {} {}: {}",
            printable(&file.name),
            start.line,
            start.column,
            finding.severity,
            printable(&finding.qualified_rule()),
            printable(&finding.message),
        )?;
        if !finding.excerpt.is_empty() {
            write!(out, " ({})", printable(&finding.excerpt))?;
        }
        if !finding.via.is_empty() {
            write!(out, " [via {}]", printable(&finding.via.join(", ")))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
