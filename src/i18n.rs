//! The user's language and the messages we show in it (Kazakh, Russian, English).
//!
//! Wire error texts that pages test for (`action.canceled`, Java exception strings)
//! are not translated: they are part of the protocol. Everything written for a
//! person to read goes through [`Msg::text`].

/// A user interface language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Locale {
    /// Kazakh: NCALayer's default for `basics`.
    Kk,
    #[default]
    Ru,
    En,
}

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
        }
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
