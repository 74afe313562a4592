//! `qoltanba sites list|allow|deny|forget`: the person's answers about sites, in the
//! data directory; a running daemon reads the change at its next request.

use std::process::ExitCode;

use crate::cli::{SitesArgs, SitesCommand};
use crate::sites::{Permission, Sites};

/// Run one `sites` command: exit 0 on success, 1 on an error (a malformed origin, an
/// unwritable file), 2 when `forget` found nothing to forget.
pub fn sites(command: &SitesCommand) -> ExitCode {
    let data_dir = |args: &SitesArgs| args.data_dir.clone().unwrap_or_else(crate::platform::default_data_dir);
    let now = crate::platform::now_ms();
    let result = match command {
        SitesCommand::List(args) => {
            let sites = Sites::in_dir(&data_dir(args)).list();
            if args.json {
                let all: Vec<_> = sites
                    .iter()
                    .map(|(origin, site)| serde_json::json!({"origin": origin, "permission": site.permission, "since_ms": site.since_ms}))
                    .collect();
                println!("{}", serde_json::Value::Array(all));
            } else if sites.is_empty() {
                println!("No site has been allowed or denied yet: each site is asked at its first request.");
            } else {
                for (origin, site) in &sites {
                    let word = match site.permission {
                        Permission::Allow => "allowed",
                        Permission::Deny => "denied ",
                    };
                    let shown = if origin.is_empty() { "(requests without an origin)" } else { origin };
                    println!("{word}  {}  {shown}", date(site.since_ms));
                }
            }
            Ok(())
        }
        SitesCommand::Allow(args) | SitesCommand::Deny(args) => {
            let permission =
                if matches!(command, SitesCommand::Allow(_)) { Permission::Allow } else { Permission::Deny };
            let origin = args.origin.as_str();
            Sites::in_dir(&data_dir(&args.common)).set(Some(origin), permission, now).map(|()| {
                let done = if permission == Permission::Allow { "may now use" } else { "is now refused by" };
                println!("{} {done} qoltanba.", crate::sites::normalize(origin).unwrap_or_default());
            })
        }
        SitesCommand::Forget(args) => {
            let origin = args.origin.as_str();
            match Sites::in_dir(&data_dir(&args.common)).forget(Some(origin)) {
                Ok(true) => {
                    println!("Forgot {origin}: it is asked again at its next request.");
                    Ok(())
                }
                Ok(false) => {
                    eprintln!("qoltanba: {origin} was neither allowed nor denied.");
                    return ExitCode::from(2);
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qoltanba: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `YYYY-MM-DD` (UTC) of epoch milliseconds.
fn date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_default()
}
