//! Sign a file with a key file and print a base64 CAdES-BES (detached unless `--attach`).
//!
//! `cargo run --example sign_file -- KEY.p12 PASSWORD FILE [--attach] > sig.b64`

use base64::Engine;
use qoltanba::cms::{Content, sign_cades_bes};
use qoltanba::keys::load_key_file;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: sign_file KEY PASSWORD FILE [--attach]");
        std::process::exit(2);
    }
    let keys = load_key_file(args[1].as_ref(), &args[2])?;
    let data = std::fs::read(&args[3])?;
    let attach = args.get(4).is_some_and(|a| a == "--attach");
    let cms = sign_cades_bes(keys[0].as_ref(), Content::Data { bytes: &data, attach }, std::time::SystemTime::now())?;
    println!("{}", base64::engine::general_purpose::STANDARD.encode(cms));
    Ok(())
}
