//! A validation as people read it, in their language: one block per signer, one line
//! per check. Everything that comes from the signature (names in certificates, the
//! verifiers' findings) is shown through [`shown`]: a hostile file cannot drive the
//! terminal it is checked in.

use std::fmt::Write;

use super::{Check, Outcome, SignerValidation, astana_time};
use crate::i18n::Locale;
use crate::i18n::validation::{Label, signer_verdict, time_source, timestamp_unused};
use crate::ui::sanitize::shown;

/// The block for the `n`-th signer (from 1).
pub fn text(n: usize, v: &SignerValidation, locale: Locale) -> String {
    // Labels in a column as wide as the locale's longest (English: 13).
    let width = Label::CHECKS
        .iter()
        .chain(&[Label::Subject, Label::IinBin, Label::SigningTime])
        .map(|l| l.text(locale).chars().count() + 1)
        .max()
        .unwrap_or(0)
        .max(13);
    let label = |l: Label| format!("{:<width$}", l.text(locale));
    let mut out = String::new();
    let _ = writeln!(out, "{}", signer_verdict(n, v.verdict, locale));
    let _ = writeln!(out, "  {} {}", label(Label::Subject), shown(&v.subject));
    if v.iin.is_some() || v.bin.is_some() {
        let (iin, bin) = (v.iin.as_deref().unwrap_or("-"), v.bin.as_deref().unwrap_or("-"));
        let _ = writeln!(out, "  {} {} / {}", label(Label::IinBin), shown(iin), shown(bin));
    }
    let source = time_source(v.signing_time.source, locale);
    let _ = writeln!(out, "  {} {} ({source})", label(Label::SigningTime), astana_time(v.signing_time.at_ms));
    let indent = " ".repeat(width + 3);
    if let Some(why) = &v.signing_time.timestamp_not_used {
        let _ = writeln!(out, "{indent}{}: {}", Label::TimestampNotUsed.text(locale), timestamp_unused(why, locale));
    }
    let line = |out: &mut String, l: Label, check: &Check| {
        let mark = match check.outcome() {
            Outcome::Passed => "ok  ",
            Outcome::Failed => "FAIL",
            Outcome::Unknown => "??  ",
        };
        let _ = writeln!(out, "  {} {mark} {}", label(l), shown(&check.detail(locale)));
    };
    line(&mut out, Label::Signature, &v.signature);
    line(&mut out, Label::Chain, &v.chain.check);
    for (i, subject) in v.chain.path.iter().enumerate() {
        let _ = writeln!(out, "{indent}{}{}", if i == 0 { "" } else { "← " }, shown(subject));
    }
    line(&mut out, Label::Validity, &v.validity);
    line(&mut out, Label::Revocation, &v.revocation.check);
    line(&mut out, Label::KeyUsage, &v.key_usage);
    if let Some(identity) = &v.identity {
        line(&mut out, Label::Identity, identity);
    }
    out
}
