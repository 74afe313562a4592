//! commonUtils `signXml` and `signXmls` (spec §3.3, §9.3): enveloped XMLDSig in
//! Santuario's layout. The signing core checks every document (well-formed, no
//! entities, XPaths resolve) before any dialog; the user confirms once for the array.

use super::{Arg, Failure, key_filter, str_arg};
use crate::signing::Operation;
use crate::xmldsig::Layout;

/// `signXml(storage, keyType, xml, tbsXPath, parentXPath)` and `signXmls(…, [xml…], …)`.
pub fn sign_xml(args: Vec<Arg<'_>>) -> Result<Operation, Failure> {
    let filter = key_filter(&args)?;
    let (tbs_xpath, parent_xpath) = (str_arg(&args, 3).to_owned(), str_arg(&args, 4).to_owned());
    let documents = match args.into_iter().nth(2) {
        Some(Arg::StrArray(items)) => items.into_iter().map(|x| x.into_owned()).collect(),
        Some(Arg::Str(xml)) => vec![xml.into_owned()],
        _ => vec![String::new()],
    };
    Ok(Operation::Xml { filter, documents, tbs_xpath, parent_xpath, layout: Layout::Santuario, xades_timestamp: false })
}
