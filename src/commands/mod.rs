//! Command-line subcommands other than `serve`, for people and scripts.

mod journal;
mod sign;
mod sites;
mod tokens;
mod trust;
mod verify;

pub use journal::journal;
pub use sign::sign;
pub use sites::sites;
pub use tokens::tokens;
pub use trust::{autostart, doctor, trust};
pub use verify::{verify_cms, verify_xml};

use std::io::BufRead;
use std::process::ExitCode;

use zeroize::Zeroizing;

use crate::cli::KeysInfoArgs;
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
        match password(&args.file, args.password_stdin) {
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

pub(crate) fn fail(message: &str) -> ExitCode {
    eprintln!("qoltanba: {message}");
    ExitCode::FAILURE
}

/// The password from `QOLTANBA_PASSWORD`, standard input (`--password-stdin`) or a
/// prompt without echo, in that order.
fn password(file: &std::path::Path, password_stdin: bool) -> std::io::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Zeroizing::new(p));
    }
    if password_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
        return Ok(trimmed);
    }
    rpassword::prompt_password(format!("Password for {}: ", file.display())).map(Zeroizing::new)
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

/// XML file bytes as text: UTF-8 (with or without BOM) or UTF-16 with a BOM.
pub(crate) fn decode_xml_text(bytes: &[u8]) -> Option<String> {
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

/// `qoltanba keys reminders`: exit 0; prints nothing when there is nothing to say.
pub fn keys_reminders(args: &crate::cli::RemindersArgs) -> ExitCode {
    use crate::keys::hygiene;
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::platform::default_data_dir);
    let now = args.check_time.unwrap_or_else(|| crate::platform::now_ms() / 1000);
    let recent = crate::keys::recent::RecentFiles::new(&data_dir);
    let reminders = hygiene::due(&recent.certificates(), now);
    let home = dirs::home_dir().unwrap_or_default();
    let exposed: Vec<_> =
        recent.list().into_iter().filter_map(|p| hygiene::exposure(&p, &home).map(|e| (p, e))).collect();
    let locale = crate::i18n::Locale::from_environment();
    let revoked = if args.revocation {
        let trust =
            crate::trust::TrustStore::new(Some(data_dir.join("trust")), crate::trust::ca_urls(&[]), !args.offline);
        hygiene::check_revocation(&trust, &data_dir, now.saturating_mul(1000))
    } else {
        Vec::new()
    };
    if args.json {
        let exposed: Vec<_> = exposed.iter().map(|(p, e)| serde_json::json!({"path": p, "exposure": e})).collect();
        println!("{}", serde_json::json!({"reminders": reminders, "exposed": exposed, "revoked": revoked}));
        return ExitCode::SUCCESS;
    }
    for r in &revoked {
        println!("{}", hygiene::revoked_text(r, locale));
    }
    for reminder in &reminders {
        println!("{}", hygiene::reminder_text(reminder, locale));
    }
    for (path, exposure) in &exposed {
        println!(
            "{}: {}",
            crate::ui::sanitize::shown(&path.display().to_string()),
            hygiene::exposure_text(*exposure, locale)
        );
    }
    ExitCode::SUCCESS
}
