//! `qoltanba sign FILE… --key FILE.p12`: signing local files from the command line, for
//! people who sign many files and for scripts. CAdES (attached or detached) or XAdES,
//! levels B, T (with a timestamp) and LT (CAdES with the chain and revocation data
//! inside, checkable offline years later).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use crate::cli::{SignArgs, SignFormat, SignLevel};
use crate::cms::ltv::ValidationData;
use crate::cms::tsp::TsaConfig;
use crate::keys::SigningKey;
use crate::keys::file::{load_key_file, needs_password, read_key_file};
use crate::validation::{Options, Validator, astana_time};

/// `qoltanba sign`: exit 0 when every file was signed, 1 otherwise (each failure is
/// said on stderr), 2 when nothing could start (arguments, key, password).
pub fn sign(args: &SignArgs) -> ExitCode {
    match prepare(args) {
        Ok((key, plan)) => run(args, key.as_ref(), &plan),
        Err(e) => {
            eprintln!("qoltanba: {e}");
            ExitCode::from(2)
        }
    }
}

/// What every file gets.
struct Plan {
    level: SignLevel,
    tsa: Option<TsaConfig>,
    long_term: Option<ValidationData>,
}

fn prepare(args: &SignArgs) -> Result<(Box<dyn SigningKey>, Plan), String> {
    let level = if args.tsa { args.level.max(SignLevel::T) } else { args.level };
    match args.format {
        SignFormat::Xades if args.detached => return Err("--detached is for CAdES; XAdES is enveloped".into()),
        SignFormat::Xades if level == SignLevel::Lt => {
            return Err("level LT is made for CAdES; XAdES goes up to T".into());
        }
        _ => {}
    }
    if args.output.is_some() && args.files.len() > 1 {
        return Err("--output names one file: give one input file, or leave --output out".into());
    }
    let bytes = Zeroizing::new(read_key_file(&args.key).map_err(|e| e.to_string())?);
    let password = if needs_password(&bytes) {
        super::password(&args.key, args.password_stdin).map_err(|e| format!("cannot read the password: {e}"))?
    } else {
        Zeroizing::new(String::new())
    };
    let mut keys = load_key_file(&args.key, &password).map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Err(format!("{}: the file holds no key", args.key.display()));
    }
    let key = keys.swap_remove(0);
    let cert = key.certificate();
    let now = crate::platform::now_ms();
    if !cert.is_valid_at(now) {
        return Err(format!(
            "the key's certificate is valid from {} to {}: it cannot sign now (NCA RK issues new keys at pki.gov.kz)",
            astana_time(cert.not_before_ms()),
            astana_time(cert.not_after_ms())
        ));
    }
    let tsa =
        (level >= SignLevel::T).then(|| TsaConfig { url: args.tsa_url.clone(), timeout: Duration::from_secs(30) });
    let long_term = if level == SignLevel::Lt {
        let (trust, material) = super::verify::material(&args.material)?;
        let store = super::verify::trust_store(&args.material);
        let validator = Validator::new(&store, Options { trust, material, now_ms: now, ..Options::default() });
        Some(validator.long_term_data(cert).map_err(|e| format!("cannot make an LT signature: {e}"))?)
    } else {
        None
    };
    Ok((key, Plan { level, tsa, long_term }))
}

fn run(args: &SignArgs, key: &dyn SigningKey, plan: &Plan) -> ExitCode {
    let total = args.files.len();
    let mut failed = 0usize;
    for (i, file) in args.files.iter().enumerate() {
        let output = args.output.clone().unwrap_or_else(|| output_path(file, args.format));
        let result = if output.exists() && !args.force {
            Err(format!("{} exists (--force replaces it)", output.display()))
        } else {
            sign_one(args, key, plan, file).and_then(|bytes| {
                crate::platform::write_public_file(&output, &bytes).map_err(|e| format!("{}: {e}", output.display()))
            })
        };
        match result {
            Ok(()) => eprintln!("[{}/{total}] {} → {}", i + 1, file.display(), output.display()),
            Err(e) => {
                failed += 1;
                eprintln!("[{}/{total}] {}: {e}", i + 1, file.display());
            }
        }
    }
    if failed > 0 {
        eprintln!("qoltanba: {failed} of {total} file(s) not signed");
        return ExitCode::FAILURE;
    }
    let level = match plan.level {
        SignLevel::B => "B",
        SignLevel::T => "T",
        SignLevel::Lt => "LT",
    };
    eprintln!("qoltanba: {total} file(s) signed (level {level})");
    ExitCode::SUCCESS
}

/// `FILE.cms` for CAdES; `NAME.signed.xml` for XAdES.
fn output_path(file: &Path, format: SignFormat) -> PathBuf {
    match format {
        SignFormat::Cades => {
            let mut name = file.as_os_str().to_owned();
            name.push(".cms");
            PathBuf::from(name)
        }
        SignFormat::Xades => file.with_extension("signed.xml"),
    }
}

fn sign_one(args: &SignArgs, key: &dyn SigningKey, plan: &Plan, file: &Path) -> Result<Vec<u8>, String> {
    let now = SystemTime::now();
    match args.format {
        SignFormat::Cades => {
            let mut cms = if args.detached {
                let digest = hash_file(file, key)?;
                crate::cms::sign_cades_bes(key, crate::cms::Content::Digest(&digest), now)
            } else {
                let bytes = std::fs::read(file).map_err(|e| e.to_string())?;
                crate::cms::sign_cades_bes(key, crate::cms::Content::Data { bytes: &bytes, attach: true }, now)
            }
            .map_err(|e| e.to_string())?;
            if let Some(tsa) = &plan.tsa {
                cms = crate::cms::tsp::add_timestamps(&cms, tsa).map_err(|e| e.to_string())?;
            }
            if let Some(data) = &plan.long_term {
                cms = crate::cms::ltv::add_validation_data(&cms, data).map_err(|e| e.to_string())?;
            }
            Ok(cms)
        }
        SignFormat::Xades => {
            let bytes = std::fs::read(file).map_err(|e| e.to_string())?;
            let text =
                super::decode_xml_text(&bytes).ok_or("only UTF-8 and UTF-16 XML files can be signed as XAdES")?;
            let signed = crate::xmldsig::sign_xades(&text, key, now, plan.tsa.as_ref()).map_err(|e| e.to_string())?;
            Ok(signed.into_bytes())
        }
    }
}

/// The file's digest with the key's digest algorithm, read in pieces.
fn hash_file(file: &Path, key: &dyn SigningKey) -> Result<Vec<u8>, String> {
    let mut reader = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let digests =
        crate::cms::verify::hash_all(&[key.algorithm().digest_oid()], &mut reader).map_err(|e| e.to_string())?;
    digests.into_iter().next().map(|(_, digest)| digest).ok_or_else(|| "unknown digest algorithm".into())
}
