//! Module `kz.gov.pki.ncalayerservices.accessory` (spec §6): what is installed.
//!
//! Replies have no envelope. Sites check `getBundles` for NCALayer's standard bundle
//! names, so we list them with the versions of the NCALayer generation we follow.

use serde_json::{Map, Value, json};

use super::{MODULE_ACCESSORY, MODULE_BASICS, MODULE_COMMON_UTILS, method_name};

/// Handle one accessory request.
pub fn handle(request: &Map<String, Value>) -> Value {
    match method_name(request) {
        Some("getBundles") => json!({
            "kz.gov.pki.api.layer.NCALayerServices": "0.5.0",
            "kz.gov.pki.osgi.layer.common": "0.4.0",
            "kz.gov.pki.osgi.layer.websocket": "0.3.3",
            "kz.gov.pki.kalkan.knca_provider_jce_kalkan": "0.5.0",
            "kz.gov.pki.knca.commonUtils": "0.4.2",
            "kz.gov.pki.knca.basics": "0.5.1",
            "qoltanba": env!("CARGO_PKG_VERSION"),
        }),
        Some("getServices") => json!({"services": [MODULE_COMMON_UTILS, MODULE_BASICS, MODULE_ACCESSORY]}),
        // Java bundles cannot be installed into qoltanba, and it has no settings window
        // yet: say so rather than pretend.
        _ => json!({"success": false, "errorCode": "NOT_SUPPORTED"}),
    }
}
