//! The user's language and the messages we show in it (Kazakh, Russian, English).
//!
//! Wire error texts that pages test for (`action.canceled`, Java exception strings)
//! are not translated: they are part of the protocol. Everything written for a
//! person to read goes through [`Msg::text`].

pub mod dialog;
pub mod journal;
pub mod pin;
pub mod setup;
pub mod validation;

/// A user interface language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Kazakh: NCALayer's default for `basics`.
    Kk,
    #[default]
    Ru,
    En,
}

/// The languages, each named in itself.
pub const LANGUAGES: [(Locale, &str); 3] = [(Locale::Kk, "Қазақша"), (Locale::Ru, "Русский"), (Locale::En, "English")];

impl Locale {
    /// Parse a locale id as pages send it (`kk`, `kz`, `ru`, `en`, `ru_RU`...).
    /// Unknown ids give `None`: the caller keeps its current locale.
    pub fn parse(id: &str) -> Option<Self> {
        let lang = id.split(['_', '-']).next().unwrap_or_default().to_ascii_lowercase();
        match lang.as_str() {
            "kk" | "kz" => Some(Self::Kk),
            "ru" => Some(Self::Ru),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

impl Locale {
    /// The language of this process's user, from `LC_ALL`, `LC_MESSAGES` or `LANG`;
    /// English when none names Kazakh or Russian.
    pub fn from_environment() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Self::parse(&v))
            .unwrap_or(Self::En)
    }
}

/// Messages for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    /// No dialog can be shown: the daemon runs without a way to ask the user.
    NoPrompter,
    /// The chosen key's algorithm is not one NCA RK uses.
    UnsupportedKey,
    /// A feature of the request is not available in this version.
    NotImplemented,
    /// The password was wrong too many times.
    WrongPassword,
    /// The key file could not be opened.
    KeyFileUnreadable,
    /// The timestamp authority did not give a timestamp.
    TimestampFailed,
    /// The document does not suit the request or the key.
    DocumentRejected,
    /// An internal failure while building the signature.
    SigningFailed,
    /// A page sent more requests than its connection may queue.
    TooManyRequests,
    /// In-flight messages use the whole memory budget.
    OverBudget,
    /// A message is larger than the daemon accepts.
    MessageTooLarge,
    /// A file the site named (not picked by the user) cannot be embedded.
    NamedFileAttach,
    /// The site already has as many requests waiting for the user as it may.
    TooManyWaiting,
    /// The person stopped signing for now.
    Paused,
    /// A token's PIN was wrong.
    WrongPin,
    /// A token's PIN is locked.
    PinLocked,
    /// A token failed or was taken out.
    TokenFailed,
    /// The token's module offers no mechanism for its key's algorithm.
    TokenNoMechanism,
}

impl Msg {
    /// The message in `locale`.
    pub fn text(self, locale: Locale) -> &'static str {
        use Locale::*;
        match (self, locale) {
            (Msg::NoPrompter, Kk) => {
                "qoltanba кілтті таңдауды сұрай алмайды: ол терминалсыз іске қосылған, ал бұл нұсқада терезелер әлі жоқ. qoltanba-ны терминалда іске қосыңыз немесе --demo режимін байқап көріңіз."
            }
            (Msg::NoPrompter, Ru) => {
                "qoltanba не может попросить выбрать ключ: он запущен без терминала, а окон в этой версии ещё нет. Запустите qoltanba в терминале или попробуйте режим --demo."
            }
            (Msg::NoPrompter, En) => {
                "qoltanba cannot ask you to choose a key: it runs without a terminal and this version has no windows yet. Run it in a terminal, or try --demo."
            }
            (Msg::UnsupportedKey, Kk) => {
                "Бұл кілттің алгоритмі белгісіз. ҰКО берген кілтті (RSA немесе ГОСТ) таңдаңыз немесе qoltanba-ны жаңартыңыз."
            }
            (Msg::UnsupportedKey, Ru) => {
                "Алгоритм этого ключа неизвестен. Выберите ключ, выданный НУЦ РК (RSA или ГОСТ), или обновите qoltanba."
            }
            (Msg::UnsupportedKey, En) => {
                "This key's algorithm is unknown. Choose a key issued by NCA RK (RSA or GOST) or update qoltanba."
            }
            (Msg::NotImplemented, Kk) => "Бұл мүмкіндік qoltanba-ның осы нұсқасында әлі жоқ. qoltanba-ны жаңартыңыз.",
            (Msg::NotImplemented, Ru) => {
                "Эта возможность пока не реализована в этой версии qoltanba. Обновите qoltanba."
            }
            (Msg::NotImplemented, En) => {
                "This feature is not available in this version of qoltanba yet. Update qoltanba."
            }
            (Msg::WrongPassword, Kk) => "Құпия сөз қате. Кілт файлының құпия сөзін тексеріңіз.",
            (Msg::WrongPassword, Ru) => "Неверный пароль. Проверьте пароль от файла ключа.",
            (Msg::WrongPassword, En) => "Wrong password. Check the password of the key file.",
            (Msg::KeyFileUnreadable, Kk) => {
                "Кілт файлын ашу мүмкін емес. Файлдың NCA RK берген .p12 файлы екенін тексеріңіз."
            }
            (Msg::KeyFileUnreadable, Ru) => {
                "Не удалось открыть файл ключа. Проверьте, что это файл .p12, выданный НУЦ РК."
            }
            (Msg::KeyFileUnreadable, En) => {
                "The key file cannot be opened. Check that it is a .p12 file issued by NCA RK."
            }
            (Msg::TimestampFailed, Kk) => {
                "Уақыт белгісін алу мүмкін болмады, қол қойылмады. Интернетке қосылуды тексеріп, қайталаңыз."
            }
            (Msg::TimestampFailed, Ru) => {
                "Не удалось получить метку времени, документ не подписан. Проверьте подключение к интернету и повторите."
            }
            (Msg::TimestampFailed, En) => {
                "No timestamp could be obtained, so nothing was signed. Check the internet connection and try again."
            }
            (Msg::DocumentRejected, Kk) => "Құжатқа бұл кілтпен қол қою мүмкін емес.",
            (Msg::DocumentRejected, Ru) => "Этот документ нельзя подписать этим ключом.",
            (Msg::DocumentRejected, En) => "This document cannot be signed with this key.",
            (Msg::SigningFailed, Kk) => "Қол қою сәтсіз аяқталды. Қайталап көріңіз; қате қайталанса, хабарлаңыз.",
            (Msg::SigningFailed, Ru) => "Подписание не удалось. Повторите; если ошибка повторится, сообщите о ней.",
            (Msg::SigningFailed, En) => "Signing failed. Try again; if it happens again, please report it.",
            (Msg::TooManyRequests, Kk) => {
                "Сайт тым көп сұрау жіберді, бұл сұрау орындалмады. Алдыңғыларының аяқталуын күтіп, қайталаңыз."
            }
            (Msg::TooManyRequests, Ru) => {
                "Сайт отправил слишком много запросов, этот запрос не выполнен. Дождитесь завершения предыдущих и повторите."
            }
            (Msg::TooManyRequests, En) => {
                "The site sent too many requests at once; this one was not carried out. Wait for the others to finish and try again."
            }
            (Msg::OverBudget, Kk) => {
                "qoltanba қазір басқа үлкен құжаттарды өңдеп жатыр, бұл сұрау қабылданбады. Біраздан соң қайталаңыз."
            }
            (Msg::OverBudget, Ru) => {
                "qoltanba сейчас обрабатывает другие большие документы, этот запрос не принят. Повторите немного позже."
            }
            (Msg::OverBudget, En) => {
                "qoltanba is busy with other large documents and did not accept this request. Try again in a moment."
            }
            (Msg::MessageTooLarge, Kk) => {
                "Құжат тым үлкен, оған бұл жолмен қол қою мүмкін емес. Оны бөлек қолтаңбамен файлдан қол қойыңыз немесе qoltanba-ны --max-message-size параметрімен іске қосыңыз."
            }
            (Msg::MessageTooLarge, Ru) => {
                "Документ слишком большой, подписать его так нельзя. Подпишите файл отделённой подписью или запустите qoltanba с параметром --max-message-size."
            }
            (Msg::MessageTooLarge, En) => {
                "The document is too large to be signed this way. Sign the file with a detached signature, or start qoltanba with a larger --max-message-size."
            }
            (Msg::NamedFileAttach, Kk) => {
                "Сайт атаған файлды тек бөлек қолтаңбамен (detached) қол қоюға болады. Оны қолтаңбаға қосу үшін файлды qoltanba терезесінде өзіңіз таңдаңыз."
            }
            (Msg::NamedFileAttach, Ru) => {
                "Файл, названный сайтом, можно подписать только отделённой подписью. Чтобы вложить его в подпись, выберите файл сами в окне qoltanba."
            }
            (Msg::NamedFileAttach, En) => {
                "A file named by the site can only be signed with a detached signature. To embed it, pick the file yourself in qoltanba's file chooser."
            }
            (Msg::TooManyWaiting, Kk) => {
                "Бұл сайттан тым көп сұрау сіздің жауабыңызды күтуде. Алдыңғыларына жауап беріп, қайталаңыз."
            }
            (Msg::TooManyWaiting, Ru) => {
                "От этого сайта уже слишком много запросов ждут вашего ответа. Ответьте на предыдущие и повторите."
            }
            (Msg::Paused, Kk) => {
                "Қол қоюды пайдаланушы уақытша тоқтатқан. Оны qoltanba мәзірінде қайта қосыңыз да, қайталаңыз."
            }
            (Msg::Paused, Ru) => {
                "Подписание временно остановлено пользователем. Включите его снова в меню qoltanba и повторите."
            }
            (Msg::Paused, En) => {
                "Signing is stopped for now by the user. Turn it back on in qoltanba's menu and try again."
            }
            (Msg::TooManyWaiting, En) => {
                "Too many requests from this site are already waiting for you. Answer those first, then try again."
            }
            (Msg::PinLocked, Kk) => {
                "Токеннің PIN-коды бұғатталған (тым көп қате PIN). Оны PUK-кодпен немесе токеннің бағдарламасымен ашыңыз."
            }
            (Msg::PinLocked, Ru) => {
                "PIN-код токена заблокирован (слишком много неверных попыток). Разблокируйте его PUK-кодом или программой токена."
            }
            (Msg::PinLocked, En) => {
                "The token's PIN is locked (too many wrong PINs). Unblock it with its PUK or the token's own software."
            }
            (Msg::WrongPin, Kk) => "Токеннің PIN-коды қате. Әр қате PIN токенді бұғаттауға жақындатады.",
            (Msg::WrongPin, Ru) => "Неверный PIN-код токена. Каждая ошибка приближает блокировку токена.",
            (Msg::WrongPin, En) => "Wrong PIN for the token. Each wrong PIN brings the token closer to locking.",
            (Msg::TokenFailed, Kk) => "Токен жауап бермеді немесе алынып тасталды. Оны қайта қосып, қайталаңыз.",
            (Msg::TokenFailed, Ru) => "Токен не ответил или был извлечён. Подключите его снова и повторите.",
            (Msg::TokenFailed, En) => "The token did not answer or was taken out. Plug it in again and try again.",
            (Msg::TokenNoMechanism, Kk) => {
                "Токеннің PKCS#11 модулі осы кілтпен қол қоюдың тәсілін ұсынбайды. Токен бағдарламасын жаңартыңыз немесе кілт файлын пайдаланыңыз."
            }
            (Msg::TokenNoMechanism, Ru) => {
                "Модуль PKCS#11 этого токена не предлагает способа подписать его ключом. Обновите программу токена или подпишите файлом ключа."
            }
            (Msg::TokenNoMechanism, En) => {
                "This token's PKCS#11 module offers no way to sign with its key. Update the token's software, or sign with a key file."
            }
        }
    }
}

/// Why qoltanba cannot listen on its port, in words: who holds it and what to do.
pub fn port_taken(port: u16, holder: &crate::platform::instance::PortHolder, locale: Locale) -> String {
    use crate::platform::instance::PortHolder;
    match (holder, locale) {
        (PortHolder::NcaLayer { pid }, Locale::Kk) => format!(
            "{port} портын NCALayer ұстап тұр (процесс {pid}). Сайттарға олардың біреуі ғана қызмет ете алады: NCALayer-ден шығыңыз (оның белгішесі → Шығу) және qoltanba-ны қайта іске қосыңыз."
        ),
        (PortHolder::NcaLayer { pid }, Locale::Ru) => format!(
            "Порт {port} занят программой NCALayer (процесс {pid}). Сайтам может служить только одна из них: закройте NCALayer (значок в трее → Выход) и запустите qoltanba снова."
        ),
        (PortHolder::NcaLayer { pid }, Locale::En) => format!(
            "Port {port} is held by NCALayer (process {pid}). Only one of them can serve sites: quit NCALayer (its tray icon → Exit) and start qoltanba again."
        ),
        (PortHolder::Program { pid, name }, Locale::Kk) => format!(
            "{port} портын басқа бағдарлама ұстап тұр: {name} (процесс {pid}). Оны жабыңыз немесе qoltanba-ны --listen параметрімен басқа портта іске қосыңыз."
        ),
        (PortHolder::Program { pid, name }, Locale::Ru) => format!(
            "Порт {port} занят другой программой: {name} (процесс {pid}). Закройте её или запустите qoltanba с параметром --listen и другим портом."
        ),
        (PortHolder::Program { pid, name }, Locale::En) => format!(
            "Port {port} is already in use by another program: {name} (process {pid}). Quit it, or start qoltanba with --listen and another port."
        ),
        (PortHolder::Unknown, Locale::Kk) => format!(
            "{port} порты бос емес: оны басқа бағдарлама (мүмкін NCALayer немесе басқа пайдаланушының qoltanba-сы) ұстап тұр. Оны жабыңыз немесе --listen параметрімен басқа портты таңдаңыз."
        ),
        (PortHolder::Unknown, Locale::Ru) => format!(
            "Порт {port} занят другой программой (возможно, NCALayer или qoltanba другого пользователя). Закройте её или выберите другой порт параметром --listen."
        ),
        (PortHolder::Unknown, Locale::En) => format!(
            "Port {port} is already in use by another program (perhaps NCALayer, or another user's qoltanba). Quit it, or choose another port with --listen."
        ),
    }
}

/// The words of the dialogs (terminal and desktop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    AsksForKey,
    KeyFile,
    WrongPassword,
    TriesLeft,
    Pages,
    PasswordFor,
    CannotBeUsed,
    Note,
    NoUsableKey,
    KeyNumber,
    Site,
    Operation,
    Signer,
    Documents,
    Bytes,
    More,
    SignQuestion,
    SiteFirstTime,
    SiteQuestion,
    AsksForFile,
    FilePath,
    ActShowKey,
    ActSignCms,
    ActSignCmsTimestamped,
    ActCoSign,
    ActSignFile,
    ActSignXml,
    ActSignRaw,
    ActTimestamp,
    ActChooseFile,
    BinaryData,
    BlindHash,
    BlindWarning,
    CoSignWith,
    FileChosen,
    FileNamedBySite,
    NoOrigin,
    Extension,
    Directory,
}

impl Word {
    /// The word in `locale`.
    pub fn get(self, locale: Locale) -> &'static str {
        use Locale::*;
        use Word::*;
        match (self, locale) {
            (AsksForKey, En) => "asks for a key",
            (AsksForKey, Ru) => "запрашивает ключ",
            (AsksForKey, Kk) => "кілт сұрайды",
            (KeyFile, En) => "Key file (.p12), empty to cancel: ",
            (KeyFile, Ru) => "Файл ключа (.p12), пусто — отмена: ",
            (KeyFile, Kk) => "Кілт файлы (.p12), бос — бас тарту: ",
            (WrongPassword, En) => "Wrong password, try again.",
            (WrongPassword, Ru) => "Неверный пароль, попробуйте ещё раз.",
            (WrongPassword, Kk) => "Құпия сөз қате, қайталап көріңіз.",
            (TriesLeft, En) => "tries left",
            (Pages, En) => "pages",
            (Pages, Ru) => "стр.",
            (Pages, Kk) => "бет",
            (TriesLeft, Ru) => "осталось попыток",
            (TriesLeft, Kk) => "қалған әрекет",
            (PasswordFor, En) => "Password for",
            (PasswordFor, Ru) => "Пароль для",
            (PasswordFor, Kk) => "Құпия сөз:",
            (CannotBeUsed, En) => "cannot be used",
            (CannotBeUsed, Ru) => "нельзя использовать",
            (CannotBeUsed, Kk) => "пайдалануға болмайды",
            (Note, En) => "note",
            (Note, Ru) => "примечание",
            (Note, Kk) => "ескерту",
            (NoUsableKey, En) => "No key in this file can be used for this request.",
            (NoUsableKey, Ru) => "Ни один ключ из этого файла не подходит для этого запроса.",
            (NoUsableKey, Kk) => "Бұл файлдағы кілттердің ешқайсысы бұл сұрауға жарамайды.",
            (KeyNumber, En) => "Key number, empty to cancel: ",
            (KeyNumber, Ru) => "Номер ключа, пусто — отмена: ",
            (KeyNumber, Kk) => "Кілт нөмірі, бос — бас тарту: ",
            (Site, En) => "Site:      ",
            (Site, Ru) => "Сайт:      ",
            (Site, Kk) => "Сайт:      ",
            (Operation, En) => "Operation: ",
            (Operation, Ru) => "Операция:  ",
            (Operation, Kk) => "Әрекет:    ",
            (Signer, En) => "Signer:    ",
            (Signer, Ru) => "Подписант: ",
            (Signer, Kk) => "Қол қоюшы: ",
            (Documents, En) => "Documents: ",
            (Documents, Ru) => "Документов:",
            (Documents, Kk) => "Құжаттар:  ",
            (Bytes, En) => "bytes",
            (Bytes, Ru) => "байт",
            (Bytes, Kk) => "байт",
            (More, En) => "more",
            (More, Ru) => "ещё",
            (More, Kk) => "тағы",
            (SignQuestion, En) => "Sign? [y/N] ",
            (SignQuestion, Ru) => "Подписать? [д/Н] ",
            (SignQuestion, Kk) => "Қол қою керек пе? [и/Ж] ",
            (SiteFirstTime, En) => "asks to use qoltanba for the first time.",
            (SiteFirstTime, Ru) => "впервые просит доступ к qoltanba.",
            (SiteFirstTime, Kk) => "qoltanba-ны алғаш рет пайдалануды сұрайды.",
            (SiteQuestion, En) => "Allow this site? 1) once 2) always 3) never, empty to cancel: ",
            (SiteQuestion, Ru) => "Разрешить этому сайту? 1) один раз 2) всегда 3) никогда, пусто — отмена: ",
            (SiteQuestion, Kk) => "Бұл сайтқа рұқсат ету керек пе? 1) бір рет 2) әрқашан 3) ешқашан, бос — бас тарту: ",
            (AsksForFile, En) => "asks you to pick a file",
            (AsksForFile, Ru) => "просит выбрать файл",
            (AsksForFile, Kk) => "файл таңдауды сұрайды",
            (FilePath, En) => "File path, empty to cancel: ",
            (FilePath, Ru) => "Путь к файлу, пусто — отмена: ",
            (FilePath, Kk) => "Файл жолы, бос — бас тарту: ",
            (ActShowKey, En) => "use your key (the site sees your certificate)",
            (ActShowKey, Ru) => "использовать ваш ключ (сайт увидит ваш сертификат)",
            (ActShowKey, Kk) => "кілтіңізді пайдалану (сайт сертификатыңызды көреді)",
            (ActSignCms, En) => "sign documents (CMS)",
            (ActSignCms, Ru) => "подписать документы (CMS)",
            (ActSignCms, Kk) => "құжаттарға қол қою (CMS)",
            (ActSignCmsTimestamped, En) => "sign documents with a timestamp (CAdES-T)",
            (ActSignCmsTimestamped, Ru) => "подписать документы с меткой времени (CAdES-T)",
            (ActSignCmsTimestamped, Kk) => "құжаттарға уақыт белгісімен қол қою (CAdES-T)",
            (ActCoSign, En) => "add your signature to an already signed document",
            (ActCoSign, Ru) => "добавить вашу подпись к уже подписанному документу",
            (ActCoSign, Kk) => "қол қойылған құжатқа қолтаңбаңызды қосу",
            (ActSignFile, En) => "sign a file on this computer",
            (ActSignFile, Ru) => "подписать файл на этом компьютере",
            (ActSignFile, Kk) => "осы компьютердегі файлға қол қою",
            (ActSignXml, En) => "sign XML documents",
            (ActSignXml, Ru) => "подписать XML-документы",
            (ActSignXml, Kk) => "XML құжаттарына қол қою",
            (ActSignRaw, En) => "sign data (raw signature)",
            (ActSignRaw, Ru) => "подписать данные (простая подпись)",
            (ActSignRaw, Kk) => "деректерге қол қою (қарапайым қолтаңба)",
            (ActTimestamp, En) => "add a timestamp",
            (ActTimestamp, Ru) => "добавить метку времени",
            (ActTimestamp, Kk) => "уақыт белгісін қосу",
            (ActChooseFile, En) => "pick a file",
            (ActChooseFile, Ru) => "выбрать файл",
            (ActChooseFile, Kk) => "файл таңдау",
            (BinaryData, En) => "binary data (cannot be shown)",
            (BinaryData, Ru) => "двоичные данные (показать нельзя)",
            (BinaryData, Kk) => "екілік деректер (көрсету мүмкін емес)",
            (BlindHash, En) => "ONLY A HASH chosen by the site",
            (BlindHash, Ru) => "ТОЛЬКО ХЕШ, выбранный сайтом",
            (BlindHash, Kk) => "сайт таңдаған ТЕК ХЕШ",
            (BlindWarning, En) => {
                "You cannot see what this hash is of: sign only if you trust this site and expect this."
            }
            (BlindWarning, Ru) => {
                "Вы не видите, от чего этот хеш: подписывайте, только если доверяете сайту и ожидаете этого."
            }
            (BlindWarning, Kk) => {
                "Бұл хештің неден алынғанын көре алмайсыз: сайтқа сенсеңіз және күтсеңіз ғана қол қойыңыз."
            }
            (CoSignWith, En) => "your signature joins existing signatures:",
            (CoSignWith, Ru) => "ваша подпись добавится к существующим:",
            (CoSignWith, Kk) => "қолтаңбаңыз бар қолтаңбаларға қосылады:",
            (FileChosen, En) => "file you picked",
            (FileChosen, Ru) => "файл, выбранный вами",
            (FileChosen, Kk) => "өзіңіз таңдаған файл",
            (FileNamedBySite, En) => "file NAMED BY THE SITE, not picked by you; approve only if you expect it",
            (FileNamedBySite, Ru) => "файл, НАЗВАННЫЙ САЙТОМ, а не выбранный вами; одобряйте, только если ожидаете",
            (FileNamedBySite, Kk) => "САЙТ АТАҒАН файл, сіз таңдамағансыз; күтсеңіз ғана мақұлдаңыз",
            (NoOrigin, En) => "(no site named: a program on this computer)",
            (NoOrigin, Ru) => "(сайт не указан: программа на этом компьютере)",
            (NoOrigin, Kk) => "(сайт көрсетілмеген: осы компьютердегі бағдарлама)",
            (Extension, En) => "file type",
            (Extension, Ru) => "тип файла",
            (Extension, Kk) => "файл түрі",
            (Directory, En) => "folder",
            (Directory, Ru) => "папка",
            (Directory, Kk) => "қалта",
        }
    }
}

/// Why a key cannot be used, in `locale`.
pub fn unusable(reason: &crate::trust::Unusable, locale: Locale) -> String {
    use crate::trust::Unusable::*;
    match (reason, locale) {
        (LoginOnly, Locale::Kk) => "бұл кілт тек сайтқа кіруге арналған: құжатқа қол қоймайды. Қол қою кілтін (RSA/GOST, «қол қою үшін») таңдаңыз".into(),
        (LoginOnly, Locale::Ru) => "этот ключ только для входа на сайты: документы им не подписываются. Выберите ключ для подписи".into(),
        (LoginOnly, Locale::En) => "this key is for logging in only: it does not sign documents. Choose your signing key".into(),
        (NotAuthenticationKey, Locale::Kk) => "аутентификация кілті емес".into(),
        (NotAuthenticationKey, Locale::Ru) => "не ключ аутентификации".into(),
        (NotAuthenticationKey, Locale::En) => "not an authentication key".into(),
        (NotSigningKey, Locale::Kk) => "қол қою кілті емес".into(),
        (NotSigningKey, Locale::Ru) => "не ключ подписи".into(),
        (NotSigningKey, Locale::En) => "not a signing key".into(),
        (MissingExtendedKeyUsage(oid), Locale::Kk) => format!("сертификатта {oid} кеңейтілген мақсаты жоқ"),
        (MissingExtendedKeyUsage(oid), Locale::Ru) => format!("в сертификате нет расширенного назначения {oid}"),
        (MissingExtendedKeyUsage(oid), Locale::En) => format!("the certificate lacks extended key usage {oid}"),
        (OtherIin(iin), Locale::Kk) => format!("сайт ЖСН {iin} кілтін сұрайды"),
        (OtherIin(iin), Locale::Ru) => format!("сайт просит ключ ИИН {iin}"),
        (OtherIin(iin), Locale::En) => format!("the request asks for IIN {iin}"),
        (OtherBin(bin), Locale::Kk) => format!("сайт БСН {bin} кілтін сұрайды"),
        (OtherBin(bin), Locale::Ru) => format!("сайт просит ключ БИН {bin}"),
        (OtherBin(bin), Locale::En) => format!("the request asks for BIN {bin}"),
        (OtherCertificate(serial), Locale::Kk) => format!("сайт {serial} сертификатын сұрайды"),
        (OtherCertificate(serial), Locale::Ru) => format!("сайт просит сертификат {serial}"),
        (OtherCertificate(serial), Locale::En) => format!("the request asks for certificate {serial}"),
        (Expired { date }, Locale::Kk) => format!("сертификаттың мерзімі {date} аяқталған"),
        (Expired { date }, Locale::Ru) => format!("срок действия сертификата истёк {date}"),
        (Expired { date }, Locale::En) => format!("the certificate expired on {date}"),
        (NotYetValid { date }, Locale::Kk) => format!("сертификат тек {date} бастап жарамды"),
        (NotYetValid { date }, Locale::Ru) => format!("сертификат действует только с {date}"),
        (NotYetValid { date }, Locale::En) => format!("the certificate is valid only from {date}"),
        (NotUnderListedCas { issuer }, Locale::Kk) => format!("сайт атаған КО-лар бермеген (беруші: {issuer})"),
        (NotUnderListedCas { issuer }, Locale::Ru) => {
            format!("выдан не теми УЦ, которые назвал сайт (издатель: {issuer})")
        }
        (NotUnderListedCas { issuer }, Locale::En) => {
            format!("not issued by the CAs the site named (issuer: {issuer})")
        }
        (TestKey, Locale::Kk) => "ҰКО ТК-ның TEST КО-сы берген; бұл сайт тек нақты ҰКО ТК кілттерін қабылдайды".into(),
        (TestKey, Locale::Ru) => "выдан ТЕСТОВЫМ УЦ НУЦ РК; этот сайт принимает только настоящие ключи НУЦ РК".into(),
        (TestKey, Locale::En) => "issued by NCA RK's TEST CA; this site accepts only real NCA RK keys".into(),
        (IssuerSignatureInvalid { issuer }, Locale::Kk) => format!("сертификаттағы {issuer} қолтаңбасы расталмайды"),
        (IssuerSignatureInvalid { issuer }, Locale::Ru) => {
            format!("подпись {issuer} на сертификате не проходит проверку")
        }
        (IssuerSignatureInvalid { issuer }, Locale::En) => {
            format!("the signature of {issuer} on the certificate does not verify")
        }
        (NotNca { issuer }, Locale::Kk) => format!("ҰКО ТК бермеген (беруші: {issuer})"),
        (NotNca { issuer }, Locale::Ru) => format!("выдан не НУЦ РК (издатель: {issuer})"),
        (NotNca { issuer }, Locale::En) => format!("not issued by NCA RK (issuer: {issuer})"),
        (Revoked { date }, Locale::Kk) => format!("сертификат {date} кері қайтарып алынған"),
        (Revoked { date }, Locale::Ru) => format!("сертификат отозван {date}"),
        (Revoked { date }, Locale::En) => format!("the certificate was revoked on {date}"),
        (NeverIssued, Locale::Kk) => "ҰКО ТК-ның OCSP қызметі бұл сертификатты білмейді".into(),
        (NeverIssued, Locale::Ru) => "служба OCSP НУЦ РК не знает этот сертификат".into(),
        (NeverIssued, Locale::En) => "NCA RK's OCSP service does not know this certificate".into(),
    }
}

/// A note on a key's certificate, in words for the person.
pub fn trust_note(note: &crate::trust::TrustNote, locale: Locale) -> String {
    use crate::trust::TrustNote::*;
    match (note, locale) {
        (KeyFileExposed(exposure), _) => crate::keys::hygiene::exposure_text(*exposure, locale).into(),
        (IssuerByNameOnly, Locale::Kk) => {
            "ҰКО ТК сертификаттарын жүктеу мүмкін болмады: куәландырушы орталық тек атымен тексерілді.".into()
        }
        (IssuerByNameOnly, Locale::Ru) => {
            "Сертификаты УЦ НУЦ РК загрузить не удалось: издатель проверен только по имени.".into()
        }
        (IssuerByNameOnly, Locale::En) => {
            "NCA RK's CA certificates could not be downloaded: the issuer was checked by name only.".into()
        }
        (RevokedAllowed { date }, Locale::Kk) => {
            format!("Сертификат {date} қайтарылып алынған; сайт оған рұқсат береді.")
        }
        (RevokedAllowed { date }, Locale::Ru) => format!("Сертификат отозван {date}; сайт это разрешает."),
        (RevokedAllowed { date }, Locale::En) => format!("The certificate was revoked on {date}; the site allows it."),
        (RevocationUnknown { why }, Locale::Kk) => {
            format!("Бұл сертификаттың қайтарылып алынғанын ҰКО ТК-дан сұрау мүмкін болмады ({why}).")
        }
        (RevocationUnknown { why }, Locale::Ru) => {
            format!("Не удалось узнать у НУЦ РК, не отозван ли этот сертификат ({why}).")
        }
        (RevocationUnknown { why }, Locale::En) => {
            format!("NCA RK could not be asked whether this certificate was revoked ({why}).")
        }
    }
}

/// The words for an [`crate::signing::Action`].
pub fn action_word(action: crate::signing::Action) -> Word {
    use crate::signing::Action::*;
    match action {
        ShowKey => Word::ActShowKey,
        SignCms => Word::ActSignCms,
        SignCmsTimestamped => Word::ActSignCmsTimestamped,
        CoSign => Word::ActCoSign,
        SignFile => Word::ActSignFile,
        SignXml => Word::ActSignXml,
        SignRaw => Word::ActSignRaw,
        Timestamp => Word::ActTimestamp,
        ChooseFile => Word::ActChooseFile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locale_ids_pages_send() {
        assert_eq!(Locale::parse("kz"), Some(Locale::Kk));
        assert_eq!(Locale::parse("ru_RU"), Some(Locale::Ru));
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        assert_eq!(Locale::parse("de"), None);
    }
}
