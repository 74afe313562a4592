//! Sign an XML file with a key file: `cargo run --example xml_sign -- KEY.p12 PASSWORD FILE.xml [TBS_XPATH PARENT_XPATH]`.

use qoltanba::keys::load_key_file;
use qoltanba::xmldsig::{Layout, sign_xml};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: xml_sign KEY PASSWORD FILE.xml [TBS_XPATH PARENT_XPATH]");
        std::process::exit(2);
    }
    let keys = load_key_file(args[1].as_ref(), &args[2])?;
    let xml = std::fs::read_to_string(&args[3])?;
    let tbs = args.get(4).map(String::as_str).unwrap_or("");
    let parent = args.get(5).map(String::as_str).unwrap_or("");
    print!("{}", sign_xml(keys[0].as_ref(), &xml, tbs, parent, Layout::Santuario)?);
    Ok(())
}
