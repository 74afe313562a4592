//! A validation as people read it: one block per signer, one line per check.

use std::fmt::Write;

use super::{Check, Outcome, SignerValidation, TimeSource, Verdict, astana_time};

/// The block for the `n`-th signer (from 1).
pub fn text(n: usize, v: &SignerValidation) -> String {
    let mut out = String::new();
    let verdict = match v.verdict {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "INVALID",
        Verdict::Indeterminate => "INDETERMINATE (a check could not be made)",
    };
    let _ = writeln!(out, "signer {n}: {verdict}");
    let _ = writeln!(out, "  subject       {}", v.subject);
    if v.iin.is_some() || v.bin.is_some() {
        let _ =
            writeln!(out, "  IIN / BIN     {} / {}", v.iin.as_deref().unwrap_or("-"), v.bin.as_deref().unwrap_or("-"));
    }
    let source = match v.signing_time.source {
        TimeSource::Timestamp => "from a trusted timestamp",
        TimeSource::Claimed => "claimed by the signer, not proven",
        TimeSource::Check => "the time of this check",
    };
    let _ = writeln!(out, "  signing time  {} ({source})", astana_time(v.signing_time.at_ms));
    if let Some(why) = &v.signing_time.timestamp_not_used {
        let _ = writeln!(out, "                timestamp not used: {why}");
    }
    line(&mut out, "signature", &v.signature);
    line(&mut out, "chain", &v.chain.check);
    for (i, subject) in v.chain.path.iter().enumerate() {
        let _ = writeln!(out, "                {}{subject}", if i == 0 { "" } else { "← " });
    }
    line(&mut out, "validity", &v.validity);
    line(&mut out, "revocation", &v.revocation.check);
    line(&mut out, "key usage", &v.key_usage);
    if let Some(identity) = &v.identity {
        line(&mut out, "identity", identity);
    }
    out
}

fn line(out: &mut String, name: &str, check: &Check) {
    let mark = match check.outcome {
        Outcome::Passed => "ok  ",
        Outcome::Failed => "FAIL",
        Outcome::Unknown => "??  ",
    };
    let _ = writeln!(out, "  {name:<13} {mark} {}", check.detail);
}
