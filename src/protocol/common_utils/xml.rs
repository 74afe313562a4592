//! commonUtils `signXml` and `signXmls` (spec §3.3, §9.3): enveloped XMLDSig in
//! Santuario's layout. The signing core checks every document (well-formed, no
//! entities, XPaths resolve) before any dialog; the user confirms once for the array.

use serde_json::Value;

use super::{Arg, Failure, key_filter, str_arg};
use crate::protocol::{Dispatcher, Session};
use crate::signing::{Operation, Outcome, Signature, SigningError};
use crate::xmldsig::Layout;

/// `signXml(storage, keyType, xml, tbsXPath, parentXPath)` and `signXmls(…, [xml…], …)`.
pub fn sign_xml(d: &Dispatcher, session: &Session, args: Vec<Arg>) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let (tbs_xpath, parent_xpath) = (str_arg(&args, 3).to_owned(), str_arg(&args, 4).to_owned());
    // Taken, not copied: documents can be large.
    let (documents, many) = match args.into_iter().nth(2) {
        Some(Arg::StrArray(items)) => (items, true),
        Some(Arg::Str(xml)) => (vec![xml], false),
        _ => (vec![String::new()], false),
    };
    let operation = Operation::Xml { filter, documents, tbs_xpath, parent_xpath, layout: Layout::Santuario };
    let signed: Vec<String> = match d.execute(session, operation) {
        Ok(Outcome::Signed { signatures, .. }) => signatures
            .into_iter()
            .filter_map(|s| match s {
                Signature::Xml(xml) => Some(xml),
                _ => None,
            })
            .collect(),
        Ok(_) => return Err(SigningError::Failed(crate::signing::Failure::Internal("unexpected outcome")).into()),
        // Documents that cannot be signed answer with the parser's text, as before any dialog.
        Err(SigningError::Rejected(crate::signing::Rejection::Xml(e))) => return Err(Failure::Message(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    Ok(if many { Value::from(signed) } else { Value::from(signed.into_iter().next().unwrap_or_default()) })
}
