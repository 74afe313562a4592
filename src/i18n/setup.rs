//! The words of `qoltanba trust`, `autostart` and `doctor`, in Kazakh, Russian and English.

use super::Locale;
use crate::platform::autostart::Autostart;
use crate::platform::trust_store::{Change, Problem, State};

/// One fixed phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Say {
    LocalCa,
    NoStores,
    SystemNeedsAdmin,
    AskingForAdmin,
    RestartBrowsers,
    AutostartOff,
    AutostartUser,
    AutostartSystem,
    AutostartSystemd,
    DoctorTitle,
    Ok,
    Warning,
    Problem,
}

impl Say {
    pub fn text(self, locale: Locale) -> &'static str {
        use Locale::*;
        match (self, locale) {
            (Self::LocalCa, Kk) => "qoltanba-ның жергілікті куәландырушы орталығы",
            (Self::LocalCa, Ru) => "Локальный удостоверяющий центр qoltanba",
            (Self::LocalCa, En) => "qoltanba's local CA",
            (Self::NoStores, Kk) => "Браузер сертификат қоймасы табылмады.",
            (Self::NoStores, Ru) => "Хранилища сертификатов браузеров не найдены.",
            (Self::NoStores, En) => "No browser certificate store was found.",
            (Self::SystemNeedsAdmin, Kk) => "Жүйелік қойма үшін әкімші құқығы керек: qoltanba trust install --system",
            (Self::SystemNeedsAdmin, Ru) => {
                "Для системного хранилища нужны права администратора: qoltanba trust install --system"
            }
            (Self::SystemNeedsAdmin, En) => {
                "The system store needs administrator rights: qoltanba trust install --system"
            }
            (Self::AskingForAdmin, Kk) => "Жүйелік қойма үшін әкімші құпия сөзі сұралады…",
            (Self::AskingForAdmin, Ru) => "Для системного хранилища запрашиваются права администратора…",
            (Self::AskingForAdmin, En) => "Asking for administrator rights for the system store…",
            (Self::RestartBrowsers, Kk) => "Өзгеріс күшіне енуі үшін браузерлерді қайта іске қосыңыз.",
            (Self::RestartBrowsers, Ru) => "Перезапустите браузеры, чтобы изменения вступили в силу.",
            (Self::RestartBrowsers, En) => "Restart your browsers for the change to take effect.",
            (Self::AutostartOff, Kk) => "Жүйеге кіргенде qoltanba іске қосылмайды.",
            (Self::AutostartOff, Ru) => "qoltanba не запускается при входе в систему.",
            (Self::AutostartOff, En) => "qoltanba does not start when you log in.",
            (Self::AutostartUser, Kk) => "Жүйеге кіргенде qoltanba іске қосылады:",
            (Self::AutostartUser, Ru) => "qoltanba запускается при входе в систему:",
            (Self::AutostartUser, En) => "qoltanba starts when you log in:",
            (Self::AutostartSystem, Kk) => "Жүйеге кіргенде qoltanba іске қосылады (пакеттің жазбасы):",
            (Self::AutostartSystem, Ru) => "qoltanba запускается при входе в систему (запись пакета):",
            (Self::AutostartSystem, En) => "qoltanba starts when you log in (the package's entry):",
            (Self::AutostartSystemd, Kk) => "Жүйеге кіргенде qoltanba-ны systemd іске қосады:",
            (Self::AutostartSystemd, Ru) => "qoltanba запускается при входе в систему через systemd:",
            (Self::AutostartSystemd, En) => "qoltanba starts when you log in, through systemd:",
            (Self::DoctorTitle, Kk) => "qoltanba тексеруі",
            (Self::DoctorTitle, Ru) => "Проверка qoltanba",
            (Self::DoctorTitle, En) => "qoltanba check-up",
            (Self::Ok, _) => "✓",
            (Self::Warning, _) => "!",
            (Self::Problem, _) => "✗",
        }
    }
}

/// A store's state in words.
pub fn state(state: &State, locale: Locale) -> String {
    let stale = |n: usize| match (n, locale) {
        (0, _) => String::new(),
        (n, Locale::Kk) => format!(" (+ ескі qoltanba сертификаттары: {n})"),
        (n, Locale::Ru) => format!(" (+ старые сертификаты qoltanba: {n})"),
        (n, Locale::En) => format!(" (+ {n} old qoltanba certificate(s))"),
    };
    match state {
        State::Trusted { stale: n } => {
            let word = match locale {
                Locale::Kk => "сенімді",
                Locale::Ru => "доверяет",
                Locale::En => "trusted",
            };
            format!("{word}{}", stale(*n))
        }
        State::NotTrusted { stale: n } => {
            let word = match locale {
                Locale::Kk => "сенімсіз",
                Locale::Ru => "не доверяет",
                Locale::En => "not trusted",
            };
            format!("{word}{}", stale(*n))
        }
        State::Unavailable { problem } => self::problem(problem, locale),
    }
}

/// Why a store could not be used, and what to do.
pub fn problem(problem: &Problem, locale: Locale) -> String {
    match (problem, locale) {
        (Problem::ToolMissing { tool, package }, Locale::Kk) => {
            format!("{tool} бағдарламасы жоқ: оны орнатыңыз (sudo apt install {package})")
        }
        (Problem::ToolMissing { tool, package }, Locale::Ru) => {
            format!("нет программы {tool}: установите её (sudo apt install {package})")
        }
        (Problem::ToolMissing { tool, package }, Locale::En) => {
            format!("{tool} is missing: install it (sudo apt install {package})")
        }
        (Problem::Failed { message }, Locale::Kk) => format!("қате: {message}"),
        (Problem::Failed { message }, Locale::Ru) => format!("ошибка: {message}"),
        (Problem::Failed { message }, Locale::En) => format!("failed: {message}"),
    }
}

/// What an install or removal did.
pub fn change(change: &Change, locale: Locale) -> String {
    let mut parts = Vec::new();
    if change.added {
        parts.push(match locale {
            Locale::Kk => "қосылды".to_owned(),
            Locale::Ru => "добавлен".to_owned(),
            Locale::En => "added".to_owned(),
        });
    }
    if change.removed > 0 {
        parts.push(match locale {
            Locale::Kk => format!("алынып тасталды: {}", change.removed),
            Locale::Ru => format!("удалено: {}", change.removed),
            Locale::En => format!("removed {}", change.removed),
        });
    }
    if parts.is_empty() {
        parts.push(match locale {
            Locale::Kk => "өзгеріс жоқ".to_owned(),
            Locale::Ru => "без изменений".to_owned(),
            Locale::En => "no change".to_owned(),
        });
    }
    parts.join(", ")
}

/// Whether and how qoltanba starts at login.
pub fn autostart(state: &Autostart, locale: Locale) -> String {
    match state {
        Autostart::Off => Say::AutostartOff.text(locale).to_owned(),
        Autostart::UserEntry { path } => format!("{} {}", Say::AutostartUser.text(locale), path.display()),
        Autostart::SystemEntry { path } => format!("{} {}", Say::AutostartSystem.text(locale), path.display()),
        Autostart::SystemdUnit { path } => format!("{} {}", Say::AutostartSystemd.text(locale), path.display()),
    }
}

/// The findings of `qoltanba doctor`; `{…}` marks are filled in by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    Running,
    NotRunning,
    NotRunningFix,
    PortUnknown,
    StoreTrusted,
    StoreNotTrusted,
    StoreFix,
    SystemOptional,
    SystemFix,
    Handshake,
    HandshakeFailed,
    HandshakeFailedFix,
    StoreUnavailable,
    LnaTitle,
    LnaExplain,
    LnaPolicySet,
    NcaCached,
    NcaMissing,
    NcaMissingFix,
    ClockOk,
    ClockSkewed,
    ClockFix,
    ClockUnchecked,
    KeysTitle,
    KeysNone,
    KeysFound,
    KeysExpiryUnknown,
    KeysExpires,
    KeysExpired,
    AutostartTitle,
    AutostartFix,
    TokenModule,
    TokenModuleFailed,
    TokenReady,
    TokenPinFinalTry,
    TokenPinLocked,
}

impl Doc {
    pub fn text(self, locale: Locale) -> &'static str {
        use Locale::*;
        match (self, locale) {
            (Self::Running, Kk) => "qoltanba {port} портында жұмыс істеп тұр (процесс {pid}).",
            (Self::Running, Ru) => "qoltanba работает на порту {port} (процесс {pid}).",
            (Self::Running, En) => "qoltanba is running on port {port} (process {pid}).",
            (Self::NotRunning, Kk) => {
                "qoltanba іске қосылмаған: сайттар оған қосыла алмайды («NCALayer іске қосылмаған»)."
            }
            (Self::NotRunning, Ru) => {
                "qoltanba не запущен: сайты не могут к нему подключиться («NCALayer не запущен»)."
            }
            (Self::NotRunning, En) => {
                "qoltanba is not running: sites cannot connect (they say “NCALayer is not running”)."
            }
            (Self::NotRunningFix, Kk) => {
                "qoltanba-ны мәзірден іске қосыңыз; жүйеге кіргенде іске қосылуы үшін: qoltanba autostart enable"
            }
            (Self::NotRunningFix, Ru) => {
                "Запустите qoltanba из меню; чтобы он запускался при входе: qoltanba autostart enable"
            }
            (Self::NotRunningFix, En) => {
                "Start qoltanba from the menu; to start it at login: qoltanba autostart enable"
            }
            (Self::PortUnknown, Kk) => {
                "{port} портын белгісіз бағдарлама ұстап тұр (мүмкін басқа пайдаланушының qoltanba-сы)."
            }
            (Self::PortUnknown, Ru) => {
                "Порт {port} занят неизвестной программой (возможно, qoltanba другого пользователя)."
            }
            (Self::PortUnknown, En) => {
                "Port {port} is held by a program we cannot name (perhaps another user's qoltanba)."
            }
            (Self::StoreTrusted, Kk) => "{store}: жергілікті орталыққа сенеді.",
            (Self::StoreTrusted, Ru) => "{store}: локальному центру доверяет.",
            (Self::StoreTrusted, En) => "{store}: trusts the local CA.",
            (Self::StoreNotTrusted, Kk) => {
                "{store}: жергілікті орталыққа сенбейді — бұл браузердегі беттер qoltanba-ға қосыла алмайды."
            }
            (Self::StoreNotTrusted, Ru) => {
                "{store}: локальному центру не доверяет — страницы в этом браузере не подключатся к qoltanba."
            }
            (Self::StoreNotTrusted, En) => {
                "{store}: does not trust the local CA — pages in this browser cannot connect to qoltanba."
            }
            (Self::StoreFix, Kk) => "Орындаңыз: qoltanba trust install, содан кейін браузерді қайта іске қосыңыз.",
            (Self::StoreFix, Ru) => "Выполните: qoltanba trust install, затем перезапустите браузер.",
            (Self::StoreFix, En) => "Run: qoltanba trust install, then restart the browser.",
            (Self::SystemOptional, Kk) => {
                "{store}: жергілікті орталық жоқ (браузерлерге қажет емес; curl сияқты бағдарламаларға керек)."
            }
            (Self::SystemOptional, Ru) => {
                "{store}: локального центра нет (браузерам не нужно; нужно программам вроде curl)."
            }
            (Self::SystemOptional, En) => {
                "{store}: the local CA is not there (browsers do not need it; programs such as curl do)."
            }
            (Self::SystemFix, Kk) => "Қажет болса: qoltanba trust install --system",
            (Self::SystemFix, Ru) => "Если нужно: qoltanba trust install --system",
            (Self::SystemFix, En) => "If you need it: qoltanba trust install --system",
            (Self::Handshake, Kk) => {
                "Осы қойманың сертификаттарымен жұмыс істеп тұрған qoltanba-ға TLS қосылымы сәтті өтті."
            }
            (Self::Handshake, Ru) => {
                "TLS-соединение с работающим qoltanba по сертификатам этого хранилища прошло успешно."
            }
            (Self::Handshake, En) => "A TLS handshake with the running qoltanba, using this store, succeeded.",
            (Self::HandshakeFailed, Kk) => "Осы қоймамен жұмыс істеп тұрған qoltanba-ға TLS қосылымы сәтсіз: {reason}",
            (Self::HandshakeFailed, Ru) => {
                "TLS-соединение с работающим qoltanba по этому хранилищу не удалось: {reason}"
            }
            (Self::HandshakeFailed, En) => {
                "A TLS handshake with the running qoltanba, using this store, failed: {reason}"
            }
            (Self::HandshakeFailedFix, Kk) => {
                "Жұмыс істеп тұрған qoltanba басқа деректер қалтасын қолданатын шығар: оны қайта іске қосып, qoltanba trust install орындаңыз."
            }
            (Self::HandshakeFailedFix, Ru) => {
                "Вероятно, работающий qoltanba использует другой каталог данных: перезапустите его и выполните qoltanba trust install."
            }
            (Self::HandshakeFailedFix, En) => {
                "The running qoltanba probably uses another data directory: restart it and run qoltanba trust install."
            }
            (Self::StoreUnavailable, Kk) => "{store}: тексеру мүмкін емес — {reason}",
            (Self::StoreUnavailable, Ru) => "{store}: проверить нельзя — {reason}",
            (Self::StoreUnavailable, En) => "{store}: cannot be checked — {reason}",
            (Self::LnaTitle, Kk) => "Chrome: жергілікті желіге кіру (Local Network Access)",
            (Self::LnaTitle, Ru) => "Chrome: доступ к локальной сети (Local Network Access)",
            (Self::LnaTitle, En) => "Chrome: Local Network Access",
            (Self::LnaExplain, Kk) => {
                "Chrome 142-ден бастап сайт осы компьютердегі қолданбаларға қосылу үшін рұқсат сұрайды: «… сайты осы құрылғыдағы қолданбаларға кіруге рұқсат сұрайды». «Рұқсат ету» таңдаңыз. Бас тартсаңыз, сайт «NCALayer іске қосылмаған» деп жазады: рұқсатты мекенжай жолындағы құлып белгісінен қайтарыңыз. Әкімші рұқсатты саясатпен бере алады (төменде)."
            }
            (Self::LnaExplain, Ru) => {
                "С Chrome 142 сайт спрашивает разрешение на подключение к программам этого компьютера: «Сайт … запрашивает доступ к приложениям на этом устройстве». Выберите «Разрешить». Если отказать, сайт пишет «NCALayer не запущен»: разрешение возвращается через значок замка в адресной строке. Администратор может выдать его политикой (ниже)."
            }
            (Self::LnaExplain, En) => {
                "Since Chrome 142 a site asks for permission to reach apps on this computer: “… wants to access apps on this device”. Choose Allow. If you block it, the site says “NCALayer is not running”: allow it again from the padlock in the address bar. An administrator can grant it with a policy (below)."
            }
            (Self::LnaPolicySet, Kk) => "Chrome/Chromium саясаты LocalNetworkAccessAllowedForUrls орнатылған: {path}",
            (Self::LnaPolicySet, Ru) => "Политика Chrome/Chromium LocalNetworkAccessAllowedForUrls задана: {path}",
            (Self::LnaPolicySet, En) => "The Chrome/Chromium policy LocalNetworkAccessAllowedForUrls is set: {path}",
            (Self::NcaCached, Kk) => {
                "ҰКО CA сертификаттары сақталған: {count}/{total}, ең ескісі {days} күн бұрын жүктелген."
            }
            (Self::NcaCached, Ru) => {
                "Сертификаты УЦ НУЦ РК сохранены: {count} из {total}, самый старый загружен {days} дн. назад."
            }
            (Self::NcaCached, En) => {
                "NCA RK CA certificates cached: {count} of {total}, the oldest downloaded {days} day(s) ago."
            }
            (Self::NcaMissing, Kk) => {
                "ҰКО CA сертификаттары толық емес немесе ескі ({count}/{total}): кілттің тізбегі мен кері қайтарылуы толық тексерілмейді."
            }
            (Self::NcaMissing, Ru) => {
                "Сертификаты УЦ НУЦ РК неполные или устарели ({count} из {total}): цепочку и отзыв ключа нельзя проверить полностью."
            }
            (Self::NcaMissing, En) => {
                "NCA RK CA certificates are missing or old ({count} of {total}): a key's chain and revocation cannot be fully checked."
            }
            (Self::NcaMissingFix, Kk) => {
                "Интернетке қосылып, qoltanba-ны іске қосыңыз: ол оларды pki.gov.kz-тен өзі жүктейді."
            }
            (Self::NcaMissingFix, Ru) => {
                "Подключитесь к интернету и запустите qoltanba: он сам загрузит их с pki.gov.kz."
            }
            (Self::NcaMissingFix, En) => "Go online and start qoltanba: it downloads them from pki.gov.kz itself.",
            (Self::ClockOk, Kk) => "Компьютер сағаты дұрыс ({server} уақытынан айырмашылығы {seconds} с).",
            (Self::ClockOk, Ru) => "Часы компьютера верны (расхождение с {server}: {seconds} с).",
            (Self::ClockOk, En) => "The computer's clock is right ({seconds} s from {server}).",
            (Self::ClockSkewed, Kk) => {
                "Компьютер сағаты {minutes} минутқа қате ({server} бойынша): қол қою уақыты мен сертификаттардың мерзімі қате бағаланады."
            }
            (Self::ClockSkewed, Ru) => {
                "Часы компьютера ошибаются на {minutes} мин. (по {server}): время подписи и сроки сертификатов оцениваются неверно."
            }
            (Self::ClockSkewed, En) => {
                "The computer's clock is off by {minutes} minute(s) (by {server}): signing times and certificate validity are judged wrongly."
            }
            (Self::ClockFix, Kk) => "Жүйе баптауларында уақытты автоматты түрде орнатуды қосыңыз.",
            (Self::ClockFix, Ru) => "Включите автоматическую установку времени в настройках системы.",
            (Self::ClockFix, En) => "Turn on automatic time in the system settings.",
            (Self::ClockUnchecked, Kk) => "Сағат тексерілмеді: {reason}",
            (Self::ClockUnchecked, Ru) => "Часы не проверены: {reason}",
            (Self::ClockUnchecked, En) => "The clock was not checked: {reason}",
            (Self::KeysTitle, Kk) => "Кілт файлдары",
            (Self::KeysTitle, Ru) => "Файлы ключей",
            (Self::KeysTitle, En) => "Key files",
            (Self::KeysNone, Kk) => "Әдеттегі қалталарда кілт файлдары (.p12) табылмады.",
            (Self::KeysNone, Ru) => "В обычных папках файлы ключей (.p12) не найдены.",
            (Self::KeysNone, En) => "No key files (.p12) were found in the usual folders.",
            (Self::KeysFound, Kk) => "Кілт файлы: {path}",
            (Self::KeysFound, Ru) => "Файл ключа: {path}",
            (Self::KeysFound, En) => "Key file: {path}",
            (Self::KeysExpiryUnknown, Kk) => {
                "Мерзімі файл құпия сөзбен ашылғанда ғана белгілі (сертификат шифрланған)."
            }
            (Self::KeysExpiryUnknown, Ru) => {
                "Срок действия виден только после ввода пароля (сертификат в файле зашифрован)."
            }
            (Self::KeysExpiryUnknown, En) => {
                "Its expiry is known only once it is opened with its password (the certificate in it is encrypted)."
            }
            (Self::KeysExpires, Kk) => "Кілт файлы: {path} — {owner}, {date} дейін жарамды ({days} күн қалды).",
            (Self::KeysExpires, Ru) => "Файл ключа: {path} — {owner}, действует до {date} (осталось {days} дн.).",
            (Self::KeysExpires, En) => "Key file: {path} — {owner}, valid until {date} ({days} day(s) left).",
            (Self::KeysExpired, Kk) => {
                "Кілт файлы: {path} — {owner}, мерзімі {date} аяқталды. Жаңа кілтті pki.gov.kz сайтынан алыңыз."
            }
            (Self::KeysExpired, Ru) => {
                "Файл ключа: {path} — {owner}, срок истёк {date}. Получите новый ключ на pki.gov.kz."
            }
            (Self::KeysExpired, En) => "Key file: {path} — {owner}, expired on {date}. Get a new key at pki.gov.kz.",
            (Self::AutostartTitle, Kk) => "Жүйеге кіргенде іске қосу",
            (Self::AutostartTitle, Ru) => "Запуск при входе в систему",
            (Self::AutostartTitle, En) => "Start at login",
            (Self::AutostartFix, Kk) => "Қосу үшін: qoltanba autostart enable",
            (Self::AutostartFix, Ru) => "Чтобы включить: qoltanba autostart enable",
            (Self::AutostartFix, En) => "To turn it on: qoltanba autostart enable",
            (Self::TokenModule, Kk) => "PKCS#11 модулі {module}: токендер саны {count}.",
            (Self::TokenModule, Ru) => "Модуль PKCS#11 {module}: токенов подключено: {count}.",
            (Self::TokenModule, En) => "PKCS#11 module {module}: {count} token(s) plugged in.",
            (Self::TokenModuleFailed, Kk) => "PKCS#11 модулі {module} жүктелмеді: {reason}",
            (Self::TokenModuleFailed, Ru) => "Модуль PKCS#11 {module} не загружается: {reason}",
            (Self::TokenModuleFailed, En) => "PKCS#11 module {module} cannot be used: {reason}",
            (Self::TokenReady, Kk) => "«{token}» токені дайын.",
            (Self::TokenReady, Ru) => "Токен «{token}» готов.",
            (Self::TokenReady, En) => "Token \"{token}\" is ready.",
            (Self::TokenPinFinalTry, Kk) => "«{token}» токені: тағы бір қате PIN оны бұғаттайды.",
            (Self::TokenPinFinalTry, Ru) => "Токен «{token}»: ещё один неверный PIN заблокирует его.",
            (Self::TokenPinFinalTry, En) => "Token \"{token}\": one more wrong PIN locks it.",
            (Self::TokenPinLocked, Kk) => "«{token}» токенінің PIN-коды бұғатталған: оны PUK-кодпен ашыңыз.",
            (Self::TokenPinLocked, Ru) => "PIN-код токена «{token}» заблокирован: разблокируйте его PUK-кодом.",
            (Self::TokenPinLocked, En) => "The PIN of token \"{token}\" is locked: unblock it with its PUK.",
        }
    }

    /// The text with its `{name}` marks filled.
    pub fn fill(self, locale: Locale, values: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut text = self.text(locale).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), &value.to_string());
        }
        text
    }
}
