//! `qoltanba tokens list` and `qoltanba tokens change-pin`.

use std::process::ExitCode;

use crate::cli::{TokensArgs, TokensCommand};
use crate::keys::Certificate;
use crate::keys::pkcs11::client::Modules;

pub fn tokens(command: &TokensCommand) -> ExitCode {
    match command {
        TokensCommand::List(args) => list(args),
        TokensCommand::ChangePin(args) => change_pin(args),
    }
}

/// `qoltanba tokens change-pin`, speaking the user's language (the one chosen in the
/// window, else the environment's).
fn change_pin(args: &crate::cli::ChangePinArgs) -> ExitCode {
    use crate::i18n::pin::{Pin, outcome};
    use crate::keys::pkcs11::PinChange;
    let locale = super::trust::locale(&crate::platform::default_data_dir());
    let program = match crate::platform::program_path() {
        Ok(p) => p,
        Err(e) => return super::fail(&e.to_string()),
    };
    let modules = Modules::new(crate::keys::pkcs11::modules(&args.modules.configured()), program);
    let present: Vec<_> = modules
        .present(None)
        .into_iter()
        .filter(|t| args.token.as_ref().is_none_or(|label| t.label == *label))
        .collect();
    let token = match present.as_slice() {
        [one] => one.clone(),
        [] => return super::fail(Pin::NoSuchToken.get(locale)),
        _ => return super::fail(Pin::ManyTokens.get(locale)),
    };
    let said = |change: &PinChange| outcome(change, &token.label, locale);
    let Some(module) = modules.module_of(&token) else { return super::fail(&said(&PinChange::Removed)) };
    let pins = match read_pins(args.pin_stdin, &token.label, locale) {
        Ok(p) => p,
        Err(e) => return super::fail(&e),
    };
    let [old, new, again] = &pins;
    if let Err(problem) = crate::keys::pkcs11::check_new_pin(new, again) {
        return super::fail(&said(&PinChange::Rejected { problem }));
    }
    match PinChange::of(module.change_pin(token.slot, &token.label, old, new)) {
        PinChange::Changed => {
            println!("{}", said(&PinChange::Changed));
            ExitCode::SUCCESS
        }
        other => super::fail(&said(&other)),
    }
}

/// The old PIN, the new one and the new one again.
fn read_pins(stdin: bool, label: &str, locale: crate::i18n::Locale) -> Result<[zeroize::Zeroizing<String>; 3], String> {
    use crate::i18n::pin::Pin;
    use std::io::BufRead;
    let read = |prompt: Pin| -> Result<zeroize::Zeroizing<String>, String> {
        if stdin {
            let mut line = zeroize::Zeroizing::new(String::new());
            std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
            Ok(zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned()))
        } else {
            let prompt = format!("{} ", prompt.get(locale));
            rpassword::prompt_password(prompt).map(zeroize::Zeroizing::new).map_err(|e| e.to_string())
        }
    };
    if !stdin {
        eprintln!("{} {}", Pin::Token.get(locale), crate::ui::sanitize::shown(label));
    }
    Ok([read(Pin::Current)?, read(Pin::New)?, read(Pin::Again)?])
}

#[derive(serde::Serialize)]
struct ModuleReport {
    path: String,
    storage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    slots: Vec<SlotReport>,
}

#[derive(serde::Serialize)]
struct SlotReport {
    slot: u64,
    description: String,
    token: Option<crate::keys::pkcs11::helper::TokenView>,
    keys: Vec<KeyReport>,
}

#[derive(serde::Serialize)]
struct KeyReport {
    id: String,
    owner: String,
    iin: Option<String>,
    issuer: String,
    not_after: String,
}

fn list(args: &TokensArgs) -> ExitCode {
    let program = match crate::platform::program_path() {
        Ok(p) => p,
        Err(e) => return super::fail(&e.to_string()),
    };
    let specs = crate::keys::pkcs11::modules(&args.modules.configured());
    if specs.is_empty() {
        eprintln!("qoltanba: no PKCS#11 module found; name one with --pkcs11-module PATH");
        return ExitCode::FAILURE;
    }
    let modules = Modules::new(specs, program);
    let mut reports = Vec::new();
    for module in &modules.modules {
        let mut report = ModuleReport {
            path: module.spec.path.display().to_string(),
            storage: module.spec.storage.clone(),
            error: None,
            slots: Vec::new(),
        };
        match module.slots() {
            Ok(slots) => {
                for slot in slots {
                    let keys = match slot.token {
                        Some(_) => module
                            .certificates(slot.slot, None)
                            .unwrap_or_default()
                            .iter()
                            .filter_map(key_report)
                            .collect(),
                        None => Vec::new(),
                    };
                    report.slots.push(SlotReport {
                        slot: slot.slot,
                        description: slot.description,
                        token: slot.token,
                        keys,
                    });
                }
            }
            Err(e) => report.error = Some(e.to_string()),
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::json!({ "modules": reports }));
    } else {
        print_reports(&reports);
    }
    if reports.iter().any(|r| r.error.is_some()) { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn key_report(view: &crate::keys::pkcs11::helper::CertificateView) -> Option<KeyReport> {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(&view.der).ok()?;
    let cert = Certificate::from_der(&der).ok()?;
    let not_after = crate::validation::in_astana(cert.not_after_ms()).map(|t| t.date().to_string()).unwrap_or_default();
    Some(KeyReport {
        id: view.id.clone(),
        owner: cert.subject_cn(),
        iin: cert.iin(),
        issuer: cert.issuer_cn(),
        not_after,
    })
}

fn print_reports(reports: &[ModuleReport]) {
    use crate::ui::sanitize::shown;
    for report in reports {
        println!("{} ({})", shown(&report.path), report.storage);
        if let Some(error) = &report.error {
            println!("  ✗ {}", shown(error));
        }
        for slot in &report.slots {
            match &slot.token {
                None => println!("  slot {}: {} — no token", slot.slot, shown(&slot.description)),
                Some(token) => {
                    let mut state = Vec::new();
                    if token.pin_locked {
                        state.push("PIN LOCKED");
                    } else if token.pin_final_try {
                        state.push("one PIN try left");
                    } else if token.pin_count_low {
                        state.push("a wrong PIN was entered");
                    }
                    let state = if state.is_empty() { String::new() } else { format!(" [{}]", state.join(", ")) };
                    println!(
                        "  slot {}: token \"{}\" ({} {}, serial {}){state}",
                        slot.slot,
                        shown(&token.label),
                        shown(&token.manufacturer),
                        shown(&token.model),
                        shown(&token.serial)
                    );
                    for key in &slot.keys {
                        let iin = key.iin.as_deref().map(|i| format!(", IIN {i}")).unwrap_or_default();
                        println!(
                            "    key id {}: {}{iin}; {}; valid until {}",
                            key.id,
                            shown(&key.owner),
                            shown(&key.issuer),
                            key.not_after
                        );
                    }
                }
            }
        }
    }
}
