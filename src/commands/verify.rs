//! `qoltanba verify cms|xml`: the signature, then every check NCA RK's rules ask for
//! (see [`crate::validation`]), one report per signer.

use std::process::ExitCode;

use crate::cli::{MaterialArgs, UsageArg, ValidationArgs, VerifyCmsArgs, VerifyXmlArgs};
use crate::cms::verify::Evidence;
use crate::i18n::Locale;
use crate::i18n::validation as words;
use crate::trust::{Material, TrustStore};
use crate::validation::{Options, SignerValidation, Usage, Validator, Verdict, render};

/// Exit status: every signer valid.
const VALID: u8 = 0;
/// Exit status: a signer is invalid.
const INVALID: u8 = 1;
/// Exit status: the file is not a signature of that kind.
const NOT_A_SIGNATURE: u8 = 2;
/// Exit status: nothing invalid, but a check could not be made.
const INDETERMINATE: u8 = 4;

/// `qoltanba verify cms FILE [--content DATA] [checks]`.
pub fn verify_cms(args: &VerifyCmsArgs) -> ExitCode {
    let cms = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => return not_a_signature(&format!("{}: {e}", args.file.display())),
    };
    let mut content = match &args.content {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Some(std::io::BufReader::new(f)),
            Err(e) => return not_a_signature(&format!("{}: {e}", path.display())),
        },
        None => None,
    };
    let reader = content.as_mut().map(|r| r as &mut dyn std::io::Read);
    let report = match crate::cms::verify::verify_cms(&cms, reader) {
        Ok(r) => r,
        Err(e) => return not_a_signature(&e.to_string()),
    };
    let signers = report.signers.iter().map(|s| (&s.evidence, s.problems.as_slice()));
    let (count, attached) = (report.signers.len(), report.attached);
    validate_and_print(&args.checks, |l| words::cms_header(count, attached, l), signers)
}

/// `qoltanba verify xml FILE [checks]`.
pub fn verify_xml(args: &VerifyXmlArgs) -> ExitCode {
    let text = match std::fs::read(&args.file).map(|b| super::decode_xml_text(&b)) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return not_a_signature(&format!("{}: only UTF-8 and UTF-16 XML files are read", args.file.display()));
        }
        Err(e) => return not_a_signature(&format!("{}: {e}", args.file.display())),
    };
    let reports = match crate::xmldsig::verify_xml(&text) {
        Ok(r) => r,
        Err(e) => return not_a_signature(&e.to_string()),
    };
    if reports.is_empty() {
        eprintln!("qoltanba: {}: {}", args.file.display(), words::no_xml_signature(Locale::from_environment()));
        return ExitCode::from(INVALID);
    }
    let signers = reports.iter().map(|s| (&s.evidence, s.problems.as_slice()));
    let count = reports.len();
    validate_and_print(&args.checks, |l| words::xml_header(count, l), signers)
}

fn not_a_signature(message: &str) -> ExitCode {
    eprintln!("qoltanba: {message}");
    ExitCode::from(NOT_A_SIGNATURE)
}

/// Check every signer and print the reports: JSON, or text in the user's language
/// under `header`.
fn validate_and_print<'r>(
    args: &ValidationArgs,
    header: impl Fn(Locale) -> String,
    signers: impl Iterator<Item = (&'r Evidence, &'r [String])>,
) -> ExitCode {
    let options = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("qoltanba: {e}");
            return ExitCode::from(NOT_A_SIGNATURE);
        }
    };
    let store = trust_store(&args.material);
    let validator = Validator::new(&store, options);
    let results: Vec<SignerValidation> = signers.map(|(e, p)| validator.validate(e, p)).collect();
    if args.json {
        for r in &results {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    } else {
        let locale = Locale::from_environment();
        println!("{}", header(locale));
        for (i, r) in results.iter().enumerate() {
            println!();
            print!("{}", render::text(i + 1, r, locale));
        }
    }
    let verdicts: Vec<Verdict> = results.iter().map(|r| r.verdict).collect();
    ExitCode::from(if verdicts.contains(&Verdict::Invalid) {
        INVALID
    } else if verdicts.contains(&Verdict::Indeterminate) {
        INDETERMINATE
    } else {
        VALID
    })
}

/// The trust store of the data directory, its CA certificates refreshed when online.
pub(super) fn trust_store(args: &MaterialArgs) -> TrustStore {
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::platform::default_data_dir);
    let urls = crate::trust::ca_urls(&args.nca_ca_url);
    let store = TrustStore::new(Some(data_dir.join("trust")), urls, !args.offline);
    store.refresh_ca_certificates();
    store
}

/// The options the arguments describe; an error names the file or value that is wrong.
fn options(args: &ValidationArgs) -> Result<Options, String> {
    let (trust, material) = material(&args.material)?;
    let now_ms = match &args.at {
        Some(at) => {
            parse_time(at).ok_or_else(|| format!("--at {at}: not a time (Unix seconds, YYYY-MM-DD or RFC 3339)"))?
        }
        None => crate::platform::now_ms(),
    };
    let usage = match args.usage {
        UsageArg::Sign => Usage::Sign,
        UsageArg::Auth => Usage::Auth,
    };
    Ok(Options {
        trust,
        material,
        now_ms,
        usage,
        expect_iin: args.expect_iin.clone(),
        expect_bin: args.expect_bin.clone(),
    })
}

/// The trust anchors and revocation material the arguments name.
pub(super) fn material(args: &MaterialArgs) -> Result<(Vec<x509_cert::Certificate>, Material), String> {
    let read = |p: &std::path::PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut trust = Vec::new();
    for path in &args.trust {
        let bytes = read(path)?;
        let certs = crate::keys::certificate::parse_x509_all(&bytes);
        if certs.is_empty() {
            return Err(format!("{}: not a certificate", path.display()));
        }
        trust.extend(certs);
    }
    let mut material = Material::default();
    for path in &args.crl {
        let bytes = read(path)?;
        let der = der::pem::decode_vec(&bytes).map(|(_, d)| d).unwrap_or(bytes);
        crate::trust::crl::Crl::from_der(&der).map_err(|e| format!("{}: {e}", path.display()))?;
        material.crl_ders.push(der);
    }
    for path in &args.ocsp_response {
        material.ocsp_responses.push(read(path)?);
    }
    Ok((trust, material))
}

/// Unix seconds, `YYYY-MM-DD` (midnight in Astana) or RFC 3339, as epoch ms.
fn parse_time(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return seconds.checked_mul(1000);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
    }
    let mut parts = text.splitn(3, '-').map(|p| p.parse::<u16>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()?;
    let astana = time::UtcOffset::from_whole_seconds(crate::validation::ASTANA_OFFSET_SECS).ok()?;
    Some(date.midnight().assume_offset(astana).unix_timestamp() * 1000)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_are_read_in_three_forms() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000_000));
        assert_eq!(parse_time("2026-12-02T10:00:00+05:00"), Some(1_796_187_600_000));
        assert_eq!(parse_time("2026-12-02"), Some(1_796_151_600_000));
        assert_eq!(parse_time("yesterday"), None);
    }
}
