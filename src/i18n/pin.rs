//! The words of changing a token's PIN (`qoltanba tokens change-pin` and the window the
//! tray opens), in Kazakh, Russian and English.

use super::Locale;
use crate::keys::pkcs11::{NewPinProblem, PinChange};
use crate::ui::sanitize::shown;

/// One fixed phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin {
    /// The window's heading.
    Title,
    /// Before the token's name, or the choice of tokens.
    Token,
    Current,
    New,
    Again,
    /// What a new PIN must be.
    Rules,
    /// The button that changes the PIN.
    Change,
    /// Waiting for the token.
    Changing,
    /// The chosen token locks at the next wrong PIN.
    FinalTryWarning,
    /// The terminal: no token, or not the named one, is plugged in.
    NoSuchToken,
    /// The terminal: which token is not said and there are several.
    ManyTokens,
}

impl Pin {
    /// The phrase in `locale`.
    pub fn get(self, locale: Locale) -> &'static str {
        use Locale::*;
        match (self, locale) {
            (Self::Title, Kk) => "Токеннің PIN-кодын өзгерту",
            (Self::Title, Ru) => "Смена PIN-кода токена",
            (Self::Title, En) => "Change the token's PIN",
            (Self::Token, Kk) => "Токен:",
            (Self::Token, Ru) => "Токен:",
            (Self::Token, En) => "Token:",
            (Self::Current, Kk) => "Қазіргі PIN:",
            (Self::Current, Ru) => "Текущий PIN:",
            (Self::Current, En) => "Current PIN:",
            (Self::New, Kk) => "Жаңа PIN:",
            (Self::New, Ru) => "Новый PIN:",
            (Self::New, En) => "New PIN:",
            (Self::Again, Kk) => "Жаңа PIN қайтадан:",
            (Self::Again, Ru) => "Новый PIN ещё раз:",
            (Self::Again, En) => "New PIN again:",
            (Self::Rules, Kk) => "Кемінде 6 таңба, зауыттық PIN емес (12345678, 1234567890).",
            (Self::Rules, Ru) => "Не короче 6 символов и не заводской (12345678, 1234567890).",
            (Self::Rules, En) => "At least 6 characters, and not a factory PIN (12345678, 1234567890).",
            (Self::Change, Kk) => "Өзгерту",
            (Self::Change, Ru) => "Сменить",
            (Self::Change, En) => "Change",
            (Self::Changing, Kk) => "PIN өзгертілуде…",
            (Self::Changing, Ru) => "PIN-код меняется…",
            (Self::Changing, En) => "Changing the PIN…",
            (Self::FinalTryWarning, Kk) => "Тағы бір қате PIN бұл токенді бұғаттайды.",
            (Self::FinalTryWarning, Ru) => "Ещё один неверный PIN заблокирует этот токен.",
            (Self::FinalTryWarning, En) => "One more wrong PIN locks this token.",
            (Self::NoSuchToken, Kk) => "мұндай токен қосылмаған (оларды qoltanba tokens list көрсетеді)",
            (Self::NoSuchToken, Ru) => "такой токен не подключён (их показывает qoltanba tokens list)",
            (Self::NoSuchToken, En) => "no such token is plugged in (qoltanba tokens list shows them)",
            (Self::ManyTokens, Kk) => "бірнеше токен қосылған: біреуін --token БЕЛГІ арқылы атаңыз",
            (Self::ManyTokens, Ru) => "подключено несколько токенов: укажите один через --token МЕТКА",
            (Self::ManyTokens, En) => "more than one token is plugged in: name one with --token LABEL",
        }
    }
}

/// Why a new PIN is not taken.
pub fn problem(problem: NewPinProblem, locale: Locale) -> &'static str {
    use Locale::*;
    use NewPinProblem::*;
    match (problem, locale) {
        (Differ, Kk) => "Жаңа PIN-кодтар сәйкес келмейді; ештеңе өзгертілмеді.",
        (Differ, Ru) => "Новые PIN-коды не совпадают; ничего не изменено.",
        (Differ, En) => "The two new PINs differ; nothing was changed.",
        (TooShort, Kk) => "Жаңа PIN тым қысқа: кемінде 6 таңба керек.",
        (TooShort, Ru) => "Новый PIN слишком короткий: нужно не меньше 6 символов.",
        (TooShort, En) => "The new PIN is too short: it needs at least 6 characters.",
        (Factory, Kk) => "Бұл зауыттық PIN (12345678, 1234567890): басқасын таңдаңыз.",
        (Factory, Ru) => "Это заводской PIN (12345678, 1234567890): выберите другой.",
        (Factory, En) => "That is a factory PIN (12345678, 1234567890): choose another.",
    }
}

/// What a PIN change of the token labelled `token` came to.
pub fn outcome(outcome: &PinChange, token: &str, locale: Locale) -> String {
    use Locale::*;
    let token = shown(token);
    match (outcome, locale) {
        (PinChange::Changed, Kk) => format!("«{token}» токенінің PIN-коды өзгертілді."),
        (PinChange::Changed, Ru) => format!("PIN-код токена «{token}» изменён."),
        (PinChange::Changed, En) => format!("The PIN of the token \"{token}\" was changed."),
        (PinChange::Rejected { problem: p }, _) => problem(*p, locale).to_owned(),
        (PinChange::WrongPin { final_try: false }, Kk) => "PIN қате; ештеңе өзгертілмеді.".into(),
        (PinChange::WrongPin { final_try: false }, Ru) => "Неверный PIN; ничего не изменено.".into(),
        (PinChange::WrongPin { final_try: false }, En) => "Wrong PIN; nothing was changed.".into(),
        (PinChange::WrongPin { final_try: true }, Kk) => "PIN қате; токен бұғатталғанға дейін БІР әрекет қалды.".into(),
        (PinChange::WrongPin { final_try: true }, Ru) => {
            "Неверный PIN; осталась ОДНА попытка, потом токен заблокируется.".into()
        }
        (PinChange::WrongPin { final_try: true }, En) => "Wrong PIN; ONE try is left before the token locks.".into(),
        (PinChange::Locked, Kk) => "Токеннің PIN-коды бұғатталған: оны PUK-кодпен ашыңыз.".into(),
        (PinChange::Locked, Ru) => "PIN-код токена заблокирован: разблокируйте его PUK-кодом.".into(),
        (PinChange::Locked, En) => "The token's PIN is locked: unblock it with its PUK.".into(),
        (PinChange::Busy, Kk) => "Токенді қазір қол қою сұрауы пайдаланып жатыр; сәлден соң қайталаңыз.".into(),
        (PinChange::Busy, Ru) => "Токен сейчас занят запросом на подпись; повторите чуть позже.".into(),
        (PinChange::Busy, En) => "The token is in use by a signing request now; try again in a moment.".into(),
        (PinChange::Removed, Kk) => "Токен алынды немесе ауыстырылды; PIN өзгертілмеді.".into(),
        (PinChange::Removed, Ru) => "Токен извлечён или заменён; PIN не изменён.".into(),
        (PinChange::Removed, En) => "The token was taken out or replaced; the PIN was not changed.".into(),
        (PinChange::Failed { reason }, Kk) => format!("PIN өзгертілмеді: {}", shown(reason)),
        (PinChange::Failed { reason }, Ru) => format!("PIN не изменён: {}", shown(reason)),
        (PinChange::Failed { reason }, En) => format!("The PIN was not changed: {}", shown(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_said_in_every_language() {
        let outcomes = [
            PinChange::Changed,
            PinChange::Rejected { problem: NewPinProblem::Factory },
            PinChange::WrongPin { final_try: false },
            PinChange::WrongPin { final_try: true },
            PinChange::Locked,
            PinChange::Busy,
            PinChange::Removed,
            PinChange::Failed { reason: "CKR_GENERAL_ERROR".into() },
        ];
        for (locale, _) in crate::i18n::LANGUAGES {
            let said: Vec<String> = outcomes.iter().map(|o| outcome(o, "NCA test", locale)).collect();
            let mut distinct = said.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), said.len(), "{locale:?}: {said:?}");
        }
        assert_eq!(
            outcome(&PinChange::Changed, "NCA\u{202e}test", Locale::En),
            "The PIN of the token \"NCA\\u{202e}test\" was changed."
        );
        assert!(outcome(&PinChange::Locked, "x", Locale::Ru).contains("PUK"));
    }
}
