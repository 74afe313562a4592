//! Key hygiene: reminders before a key's certificate expires (30, 7 and 1 days
//! before, then once it has), with NCA RK's renewal steps, and a warning when a key
//! file sits where it should not: the Downloads folder, the Desktop, or a folder a
//! cloud service copies elsewhere.
//!
//! The keys are those the person used: the key files remembered in
//! [`super::recent::RecentFiles`] with the certificate seen when each was opened to
//! sign. Which reminders were already given is kept in `reminders-told` in the data
//! directory, so each is given once. The certificates of the keys used (files and
//! tokens) are kept too, and checked for revocation once a week (offline-safe: with no
//! CRL or OCSP answer, nothing is said).

use std::path::{Component, Path, PathBuf};

use crate::i18n::Locale;

/// Days before expiry at which the person is reminded.
pub const THRESHOLDS: [i64; 3] = [30, 7, 1];

/// Expired keys are reminded of for this many days after, then forgotten.
const EXPIRED_FOR_DAYS: i64 = 30;

const DAY: i64 = 86_400;

/// One reminder due now.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reminder {
    pub path: PathBuf,
    pub owner: String,
    /// The certificate's notAfter, Unix seconds.
    pub not_after: i64,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// The threshold reached (30, 7, 1), or 0 once expired.
    pub threshold: i64,
}

/// The reminders due at `now` (Unix seconds) for the keys seen.
pub fn due(seen: &[(PathBuf, super::recent::Seen)], now: i64) -> Vec<Reminder> {
    seen.iter()
        .filter_map(|(path, seen)| {
            let left = seen.not_after - now;
            let days_left = left.div_euclid(DAY);
            let threshold = if left <= 0 {
                (days_left >= -EXPIRED_FOR_DAYS).then_some(0)?
            } else {
                // The smallest threshold not below the days left: 29 days → 30, 6 → 7, 0 → 1.
                *THRESHOLDS.iter().rev().find(|t| days_left < **t)?
            };
            Some(Reminder {
                path: path.clone(),
                owner: seen.owner.clone(),
                not_after: seen.not_after,
                days_left,
                threshold,
            })
        })
        .collect()
}

/// The reminders of `due` not given before, remembered as given now in `data_dir`.
pub fn not_told(data_dir: &Path, due: Vec<Reminder>) -> Vec<Reminder> {
    let file = data_dir.join("reminders-told");
    let told = std::fs::read_to_string(&file).unwrap_or_default();
    let key = |r: &Reminder| format!("{}\t{}\t{}", r.path.display(), r.not_after, r.threshold);
    let fresh: Vec<Reminder> = due.into_iter().filter(|r| !told.lines().any(|l| l == key(r))).collect();
    if !fresh.is_empty() {
        // Only the last 100 lines are kept: a bounded file.
        let mut lines: Vec<String> = told.lines().map(str::to_owned).collect();
        lines.extend(fresh.iter().map(key));
        let keep = lines.len().saturating_sub(100);
        let text = lines[keep..].join("\n") + "\n";
        if let Err(e) = crate::platform::write_private_file(&file, text.as_bytes()) {
            tracing::debug!(error = %e, "reminders not remembered");
        }
    }
    fresh
}

/// How often the certificates of the keys used are checked for revocation.
pub const REVOCATION_EVERY_MS: i64 = 7 * DAY * 1000;

/// At most this many certificates of keys used are kept for the revocation check.
const KEPT_CERTIFICATES: usize = 10;

/// Keep the (public) certificate of a key used to sign, for the weekly revocation
/// check: `<data-dir>/used-certificates/<SHA-256>.cer`, the oldest dropped past ten.
pub fn keep_certificate(data_dir: &Path, der: &[u8]) {
    let dir = data_dir.join("used-certificates");
    let name = crate::keys::certificate::hex(&crate::crypto::sha256(der)) + ".cer";
    let path = dir.join(name);
    if path.exists() {
        return;
    }
    let written = std::fs::create_dir_all(&dir).and_then(|()| crate::platform::write_public_file(&path, der));
    if let Err(e) = written {
        tracing::debug!(error = %e, "the certificate of the key used was not kept");
        return;
    }
    let mut kept: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    kept.sort();
    for (_, old) in kept.iter().take(kept.len().saturating_sub(KEPT_CERTIFICATES)) {
        let _ = std::fs::remove_file(old);
    }
}

/// The certificates kept by [`keep_certificate`].
pub fn kept_certificates(data_dir: &Path) -> Vec<crate::keys::Certificate> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("used-certificates")) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .take(KEPT_CERTIFICATES * 2)
        .filter_map(|e| crate::platform::read_small_regular(&e.path(), 64 * 1024, None).ok())
        .filter_map(|der| crate::keys::Certificate::from_der(&der).ok())
        .collect()
}

/// A key used before whose certificate is now revoked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Revoked {
    pub owner: String,
    pub serial: String,
    /// When it was revoked, as the CRL or OCSP answer says.
    pub date: String,
}

/// Is the weekly revocation check due at `now_ms`?
pub fn revocation_due(data_dir: &Path, now_ms: i64) -> bool {
    let last =
        std::fs::read_to_string(data_dir.join("revocation-checked")).ok().and_then(|t| t.trim().parse::<i64>().ok());
    last.is_none_or(|last| now_ms - last >= REVOCATION_EVERY_MS || now_ms < last)
}

/// Check the kept certificates for revocation at `now_ms` (offline-safe: without an
/// answer nothing is said) and remember when. Expired keys are checked too.
pub fn check_revocation(trust: &crate::trust::TrustStore, data_dir: &Path, now_ms: i64) -> Vec<Revoked> {
    let req =
        crate::trust::Requirements { chain: crate::trust::ChainRule::Any, allow_expired: true, allow_revoked: false };
    let revoked = kept_certificates(data_dir)
        .iter()
        .filter_map(|cert| match trust.assess(cert, &req, now_ms).refusal {
            Some(crate::trust::Unusable::Revoked { date }) => {
                Some(Revoked { owner: cert.subject_cn(), serial: cert.serial_hex(), date })
            }
            _ => None,
        })
        .collect();
    let _ = crate::platform::write_public_file(&data_dir.join("revocation-checked"), now_ms.to_string().as_bytes());
    revoked
}

/// A revoked key in words, with what to do.
pub fn revoked_text(r: &Revoked, locale: Locale) -> String {
    let owner = crate::ui::sanitize::shown(&r.owner);
    match locale {
        Locale::Kk => format!(
            "{owner} кілтінің сертификаты {} кері қайтарылған: бұл кілтпен қол қоймаңыз. Өзіңіз қайтарып алмасаңыз, ҰКО ТК-ға (1414) дереу хабарласыңыз және жаңа кілт алыңыз.",
            r.date
        ),
        Locale::Ru => format!(
            "Сертификат ключа {owner} отозван {}: не подписывайте этим ключом. Если вы его не отзывали, сразу обратитесь в НУЦ РК (1414) и получите новый ключ.",
            r.date
        ),
        Locale::En => format!(
            "The certificate of {owner}'s key was revoked on {}: do not sign with this key. If you did not revoke it, contact NCA RK (1414) at once and get a new key.",
            r.date
        ),
    }
}

/// Where a key file should not be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// The browser's downloads folder: anything downloaded lands next to it.
    Downloads,
    /// The Desktop: in sight of anyone at the screen, and often synced.
    Desktop,
    /// A folder a cloud service (Dropbox, OneDrive, Google Drive, Yandex.Disk,
    /// iCloud, Mail.ru Cloud) copies to its servers.
    Synced,
}

/// Is the key file `path` in a folder it should not be in (`home`: the person's home)?
pub fn exposure(path: &Path, home: &Path) -> Option<Exposure> {
    let names: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().to_lowercase()),
            _ => None,
        })
        .collect();
    const SYNCED: [&str; 8] = [
        "dropbox",
        "onedrive",
        "google drive",
        "googledrive",
        "yandex.disk",
        "yandexdisk",
        "icloud drive",
        "cloud mail.ru",
    ];
    if names
        .iter()
        .any(|n| SYNCED.iter().any(|s| n == s || n.starts_with(&format!("{s} ")) || n.starts_with("onedrive -")))
    {
        return Some(Exposure::Synced);
    }
    let under_home = |folders: &[&str]| {
        let rel = path.strip_prefix(home).ok()?;
        let first = rel.components().next()?.as_os_str().to_string_lossy().to_lowercase();
        folders.contains(&first.as_str()).then_some(())
    };
    if under_home(&["downloads", "загрузки", "жүктеулер"]).is_some() {
        return Some(Exposure::Downloads);
    }
    if under_home(&["desktop", "рабочий стол", "жұмыс үстелі"]).is_some() {
        return Some(Exposure::Desktop);
    }
    None
}

/// A reminder in words, with what to do.
pub fn reminder_text(r: &Reminder, locale: Locale) -> String {
    let file = r.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (owner, file) = (crate::ui::sanitize::shown(&r.owner), crate::ui::sanitize::shown(&file));
    let date = crate::validation::in_astana(r.not_after.saturating_mul(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_default();
    let head = match (r.threshold, locale) {
        (0, Locale::Kk) => format!("{owner} кілтінің ({file}) мерзімі {date} өтті."),
        (0, Locale::Ru) => format!("Срок ключа {owner} ({file}) истёк {date}."),
        (0, Locale::En) => format!("The key of {owner} ({file}) expired on {date}."),
        (_, Locale::Kk) => format!("{owner} кілтінің ({file}) мерзімі {date} өтеді: {} күн қалды.", r.days_left.max(0)),
        (_, Locale::Ru) => format!("Ключ {owner} ({file}) истекает {date}: осталось дней: {}.", r.days_left.max(0)),
        (_, Locale::En) => format!("The key of {owner} ({file}) expires on {date}: {} days left.", r.days_left.max(0)),
    };
    let steps = match (r.threshold, locale) {
        (0, Locale::Kk) => {
            "Жаңа кілт алу үшін pki.gov.kz сайтында өтінішті қайта беріңіз (eGov mobile арқылы немесе ХҚКО-да)."
        }
        (0, Locale::Ru) => {
            "Чтобы получить новый ключ, подайте заявку заново на pki.gov.kz (через eGov mobile или в ЦОН)."
        }
        (0, Locale::En) => {
            "To get a new key, apply again on pki.gov.kz (through eGov mobile or at a ЦОН service centre)."
        }
        (_, Locale::Kk) => {
            "Мерзімі өтпей тұрып қайта шығарыңыз: pki.gov.kz → «Сертификат алу» → қайта шығару, өтінішке осы кілтпен қол қойыңыз, содан кейін жаңа кілт файлын сақтаңыз."
        }
        (_, Locale::Ru) => {
            "Перевыпустите его, пока он действует: pki.gov.kz → «Получить сертификат» → перевыпуск, подпишите заявку этим ключом, затем сохраните новый файл ключа."
        }
        (_, Locale::En) => {
            "Renew it while it is still valid: pki.gov.kz → “Get a certificate” → renewal, sign the application with this key, then save the new key file."
        }
    };
    format!("{head} {steps}")
}

/// The warning for a key file in an exposed folder, with what to do.
pub fn exposure_text(exposure: Exposure, locale: Locale) -> &'static str {
    match (exposure, locale) {
        (Exposure::Downloads, Locale::Kk) => {
            "Кілт файлы «Жүктеулер» қалтасында тұр: оны жеке қалтаға (мысалы, ~/ЭЦП) көшіріп, осындағысын жойыңыз."
        }
        (Exposure::Downloads, Locale::Ru) => {
            "Файл ключа лежит в «Загрузках»: перенесите его в отдельную папку (например, ~/ЭЦП), а этот удалите."
        }
        (Exposure::Downloads, Locale::En) => {
            "The key file is in Downloads: move it to a folder of its own (e.g. ~/EDS) and delete this copy."
        }
        (Exposure::Desktop, Locale::Kk) => "Кілт файлы жұмыс үстелінде тұр: оны жеке қалтаға көшіріңіз.",
        (Exposure::Desktop, Locale::Ru) => "Файл ключа лежит на рабочем столе: перенесите его в отдельную папку.",
        (Exposure::Desktop, Locale::En) => "The key file is on the Desktop: move it to a folder of its own.",
        (Exposure::Synced, Locale::Kk) => {
            "Кілт файлы бұлтқа көшірілетін қалтада тұр: оны бұлтқа синхрондалмайтын қалтаға көшіріп, бұлттағы көшірмесін жойыңыз."
        }
        (Exposure::Synced, Locale::Ru) => {
            "Файл ключа лежит в папке, которая копируется в облако: перенесите его в папку без синхронизации и удалите копию в облаке."
        }
        (Exposure::Synced, Locale::En) => {
            "The key file is in a folder copied to a cloud service: move it to a folder that is not synced and delete the cloud copy."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::recent::Seen;
    use super::*;

    #[test]
    fn reminders_come_at_30_7_and_1_days_and_after_expiry() {
        let not_after = 2_000_000_000;
        let seen = vec![(PathBuf::from("/k/a.p12"), Seen { owner: "ТЕСТОВ".into(), not_after })];
        let at = |days_before: f64| due(&seen, not_after - (days_before * DAY as f64) as i64);
        assert_eq!(at(45.0), vec![]);
        assert_eq!(at(30.0), vec![], "exactly 30 days left: not yet");
        assert_eq!(at(29.5)[0].threshold, 30);
        assert_eq!(at(8.0)[0].threshold, 30);
        assert_eq!(at(6.9)[0].threshold, 7);
        assert_eq!(at(0.5)[0].threshold, 1);
        assert_eq!(at(-1.0)[0].threshold, 0);
        assert_eq!(at(-31.0), vec![], "long expired: no more reminders");
        let text = reminder_text(&at(6.5)[0], Locale::En);
        assert!(text.starts_with("The key of ТЕСТОВ (a.p12) expires on 2033-05-18: 6 days left."), "{text}");
        assert!(text.contains("pki.gov.kz"));
    }

    #[test]
    fn each_reminder_is_told_once() {
        let dir = tempfile::tempdir().unwrap();
        let seen = vec![(PathBuf::from("/k/a.p12"), Seen { owner: "A".into(), not_after: 100 * DAY })];
        assert_eq!(not_told(dir.path(), due(&seen, 95 * DAY)).len(), 1);
        assert_eq!(not_told(dir.path(), due(&seen, 95 * DAY)), vec![]);
        assert_eq!(not_told(dir.path(), due(&seen, 94 * DAY)), vec![], "the same threshold");
        assert_eq!(not_told(dir.path(), due(&seen, 99 * DAY + 1)).len(), 1, "the next threshold");
    }

    #[test]
    fn key_files_in_downloads_on_the_desktop_or_in_synced_folders_are_found() {
        let home = Path::new("/home/aigul");
        let at = |p: &str| exposure(Path::new(p), home);
        assert_eq!(at("/home/aigul/Downloads/AUTH_RSA256.p12"), Some(Exposure::Downloads));
        assert_eq!(at("/home/aigul/Загрузки/x/RSA.p12"), Some(Exposure::Downloads));
        assert_eq!(at("/home/aigul/Рабочий стол/GOST.p12"), Some(Exposure::Desktop));
        assert_eq!(at("/home/aigul/Dropbox/keys/GOST.p12"), Some(Exposure::Synced));
        assert_eq!(at("/home/aigul/OneDrive - Company/GOST.p12"), Some(Exposure::Synced));
        assert_eq!(at("/home/aigul/ЭЦП/GOST.p12"), None);
        assert_eq!(at("/media/usb/Downloads/GOST.p12"), None, "another disk's Downloads is not the browser's");
    }
}
