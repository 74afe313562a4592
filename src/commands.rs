//! Command-line subcommands other than `serve`, for people and scripts.

use std::io::BufRead;
use std::process::ExitCode;

use zeroize::Zeroizing;

use crate::cli::{KeysInfoArgs, VerifyCmsArgs, VerifyXmlArgs};
use crate::keys::file::{needs_password, read_key_file};
use crate::keys::{KeyInfo, load_key_file};

/// The environment variable `keys info` reads the password from.
pub const PASSWORD_ENV: &str = "QOLTANBA_PASSWORD";

/// `qoltanba keys info FILE`: exit 0 on success, 2 on a wrong password, 1 otherwise.
pub fn keys_info(args: &KeysInfoArgs) -> ExitCode {
    let bytes = match read_key_file(&args.file) {
        Ok(b) => Zeroizing::new(b),
        Err(e) => return fail(&e.to_string()),
    };
    let password = if !needs_password(&bytes) {
        Zeroizing::new(String::new())
    } else {
        match password(args) {
            Ok(p) => p,
            Err(e) => return fail(&format!("cannot read the password: {e}")),
        }
    };
    let keys = match load_key_file(&args.file, &password) {
        Ok(keys) => keys,
        Err(e) if e.is_wrong_password() => {
            eprintln!("qoltanba: {e}");
            return ExitCode::from(2);
        }
        Err(e) => return fail(&e.to_string()),
    };
    let infos: Vec<KeyInfo> = keys.iter().map(|k| KeyInfo::of(k.as_ref())).collect();
    if args.json {
        let json = match infos.as_slice() {
            [one] => serde_json::to_string(one),
            many => serde_json::to_string(many),
        };
        println!("{}", json.unwrap_or_default());
    } else {
        for (i, info) in infos.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_human(info);
        }
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("qoltanba: {message}");
    ExitCode::FAILURE
}

/// The password from `QOLTANBA_PASSWORD`, standard input (`--password-stdin`) or a
/// prompt without echo, in that order.
fn password(args: &KeysInfoArgs) -> std::io::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Zeroizing::new(p));
    }
    if args.password_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
        return Ok(trimmed);
    }
    rpassword::prompt_password(format!("Password for {}: ", args.file.display())).map(Zeroizing::new)
}

fn print_human(info: &KeyInfo) {
    let date = |ms: &str| {
        ms.parse::<i64>()
            .ok()
            .and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms / 1000).ok())
            .map(|t| format!("{ms} ({})", t.date()))
            .unwrap_or_else(|| ms.to_owned())
    };
    let rows = [
        ("alias", info.alias.clone()),
        ("keyId", info.key_id.clone()),
        ("algorithm", info.algorithm.clone()),
        ("subjectCn", info.subject_cn.clone()),
        ("subjectDn", info.subject_dn.clone()),
        ("issuerCn", info.issuer_cn.clone()),
        ("issuerDn", info.issuer_dn.clone()),
        ("serialNumber", info.serial_number.clone()),
        ("certNotBefore", date(&info.cert_not_before)),
        ("certNotAfter", date(&info.cert_not_after)),
        ("authorityKeyIdentifier", info.authority_key_identifier.clone()),
    ];
    for (name, value) in rows {
        println!("{name:<23} {value}");
    }
    print!("{}", info.pem);
}

/// `qoltanba verify cms FILE [--content DATA]`: one block per signer; exit 0 if every
/// signer is valid, 1 if any is not, 2 if the file cannot be read as CMS.
pub fn verify_cms(args: &VerifyCmsArgs) -> ExitCode {
    let cms = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("qoltanba: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let mut content = match &args.content {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Some(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("qoltanba: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let reader = content.as_mut().map(|r| r as &mut dyn std::io::Read);
    let report = match crate::cms::verify::verify_cms(&cms, reader) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qoltanba: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{} signer(s), content {}", report.signers.len(), if report.attached { "attached" } else { "detached" });
    for (i, signer) in report.signers.iter().enumerate() {
        println!();
        println!("signer {}: {}", i + 1, if signer.is_valid() { "VALID" } else { "INVALID" });
        println!("  subject:        {}", signer.subject);
        println!("  algorithm:      {} ({})", algorithm_name(&signer.algorithm), signer.algorithm);
        println!("  signing time:   {}", signer.signing_time.as_deref().unwrap_or("-"));
        println!("  timestamp time: {}", signer.timestamp_time.as_deref().unwrap_or("-"));
        for problem in &signer.problems {
            println!("  problem:        {problem}");
        }
    }
    if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// A signature algorithm's name for people.
fn algorithm_name(oid: &str) -> &'static str {
    match oid {
        "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.1" => "RSA with SHA-256",
        "1.2.840.113549.1.1.5" => "RSA with SHA-1",
        "1.2.398.3.10.1.1.2.3.2" => "GOST 34.10-2015 512-bit with GOST 34.11-2015",
        "1.2.398.3.10.1.1.2.3.1" => "GOST 34.10-2015 256-bit with GOST 34.11-2015",
        "1.2.398.3.10.1.1.1.2" => "GOST 34.310-2004 with GOST 34.311-95",
        _ => "unknown algorithm",
    }
}

/// `qoltanba verify xml FILE`: one block per signature; exit 0 if all are valid, 1 if
/// any is not (or there is none), 2 if the file cannot be read as XML.
pub fn verify_xml(args: &VerifyXmlArgs) -> ExitCode {
    let text = match std::fs::read(&args.file).map(|b| decode_xml_text(&b)) {
        Ok(Some(t)) => t,
        Ok(None) => {
            eprintln!("qoltanba: {}: only UTF-8 and UTF-16 XML files are read", args.file.display());
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("qoltanba: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let reports = match crate::xmldsig::verify_xml(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qoltanba: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{} signature(s)", reports.len());
    for (i, r) in reports.iter().enumerate() {
        println!();
        println!("signature {}: {}", i + 1, if r.is_valid() { "VALID" } else { "INVALID" });
        println!("  subject:   {}", r.subject);
        println!("  algorithm: {}", r.algorithm);
        for problem in &r.problems {
            println!("  problem:   {problem}");
        }
    }
    if !reports.is_empty() && reports.iter().all(|r| r.is_valid()) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// XML file bytes as text: UTF-8 (with or without BOM) or UTF-16 with a BOM.
fn decode_xml_text(bytes: &[u8]) -> Option<String> {
    let utf16 = |le: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16(&units).ok()
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(true),
        [0xFE, 0xFF, ..] => utf16(false),
        _ => String::from_utf8(bytes.to_vec()).ok(),
    }
}
