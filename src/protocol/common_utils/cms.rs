//! commonUtils CMS methods (spec §3.3, §9.2). Results are base64 DER on one line.
//!
//! | method | content | timestamp |
//! |---|---|---|
//! | `createCAdESFromBase64` | data (or co-signs a CMS given as data) | no |
//! | `createCAdESFromBase64Hash` | a digest, detached | no |
//! | `createCMSSignatureFromBase64` | data | yes |
//! | `createCAdESFromFile` / `createCMSSignatureFromFile` | a local file | no / yes |
//! | `applyCAdEST` | adds timestamps to a CMS | yes |
//! | `showFileChooser` | the user picks a file in our chooser | |
//!
//! Each method's arguments become one typed [`Operation`]; which files may be read and
//! what the user sees is the signing core's business.

use std::path::PathBuf;

use super::{Arg, Failure, bool_arg, key_filter, str_arg};
use crate::protocol::data::decode_base64;
use crate::signing::{CmsInput, Operation};

/// Is `data` a CMS SignedData? (Then NCALayer co-signs it instead of signing the bytes.)
fn is_signed_data(data: &[u8]) -> bool {
    crate::compute::run_for(data.len(), || crate::cms::parse_signed_data(data).is_ok())
}

/// The base64 argument `i`, decoded; its text (borrowed from the frame) is not copied.
fn base64_arg(args: &[Arg<'_>], i: usize) -> Result<Vec<u8>, Failure> {
    decode_base64(str_arg(args, i)).map_err(Failure::Message)
}

/// `createCAdESFromBase64` and `createCMSSignatureFromBase64`:
/// `(storageName, keyType, base64Data, attach)`.
pub fn sign_base64(args: Vec<Arg<'_>>, timestamp: bool) -> Result<Operation, Failure> {
    let filter = key_filter(&args)?;
    let bytes = base64_arg(&args, 2)?;
    let attach = bool_arg(&args, 3);
    let input =
        if is_signed_data(&bytes) { CmsInput::CoSign(bytes) } else { CmsInput::Data { bytes: bytes.into(), attach } };
    Ok(Operation::Cms { filter, inputs: vec![input], timestamp })
}

/// `createCAdESFromBase64Hash(storageName, keyType, base64Digest)`: a detached CMS whose
/// messageDigest is the given digest, which must fit the chosen key's hash.
pub fn sign_hash(args: Vec<Arg<'_>>) -> Result<Operation, Failure> {
    let filter = key_filter(&args)?;
    let digest = base64_arg(&args, 2)?;
    if digest.is_empty() {
        return Err(Failure::Message("java.lang.IllegalArgumentException: empty hash".into()));
    }
    Ok(Operation::Cms { filter, inputs: vec![CmsInput::Digest(digest)], timestamp: false })
}

/// `createCAdESFromFile` and `createCMSSignatureFromFile`:
/// `(storageName, keyType, filePath, attach)`.
pub fn sign_file(args: &[Arg<'_>], timestamp: bool) -> Result<Operation, Failure> {
    let filter = key_filter(args)?;
    let input = CmsInput::File { path: PathBuf::from(str_arg(args, 2)), attach: bool_arg(args, 3) };
    Ok(Operation::Cms { filter, inputs: vec![input], timestamp })
}

/// `applyCAdEST(storageName, keyType, base64Cms)`: timestamp every signer that has no
/// timestamp yet. No key is needed; the signatures are unchanged.
pub fn apply_cades_t(args: &[Arg<'_>]) -> Result<Operation, Failure> {
    Ok(Operation::ApplyTimestamp { cms: base64_arg(args, 2)? })
}

/// `showFileChooser(fileExtension, currentDirectory)`: the absolute path picked.
pub fn show_file_chooser(args: &[Arg<'_>]) -> Operation {
    Operation::ChooseFile { extension: str_arg(args, 0).to_owned(), directory: str_arg(args, 1).to_owned() }
}
