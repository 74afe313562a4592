//! commonUtils `signXml` and `signXmls` (spec §3.3, §9.3): enveloped XMLDSig in
//! Santuario's layout. Every document is checked (well-formed, no entities, XPaths
//! resolve) before any dialog; the user confirms once for the whole array.

use serde_json::Value;

use super::{Arg, Failure, key_filter, str_arg};
use crate::protocol::{Dispatcher, MODULE_COMMON_UTILS, Session};
use crate::signing::summarize;
use crate::xmldsig::{self, Layout};

/// `signXml(storage, keyType, xml, tbsXPath, parentXPath)` and `signXmls(…, [xml…], …)`.
pub async fn sign_xml(d: &Dispatcher, session: &Session, args: Vec<Arg>, method: &str) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let (tbs, parent) = (str_arg(&args, 3).to_owned(), str_arg(&args, 4).to_owned());
    // Taken, not copied: documents can be large.
    let (documents, many) = match args.into_iter().nth(2) {
        Some(Arg::StrArray(items)) => (items, true),
        Some(Arg::Str(xml)) => (vec![xml], false),
        _ => (vec![String::new()], false),
    };
    for xml in &documents {
        xmldsig::check(xml, &tbs, &parent).map_err(|e| Failure::Message(e.to_string()))?;
    }
    let summaries = documents.iter().map(|x| summarize(x.as_bytes())).collect();
    let signed = d
        .sign(session.context.clone(), format!("{MODULE_COMMON_UTILS}.{method}"), filter, summaries, move |key| {
            documents
                .iter()
                .map(|xml| Ok(xmldsig::sign_xml(key, xml, &tbs, &parent, Layout::Santuario)?))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(if many { Value::from(signed) } else { Value::from(signed.into_iter().next().unwrap_or_default()) })
}
