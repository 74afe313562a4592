//! The words of `qoltanba journal`, in Kazakh, Russian and English.

use super::Locale;
use crate::journal::{Break, Problem, Verdict};

/// One fixed phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Say {
    Time,
    Site,
    Operation,
    Signer,
    Documents,
    Result,
    /// There is no journal yet.
    Empty,
}

impl Say {
    pub fn text(self, locale: Locale) -> &'static str {
        use Locale::*;
        match (self, locale) {
            (Self::Time, Kk) => "Уақыт",
            (Self::Time, Ru) => "Время",
            (Self::Time, En) => "Time",
            (Self::Site, Kk) => "Сайт",
            (Self::Site, Ru) => "Сайт",
            (Self::Site, En) => "Site",
            (Self::Operation, Kk) => "Әрекет",
            (Self::Operation, Ru) => "Операция",
            (Self::Operation, En) => "Operation",
            (Self::Signer, Kk) => "Қол қоюшы",
            (Self::Signer, Ru) => "Подписант",
            (Self::Signer, En) => "Signer",
            (Self::Documents, Kk) => "Құжат",
            (Self::Documents, Ru) => "Док.",
            (Self::Documents, En) => "Docs",
            (Self::Result, Kk) => "Нәтиже",
            (Self::Result, Ru) => "Результат",
            (Self::Result, En) => "Result",
            (Self::Empty, Kk) => "Қолтаңба журналы әлі бос.",
            (Self::Empty, Ru) => "Журнал подписей пока пуст.",
            (Self::Empty, En) => "The signing journal is empty so far.",
        }
    }
}

/// How a request ended, in a word.
pub fn verdict(verdict: Verdict, locale: Locale) -> &'static str {
    use Locale::*;
    match (verdict, locale) {
        (Verdict::Signed, Kk) => "қол қойылды",
        (Verdict::Signed, Ru) => "подписано",
        (Verdict::Signed, En) => "signed",
        (Verdict::Canceled, Kk) => "бас тартылды",
        (Verdict::Canceled, Ru) => "отменено",
        (Verdict::Canceled, En) => "canceled",
        (Verdict::Failed, Kk) => "сәтсіз",
        (Verdict::Failed, Ru) => "ошибка",
        (Verdict::Failed, En) => "failed",
    }
}

/// `journal --verify` found every line in place.
pub fn intact(lines: usize, locale: Locale) -> String {
    match locale {
        Locale::Kk => format!("Журнал бүтін: {lines} жазба, әрқайсысы алдыңғысына тізбектелген."),
        Locale::Ru => format!("Журнал цел: записей {lines}, каждая сцеплена с предыдущей."),
        Locale::En => format!("The journal is intact: {lines} entries, each chained to the one before."),
    }
}

/// `journal --verify` found the chain broken.
pub fn broken(at: &Break, locale: Locale) -> String {
    let (file, n) = (at.file, at.line);
    let before = n.saturating_sub(1);
    match (&at.problem, locale) {
        (Problem::NotAnEntry, Locale::Kk) => {
            format!("Журнал бұзылған: {file}, {n}-жол журнал жазбасы емес (бүлінген немесе қысқартылған).")
        }
        (Problem::NotAnEntry, Locale::Ru) => {
            format!("Журнал нарушен: {file}, строка {n} не является записью журнала (повреждена или обрезана).")
        }
        (Problem::NotAnEntry, Locale::En) => {
            format!("The journal is broken: {file}, line {n} is not a journal entry (damaged or cut short).")
        }
        (Problem::DoesNotFollow, Locale::Kk) => format!(
            "Журнал бұзылған: {file}, {n}-жол {before}-жолдан кейін келмейді ({before}-жол өзгертілген немесе олардың арасындағы жолдар жойылған не қосылған)."
        ),
        (Problem::DoesNotFollow, Locale::Ru) => format!(
            "Журнал нарушен: {file}, строка {n} не следует за строкой {before} (строка {before} изменена, либо между ними удалены или вставлены строки)."
        ),
        (Problem::DoesNotFollow, Locale::En) => format!(
            "The journal is broken: {file}, line {n} does not follow line {before} (line {before} was changed, or lines between them were removed or added)."
        ),
        (Problem::NoStart, Locale::Kk) => {
            format!("Журнал бұзылған: {file}, {n}-жол тізбектің басы емес (алдындағы жолдар жойылған).")
        }
        (Problem::NoStart, Locale::Ru) => {
            format!("Журнал нарушен: {file}, строка {n} не начинает цепочку (строки перед ней удалены).")
        }
        (Problem::NoStart, Locale::En) => format!(
            "The journal is broken: {file}, line {n} does not start the chain (the lines before it were removed)."
        ),
        (Problem::Unreadable(why), Locale::Kk) => format!("Журналды оқу мүмкін емес: {why}"),
        (Problem::Unreadable(why), Locale::Ru) => format!("Журнал не читается: {why}"),
        (Problem::Unreadable(why), Locale::En) => format!("The journal cannot be read: {why}"),
    }
}
