//! The words of the desktop dialogs, in Kazakh, Russian and English.

use super::Locale;
use crate::signing::Action;
use crate::ui::{DocumentSummary, Shown};

/// A label or button of the desktop dialogs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    Site,
    ChooseKeyTitle,
    KeyFilePath,
    Browse,
    RecentKeys,
    Tokens,
    Next,
    Cancel,
    PasswordTitle,
    Password,
    CapsLock,
    WrongPassword,
    TriesLeft,
    Checking,
    PickKeyTitle,
    NoUsableKey,
    Owner,
    Iin,
    Bin,
    Organization,
    Purpose,
    PurposeSigning,
    PurposeAuthentication,
    Issuer,
    TestIssuer,
    Valid,
    ConfirmTitle,
    Signer,
    Documents,
    Sign,
    Close,
    ChooseFileTitle,
    SiteTitle,
    SiteExplained,
    SiteAsksFor,
    AllowOnce,
    AllowAlways,
    DenySite,
    FilePath,
    Choose,
    SiteLogo,
    StateRunning,
    StatePaused,
    StopSigning,
    ResumeSigning,
    RecentSignatures,
    SitesMenu,
    NoSitesYet,
    NoOrigin,
    AllowSiteCommand,
    DenySiteCommand,
    ForgetSite,
    NoSignaturesYet,
    KeysMenu,
    NoKeysYet,
    OpenWindow,
    Quit,
    MainTitle,
    PausedExplained,
    Language,
    TsaUrl,
    TsaInvalid,
    Save,
    OfflineOn,
    OfflineOff,
    BrowsersTrust,
    BrowsersDoNotTrust,
    BrowsersTrustUnknown,
    TrustBrowsers,
    StartAtLogin,
    About,
    AboutWhat,
    AsksToSign,
    ShowWindow,
    /// The tray's and the main window's way to the PIN change window.
    ChangeTokenPin,
}

impl Text {
    /// The text in `locale`.
    pub fn get(self, locale: Locale) -> &'static str {
        use Locale::*;
        use Text::*;
        match (self, locale) {
            (Site, Kk) => "Сұрау жіберген сайт",
            (Site, Ru) => "Запрос от сайта",
            (Site, En) => "Request from",
            (ChooseKeyTitle, Kk) => "Кілтті таңдаңыз",
            (ChooseKeyTitle, Ru) => "Выберите ключ",
            (ChooseKeyTitle, En) => "Choose your key",
            (KeyFilePath, Kk) => "Кілт файлы (.p12):",
            (KeyFilePath, Ru) => "Файл ключа (.p12):",
            (KeyFilePath, En) => "Key file (.p12):",
            (Browse, Kk) => "Шолу…",
            (Browse, Ru) => "Обзор…",
            (Browse, En) => "Browse…",
            (RecentKeys, Kk) => "Соңғы кілттер:",
            (RecentKeys, Ru) => "Недавние ключи:",
            (RecentKeys, En) => "Recent keys:",
            (Tokens, Kk) => "Токендер:",
            (Tokens, Ru) => "Токены:",
            (Tokens, En) => "Tokens:",
            (Next, Kk) => "Әрі қарай",
            (Next, Ru) => "Далее",
            (Next, En) => "Next",
            (Cancel, Kk) => "Бас тарту",
            (Cancel, Ru) => "Отмена",
            (Cancel, En) => "Cancel",
            (PasswordTitle, Kk) => "Кілт файлының құпия сөзі",
            (PasswordTitle, Ru) => "Пароль от файла ключа",
            (PasswordTitle, En) => "Password of the key file",
            (Password, Kk) => "Құпия сөз:",
            (Password, Ru) => "Пароль:",
            (Password, En) => "Password:",
            (CapsLock, Kk) => "Caps Lock қосулы сияқты",
            (CapsLock, Ru) => "Похоже, включён Caps Lock",
            (CapsLock, En) => "Caps Lock seems to be on",
            (WrongPassword, Kk) => "Құпия сөз қате.",
            (WrongPassword, Ru) => "Неверный пароль.",
            (WrongPassword, En) => "Wrong password.",
            (TriesLeft, Kk) => "Қалған әрекет:",
            (TriesLeft, Ru) => "Осталось попыток:",
            (TriesLeft, En) => "Tries left:",
            (Checking, Kk) => "Сертификат тексерілуде…",
            (Checking, Ru) => "Проверка сертификата…",
            (Checking, En) => "Checking the certificate…",
            (PickKeyTitle, Kk) => "Файлдағы кілтті таңдаңыз",
            (PickKeyTitle, Ru) => "Выберите ключ из файла",
            (PickKeyTitle, En) => "Choose a key from the file",
            (NoUsableKey, Kk) => "Бұл файлдағы кілттердің ешқайсысы бұл сұрауға жарамайды.",
            (NoUsableKey, Ru) => "Ни один ключ из этого файла не подходит для этого запроса.",
            (NoUsableKey, En) => "No key in this file can be used for this request.",
            (Owner, Kk) => "Иесі",
            (Owner, Ru) => "Владелец",
            (Owner, En) => "Owner",
            (Iin, Kk) => "ЖСН",
            (Iin, Ru) => "ИИН",
            (Iin, En) => "IIN",
            (Bin, Kk) => "БСН",
            (Bin, Ru) => "БИН",
            (Bin, En) => "BIN",
            (Organization, Kk) => "Ұйым",
            (Organization, Ru) => "Организация",
            (Organization, En) => "Organisation",
            (Purpose, Kk) => "Мақсаты",
            (Purpose, Ru) => "Назначение",
            (Purpose, En) => "Purpose",
            (PurposeSigning, Kk) => "қол қою",
            (PurposeSigning, Ru) => "подпись",
            (PurposeSigning, En) => "signing",
            (PurposeAuthentication, Kk) => "аутентификация",
            (PurposeAuthentication, Ru) => "аутентификация",
            (PurposeAuthentication, En) => "authentication",
            (Issuer, Kk) => "Берген",
            (Issuer, Ru) => "Издатель",
            (Issuer, En) => "Issued by",
            (TestIssuer, Kk) => "ТЕСТ кілті — заңды күші жоқ",
            (TestIssuer, Ru) => "ТЕСТОВЫЙ ключ — без юридической силы",
            (TestIssuer, En) => "TEST key — no legal force",
            (Valid, Kk) => "Жарамды",
            (Valid, Ru) => "Действует",
            (Valid, En) => "Valid",
            (ConfirmTitle, Kk) => "Қол қоюды растаңыз",
            (ConfirmTitle, Ru) => "Подтвердите подписание",
            (ConfirmTitle, En) => "Confirm the signature",
            (Signer, Kk) => "Қол қоюшы",
            (Signer, Ru) => "Подписант",
            (Signer, En) => "Signer",
            (Documents, Kk) => "Құжаттар",
            (Documents, Ru) => "Документы",
            (Documents, En) => "Documents",
            (Sign, Kk) => "Қол қою",
            (Sign, Ru) => "Подписать",
            (Sign, En) => "Sign",
            (Close, Kk) => "Жабу",
            (Close, Ru) => "Закрыть",
            (Close, En) => "Close",
            (ChooseFileTitle, Kk) => "Файлды таңдаңыз",
            (ChooseFileTitle, Ru) => "Выберите файл",
            (ChooseFileTitle, En) => "Choose a file",
            (SiteTitle, Kk) => "Бұл сайт qoltanba-ны алғаш рет пайдаланғысы келеді",
            (SiteTitle, Ru) => "Этот сайт впервые обращается к qoltanba",
            (SiteTitle, En) => "This site asks to use qoltanba for the first time",
            (SiteExplained, Kk) => {
                "Рұқсат етсеңіз, сайт кілтті таңдауды және қол қоюды сұрай алады; әр қолтаңбаны бәрібір сіз растайсыз. Сайтты танымасаңыз, «Ешқашан» басыңыз."
            }
            (SiteExplained, Ru) => {
                "Если разрешить, сайт сможет просить выбрать ключ и подписать; каждую подпись вы всё равно подтверждаете сами. Если вы не знаете этот сайт, нажмите «Никогда»."
            }
            (SiteExplained, En) => {
                "If you allow it, the site may ask you to choose a key and to sign; you still approve every signature yourself. If you do not know this site, choose Never."
            }
            (SiteAsksFor, Kk) => "Қазір сұрайтыны:",
            (SiteAsksFor, Ru) => "Сейчас просит:",
            (SiteAsksFor, En) => "It asks now to:",
            (AllowOnce, Kk) => "Бір рет",
            (AllowOnce, Ru) => "Один раз",
            (AllowOnce, En) => "Once",
            (AllowAlways, Kk) => "Әрқашан",
            (AllowAlways, Ru) => "Всегда",
            (AllowAlways, En) => "Always",
            (DenySite, Kk) => "Ешқашан",
            (DenySite, Ru) => "Никогда",
            (DenySite, En) => "Never",
            (FilePath, Kk) => "Файл:",
            (FilePath, Ru) => "Файл:",
            (FilePath, En) => "File:",
            (Choose, Kk) => "Таңдау",
            (Choose, Ru) => "Выбрать",
            (Choose, En) => "Choose",
            (SiteLogo, Kk) => "сайттың өз суреті",
            (SiteLogo, Ru) => "картинка от самого сайта",
            (SiteLogo, En) => "the site's own picture",
            (StateRunning, Kk) => "жұмыс істеп тұр",
            (StateRunning, Ru) => "работает",
            (StateRunning, En) => "running",
            (StatePaused, Kk) => "қол қою тоқтатылған",
            (StatePaused, Ru) => "подписание остановлено",
            (StatePaused, En) => "signing stopped",
            (StopSigning, Kk) => "Қол қоюды уақытша тоқтату",
            (StopSigning, Ru) => "Остановить подписание",
            (StopSigning, En) => "Stop signing for now",
            (ResumeSigning, Kk) => "Қол қоюды қайта қосу",
            (ResumeSigning, Ru) => "Возобновить подписание",
            (ResumeSigning, En) => "Resume signing",
            (SitesMenu, Kk) => "Сайттар",
            (SitesMenu, Ru) => "Сайты",
            (SitesMenu, En) => "Sites",
            (NoSitesYet, Kk) => "Әзірге ешбір сайтқа жауап берілмеген: әр сайт алғашқы сұрауында сұралады",
            (NoSitesYet, Ru) => "Пока ни одного ответа: каждый сайт спрашивается при первом запросе",
            (NoSitesYet, En) => "No answers yet: each site is asked at its first request",
            (NoOrigin, Kk) => "(сайтсыз сұраулар)",
            (NoOrigin, Ru) => "(запросы без сайта)",
            (NoOrigin, En) => "(requests without a site)",
            (AllowSiteCommand, Kk) => "Рұқсат ету",
            (AllowSiteCommand, Ru) => "Разрешить",
            (AllowSiteCommand, En) => "Allow",
            (DenySiteCommand, Kk) => "Тыйым салу",
            (DenySiteCommand, Ru) => "Запретить",
            (DenySiteCommand, En) => "Deny",
            (ForgetSite, Kk) => "Ұмыту (келесі жолы сұрау)",
            (ForgetSite, Ru) => "Забыть (спросить снова)",
            (ForgetSite, En) => "Forget (ask again)",
            (RecentSignatures, Kk) => "Соңғы қолтаңбалар",
            (RecentSignatures, Ru) => "Последние подписи",
            (RecentSignatures, En) => "Recent signatures",
            (NoSignaturesYet, Kk) => "Әзірге қолтаңба жоқ",
            (NoSignaturesYet, Ru) => "Подписей пока нет",
            (NoSignaturesYet, En) => "No signatures yet",
            (KeysMenu, Kk) => "Кілттер",
            (KeysMenu, Ru) => "Ключи",
            (KeysMenu, En) => "Keys",
            (NoKeysYet, Kk) => "Кілт әлі пайдаланылмаған",
            (NoKeysYet, Ru) => "Ключи ещё не использовались",
            (NoKeysYet, En) => "No key used yet",
            (OpenWindow, Kk) => "qoltanba терезесін ашу",
            (OpenWindow, Ru) => "Открыть окно qoltanba",
            (OpenWindow, En) => "Open qoltanba's window",
            (Quit, Kk) => "Шығу",
            (Quit, Ru) => "Выход",
            (Quit, En) => "Quit",
            (MainTitle, Kk) => "qoltanba — ЭЦҚ қол қою қызметі",
            (MainTitle, Ru) => "qoltanba — служба подписания ЭЦП",
            (MainTitle, En) => "qoltanba — the signing service",
            (TsaUrl, Kk) => "Уақыт белгісі сервері (TSA)",
            (TsaUrl, Ru) => "Сервер меток времени (TSA)",
            (TsaUrl, En) => "Timestamp server (TSA)",
            (TsaInvalid, Kk) => "Мекенжай http:// немесе https:// деп басталуы керек.",
            (TsaInvalid, Ru) => "Адрес должен начинаться с http:// или https://.",
            (TsaInvalid, En) => "The address must start with http:// or https://.",
            (Save, Kk) => "Сақтау",
            (Save, Ru) => "Сохранить",
            (Save, En) => "Save",
            (Language, Kk) => "Тіл",
            (Language, Ru) => "Язык",
            (Language, En) => "Language",
            (OfflineOn, Kk) => "Желісіз режим: қосулы",
            (OfflineOn, Ru) => "Автономный режим: включён",
            (OfflineOn, En) => "Offline mode: on",
            (OfflineOff, Kk) => "Желісіз режим: өшірулі",
            (OfflineOff, Ru) => "Автономный режим: выключен",
            (OfflineOff, En) => "Offline mode: off",
            (PausedExplained, Kk) => "Сайттардың барлық сұраулары қабылданбайды, қайта қосқанша.",
            (PausedExplained, Ru) => "Все запросы сайтов отклоняются, пока вы не возобновите подписание.",
            (PausedExplained, En) => "Every request from sites is refused until you resume signing.",
            (BrowsersTrust, Kk) => "Браузерлер qoltanba-ға сенеді",
            (BrowsersTrust, Ru) => "Браузеры доверяют qoltanba",
            (BrowsersTrust, En) => "Browsers trust qoltanba",
            (BrowsersDoNotTrust, Kk) => "Браузерлер qoltanba-ға әлі сенбейді: сайттар оған қосыла алмайды",
            (BrowsersDoNotTrust, Ru) => "Браузеры ещё не доверяют qoltanba: сайты не могут к нему подключиться",
            (BrowsersDoNotTrust, En) => "Browsers do not trust qoltanba yet: sites cannot connect to it",
            (BrowsersTrustUnknown, Kk) => "Браузер профильдері табылмады (qoltanba doctor қараңыз)",
            (BrowsersTrustUnknown, Ru) => "Профили браузеров не найдены (см. qoltanba doctor)",
            (BrowsersTrustUnknown, En) => "No browser profile found (see qoltanba doctor)",
            (TrustBrowsers, Kk) => "Браузерлер qoltanba-ға сенсін",
            (TrustBrowsers, Ru) => "Сделать qoltanba доверенным для браузеров",
            (TrustBrowsers, En) => "Make browsers trust qoltanba",
            (StartAtLogin, Kk) => "Жүйеге кіргенде іске қосу",
            (StartAtLogin, Ru) => "Запускать при входе в систему",
            (StartAtLogin, En) => "Start at login",
            (About, Kk) => "Бағдарлама туралы",
            (About, Ru) => "О программе",
            (About, En) => "About",
            (AboutWhat, Kk) => "NCALayer-мен үйлесімді ЭЦҚ қол қою қызметі. Ашық бастапқы код, MIT немесе Apache-2.0.",
            (AboutWhat, Ru) => "Служба подписания ЭЦП, совместимая с NCALayer. Открытый код, MIT или Apache-2.0.",
            (AboutWhat, En) => "An NCALayer-compatible signing service. Open source, MIT or Apache-2.0.",
            (AsksToSign, Kk) => "қолтаңбаңызды сұрайды: qoltanba терезесін ашу үшін басыңыз",
            (AsksToSign, Ru) => "запрашивает вашу подпись: нажмите, чтобы открыть окно qoltanba",
            (AsksToSign, En) => "asks for your signature: click to show qoltanba's window",
            (ShowWindow, Kk) => "Көрсету",
            (ShowWindow, Ru) => "Показать",
            (ShowWindow, En) => "Show",
            (ChangeTokenPin, Kk) => "Токеннің PIN-кодын өзгерту…",
            (ChangeTokenPin, Ru) => "Сменить PIN-код токена…",
            (ChangeTokenPin, En) => "Change token PIN…",
        }
    }
}

/// What is asked, in words: "Sign 3 documents", "Co-sign a document", "Sign a hash
/// the page computed — you cannot see what it is"...
pub fn operation(action: Action, documents: &[DocumentSummary], locale: Locale) -> String {
    use Locale::*;
    let n = documents.len();
    let blind = n > 0 && documents.iter().all(|d| matches!(d.shown, Shown::BlindHash { .. }));
    let files = n > 0 && documents.iter().all(|d| matches!(d.shown, Shown::File { .. }));
    match (action, locale) {
        (Action::ShowKey, Kk) => "Кілтіңізді пайдалану: сайт сертификатыңызды көреді".into(),
        (Action::ShowKey, Ru) => "Использовать ваш ключ: сайт увидит ваш сертификат".into(),
        (Action::ShowKey, En) => "Use your key: the site will see your certificate".into(),
        (Action::CoSign, Kk) => "Қол қойылған құжатқа қолтаңбаңызды қосу".into(),
        (Action::CoSign, Ru) => "Добавить вашу подпись к подписанному документу".into(),
        (Action::CoSign, En) => "Co-sign a document".into(),
        (Action::Timestamp, Kk) => "Уақыт белгісін қосу".into(),
        (Action::Timestamp, Ru) => "Добавить метку времени".into(),
        (Action::Timestamp, En) => "Add a timestamp".into(),
        (Action::ChooseFile, Kk) => "Файл таңдау".into(),
        (Action::ChooseFile, Ru) => "Выбрать файл".into(),
        (Action::ChooseFile, En) => "Pick a file".into(),
        (_, Kk) if blind => "Бет есептеген хешке қол қою — оның неден алынғанын көре алмайсыз".into(),
        (_, Ru) if blind => "Подписать хеш, вычисленный страницей, — вы не видите, от чего он".into(),
        (_, En) if blind => "Sign a hash the page computed — you cannot see what it is".into(),
        (_, Kk) if files => format!("Компьютердегі {n} файлға қол қою"),
        (_, Ru) if files => format!("Подписать {n} {} на этом компьютере", ru_plural(n, "файл", "файла", "файлов")),
        (_, En) if files => format!("Sign {n} file{} on this computer", if n == 1 { "" } else { "s" }),
        (Action::SignCmsTimestamped, Kk) => format!("{n} құжатқа уақыт белгісімен қол қою"),
        (Action::SignCmsTimestamped, Ru) => {
            format!("Подписать {n} {} с меткой времени", ru_plural(n, "документ", "документа", "документов"))
        }
        (Action::SignCmsTimestamped, En) => format!("Sign {n} {} with a timestamp", en_documents(n)),
        (_, Kk) => format!("{n} құжатқа қол қою"),
        (_, Ru) => format!("Подписать {n} {}", ru_plural(n, "документ", "документа", "документов")),
        (_, En) => format!("Sign {n} {}", en_documents(n)),
    }
}

/// What a confirmation asks, in words, for every front end: [`operation`], except that
/// signing with a key made for logging in only (authentication, not signing) is a
/// login: "Log in to <site>".
pub fn confirmation_operation(confirmation: &crate::ui::Confirmation<'_>, locale: Locale) -> String {
    let signer = confirmation.signer;
    let signs = matches!(confirmation.action, Action::SignCms | Action::SignXml | Action::SignRaw);
    if signs && signer.login_only() {
        let site = site(confirmation.context.origin.as_deref(), locale);
        let login = match locale {
            Locale::Kk => format!("{site} сайтына кіру"),
            Locale::Ru => format!("Войти на {site}"),
            Locale::En => format!("Log in to {site}"),
        };
        let Some(other) = confirmation.other_domain.map(crate::ui::sanitize::shown) else { return login };
        return match locale {
            Locale::Kk => format!(
                "{login} — ⚠ кіру мәтінінде басқа сайт аталған: {other}. Сол сайтқа кіргіңіз келмесе, бас тартыңыз."
            ),
            Locale::Ru => {
                format!("{login} — ⚠ текст входа называет другой сайт: {other}. Если вы не входите на него, отмените.")
            }
            Locale::En => format!(
                "{login} — ⚠ the login text names another site: {other}. Cancel unless you are logging in there."
            ),
        };
    }
    operation(confirmation.action, confirmation.documents, locale)
}

/// The requesting site as a line of text: its origin, shown safely, or that the page
/// did not say.
pub fn site(origin: Option<&str>, locale: Locale) -> String {
    match origin {
        Some(o) => crate::ui::sanitize::shown(o),
        None => super::Word::NoOrigin.get(locale).to_owned(),
    }
}

/// A notification: its title and its text.
pub fn notice(notice: &crate::activity::Notice, locale: Locale) -> (String, String) {
    use crate::activity::Notice;
    use Locale::*;
    let site = |origin: &Option<String>| site(origin.as_deref(), locale);
    match (notice, locale) {
        (Notice::Signed(s), Kk) => (format!("{} — қол қойылды", site(&s.origin)), format!("Қолтаңбалар: {} ({})", s.documents, crate::ui::sanitize::shown(&s.signer))),
        (Notice::Signed(s), Ru) => (format!("{} — подписано", site(&s.origin)), format!("Подписей: {} ({})", s.documents, crate::ui::sanitize::shown(&s.signer))),
        (Notice::Signed(s), En) => (format!("{} — signed", site(&s.origin)), format!("Signatures: {} ({})", s.documents, crate::ui::sanitize::shown(&s.signer))),
        (Notice::TimestampFailed { origin }, Kk) => (site(origin), "Уақыт белгісі сервері жауап бермеді: қолтаңба жіберілмеді. Интернетті тексеріп, қайталаңыз.".into()),
        (Notice::TimestampFailed { origin }, Ru) => (site(origin), "Сервер меток времени не ответил: подпись не отправлена. Проверьте интернет и повторите.".into()),
        (Notice::TimestampFailed { origin }, En) => (site(origin), "The timestamp server did not answer: the signature was not sent. Check the internet connection and try again.".into()),
        (Notice::RefusedWhilePaused { origin }, Kk) => (site(origin), "Қол қою тоқтатылған: сұрау қабылданбады. Оны qoltanba мәзірінде қосыңыз.".into()),
        (Notice::RefusedWhilePaused { origin }, Ru) => (site(origin), "Подписание остановлено: запрос отклонён. Включите его в меню qoltanba.".into()),
        (Notice::RefusedWhilePaused { origin }, En) => (site(origin), "Signing is stopped: the request was refused. Turn it on in qoltanba's menu.".into()),
        (Notice::PortTaken { text }, Kk) => ("qoltanba іске қосылмады".into(), text.clone()),
        (Notice::PortTaken { text }, Ru) => ("qoltanba не запущен".into(), text.clone()),
        (Notice::PortTaken { text }, En) => ("qoltanba did not start".into(), text.clone()),
        (Notice::KeyRevoked(r), _) => {
            let title = match locale {
                Kk => "Кілттің сертификаты кері қайтарылған",
                Ru => "Сертификат ключа отозван",
                En => "A key's certificate was revoked",
            };
            (title.into(), crate::keys::hygiene::revoked_text(r, locale))
        }
        (Notice::KeyExpiring(r), _) => {
            let title = match (r.threshold, locale) {
                (0, Kk) => "Кілттің мерзімі өтті",
                (0, Ru) => "Срок ключа истёк",
                (0, En) => "A key has expired",
                (_, Kk) => "Кілттің мерзімі жақында өтеді",
                (_, Ru) => "Скоро истекает срок ключа",
                (_, En) => "A key expires soon",
            };
            (title.into(), crate::keys::hygiene::reminder_text(r, locale))
        }
        (Notice::FactoryPin { token }, Kk) => (format!("«{}» токенінің PIN-коды зауыттық", crate::ui::sanitize::shown(token)), format!("Зауыттық PIN ештеңені қорғамайды: оны qoltanba мәзіріндегі «{}» арқылы өзгертіңіз (немесе qoltanba tokens change-pin).", Text::ChangeTokenPin.get(Kk))),
        (Notice::FactoryPin { token }, Ru) => (format!("У токена «{}» заводской PIN-код", crate::ui::sanitize::shown(token)), format!("Заводской PIN ничего не защищает: смените его в меню qoltanba, «{}» (или qoltanba tokens change-pin).", Text::ChangeTokenPin.get(Ru))),
        (Notice::FactoryPin { token }, En) => (format!("The token \"{}\" still has its factory PIN", crate::ui::sanitize::shown(token)), format!("A factory PIN protects nothing: change it from qoltanba's menu, \"{}\" (or qoltanba tokens change-pin).", Text::ChangeTokenPin.get(En))),
    }
}

fn en_documents(n: usize) -> &'static str {
    if n == 1 { "document" } else { "documents" }
}

/// Russian plural: 1 документ, 2 документа, 5 документов, 21 документ, 11 документов.
fn ru_plural(n: usize, one: &'static str, few: &'static str, many: &'static str) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// A size for people: "980 bytes", "1.5 KiB", "12.3 MiB".
pub fn size(bytes: u64, locale: Locale) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    let (kib, mib) = match locale {
        Locale::En => ("KiB", "MiB"),
        _ => ("КиБ", "МиБ"),
    };
    if b < KIB {
        format!("{bytes} {}", super::Word::Bytes.get(locale))
    } else if b < KIB * KIB {
        format!("{:.1} {kib}", b / KIB)
    } else {
        format!("{:.1} {mib}", b / (KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(n: usize, shown: Shown) -> Vec<DocumentSummary> {
        (0..n).map(|_| DocumentSummary { size: 10, shown: shown.clone() }).collect()
    }

    #[test]
    fn signing_with_a_login_only_key_is_a_login_to_the_site() {
        let context = crate::ui::RequestContext { origin: Some("https://idp.egov.kz".into()), ..Default::default() };
        let auth = crate::ui::KeyDescription { authentication: true, ..Default::default() };
        let both = crate::ui::KeyDescription { authentication: true, signing: true, ..Default::default() };
        let text = Shown::Text { preview: "challenge".into(), truncated: false };
        let documents = docs(1, text);
        let confirmation = |signer| crate::ui::Confirmation {
            context: &context,
            action: Action::SignXml,
            signer,
            notes: &[],
            documents: &documents,
            other_domain: None,
        };
        assert_eq!(confirmation_operation(&confirmation(&auth), Locale::En), "Log in to https://idp.egov.kz");
        let elsewhere = crate::ui::Confirmation { other_domain: Some("bank.example.com"), ..confirmation(&auth) };
        assert_eq!(
            confirmation_operation(&elsewhere, Locale::En),
            "Log in to https://idp.egov.kz — ⚠ the login text names another site: bank.example.com. Cancel unless you are logging in there."
        );
        assert_eq!(confirmation_operation(&confirmation(&auth), Locale::Ru), "Войти на https://idp.egov.kz");
        assert_eq!(confirmation_operation(&confirmation(&both), Locale::En), "Sign 1 document");
    }

    #[test]
    fn operations_say_what_and_how_many() {
        let text = Shown::Text { preview: "a".into(), truncated: false };
        assert_eq!(operation(Action::SignCms, &docs(3, text.clone()), Locale::En), "Sign 3 documents");
        assert_eq!(operation(Action::SignXml, &docs(1, text.clone()), Locale::Ru), "Подписать 1 документ");
        assert_eq!(operation(Action::SignXml, &docs(22, text.clone()), Locale::Ru), "Подписать 22 документа");
        assert_eq!(operation(Action::SignXml, &docs(11, text.clone()), Locale::Ru), "Подписать 11 документов");
        assert_eq!(operation(Action::SignCms, &docs(2, text), Locale::Kk), "2 құжатқа қол қою");
        let blind = Shown::BlindHash { hex: "00".into() };
        assert_eq!(
            operation(Action::SignCms, &docs(1, blind), Locale::En),
            "Sign a hash the page computed — you cannot see what it is"
        );
        assert_eq!(operation(Action::CoSign, &[], Locale::En), "Co-sign a document");
    }

    #[test]
    fn the_factory_pin_notice_points_to_the_menu_item() {
        let factory = crate::activity::Notice::FactoryPin { token: "KAZTOKEN".into() };
        for (locale, _) in crate::i18n::LANGUAGES {
            let (title, body) = notice(&factory, locale);
            assert!(title.contains("KAZTOKEN"), "{title}");
            assert!(body.contains(Text::ChangeTokenPin.get(locale)), "{locale:?}: {body}");
        }
    }

    #[test]
    fn sizes_read_like_sizes() {
        assert_eq!(size(980, Locale::En), "980 bytes");
        assert_eq!(size(1536, Locale::En), "1.5 KiB");
        assert_eq!(size(64 * 1024 * 1024, Locale::Ru), "64.0 МиБ");
    }
}
