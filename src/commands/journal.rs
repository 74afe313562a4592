//! `qoltanba journal`: the signing journal as a table, as its raw lines, or checked.

use std::process::ExitCode;

use crate::cli::JournalArgs;
use crate::i18n::Locale;
use crate::i18n::journal::{self as words, Say};
use crate::journal::{Check, Entry};
use crate::ui::sanitize::shown;

/// Exit 0, or 1 when `--verify` finds the chain broken or the journal cannot be read.
pub fn journal(args: &JournalArgs) -> ExitCode {
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::platform::default_data_dir);
    let locale = super::trust::locale(&data_dir);
    if args.verify {
        return verify(&data_dir, args.json, locale);
    }
    let limit = args.limit.unwrap_or(usize::MAX);
    if args.json {
        let lines = match crate::journal::raw_lines(&data_dir) {
            Ok(lines) => lines,
            Err(e) => return super::fail(&e.to_string()),
        };
        let mut out = std::io::stdout().lock();
        for line in &lines[lines.len().saturating_sub(limit)..] {
            use std::io::Write;
            if out.write_all(line).and_then(|()| out.write_all(b"\n")).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let mut entries = match crate::journal::recent(&data_dir, limit) {
        Ok(entries) => entries,
        Err(e) => return super::fail(&e.to_string()),
    };
    if entries.is_empty() {
        println!("{}", Say::Empty.text(locale));
        return ExitCode::SUCCESS;
    }
    entries.reverse();
    print!("{}", table(&entries, locale));
    ExitCode::SUCCESS
}

fn verify(data_dir: &std::path::Path, json: bool, locale: Locale) -> ExitCode {
    let check = crate::journal::verify(data_dir);
    if json {
        let report = match &check {
            Check::Empty => serde_json::json!({ "ok": true, "lines": 0 }),
            Check::Intact { lines } => serde_json::json!({ "ok": true, "lines": lines }),
            Check::Broken(at) => serde_json::json!({ "ok": false, "broken": at }),
        };
        println!("{report}");
    } else {
        match &check {
            Check::Empty => println!("{}", Say::Empty.text(locale)),
            Check::Intact { lines } => println!("{}", words::intact(*lines, locale)),
            Check::Broken(at) => println!("{}", words::broken(at, locale)),
        }
    }
    if matches!(check, Check::Broken(_)) { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Entries in aligned columns, oldest first; texts from pages and certificates are
/// shown without control characters.
fn table(entries: &[Entry], locale: Locale) -> String {
    let header = [Say::Time, Say::Site, Say::Operation, Say::Signer, Say::Documents, Say::Result]
        .map(|s| s.text(locale).to_owned());
    let rows: Vec<[String; 6]> = entries.iter().map(|e| row(e, locale)).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn row(entry: &Entry, locale: Locale) -> [String; 6] {
    let time = crate::validation::in_astana(entry.at_ms)
        .map(|t| format!("{}-{:02}-{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute()))
        .unwrap_or_else(|| entry.time.clone());
    let operation = match &entry.method {
        Some(method) => shown(method),
        None => serde_json::to_value(entry.action).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
    };
    let signer = entry.signer.as_ref().map_or_else(String::new, |s| match s.iin.as_ref().or(s.bin.as_ref()) {
        Some(id) => format!("{} ({})", shown(&s.name), shown(id)),
        None => shown(&s.name),
    });
    let mut result = words::verdict(entry.result, locale).to_owned();
    if let Some(reason) = &entry.reason {
        result.push_str(&format!(" ({})", shown(reason)));
    }
    [
        time,
        crate::i18n::dialog::site(entry.origin.as_deref(), locale),
        operation,
        signer,
        entry.documents.to_string(),
        result,
    ]
}
