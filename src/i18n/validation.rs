//! The words of `qoltanba verify`: each check's finding ([`Reason`]) and the report's
//! labels, in Kazakh, Russian and English. English is also what `--json` carries.
//! The verifiers' technical details (inside [`Reason::Broken`] and
//! [`Reason::RevocationUnknown`]) stay as they come.

use super::Locale;
use crate::trust::revocation::Source;
use crate::validation::{
    IdKind, Identity, Period, Reason, RootKind, TimeSource, TimestampUnused, Verdict, astana_time,
};

/// A label of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Subject,
    IinBin,
    SigningTime,
    TimestampNotUsed,
    Signature,
    Chain,
    Validity,
    Revocation,
    KeyUsage,
    Identity,
}

impl Label {
    /// The check labels, in the report's order.
    pub const CHECKS: [Label; 6] =
        [Label::Signature, Label::Chain, Label::Validity, Label::Revocation, Label::KeyUsage, Label::Identity];

    pub fn text(self, locale: Locale) -> &'static str {
        use Label::*;
        match (self, locale) {
            (Subject, Locale::Kk) => "иесі",
            (Subject, Locale::Ru) => "владелец",
            (Subject, Locale::En) => "subject",
            (IinBin, Locale::Kk) => "ЖСН / БСН",
            (IinBin, Locale::Ru) => "ИИН / БИН",
            (IinBin, Locale::En) => "IIN / BIN",
            (SigningTime, Locale::Kk) => "қол қою уақыты",
            (SigningTime, Locale::Ru) => "время подписи",
            (SigningTime, Locale::En) => "signing time",
            (TimestampNotUsed, Locale::Kk) => "уақыт белгісі қолданылмады",
            (TimestampNotUsed, Locale::Ru) => "метка времени не использована",
            (TimestampNotUsed, Locale::En) => "timestamp not used",
            (Signature, Locale::Kk) => "қолтаңба",
            (Signature, Locale::Ru) => "подпись",
            (Signature, Locale::En) => "signature",
            (Chain, Locale::Kk) => "тізбек",
            (Chain, Locale::Ru) => "цепочка",
            (Chain, Locale::En) => "chain",
            (Validity, Locale::Kk) => "мерзімі",
            (Validity, Locale::Ru) => "срок",
            (Validity, Locale::En) => "validity",
            (Revocation, Locale::Kk) => "кері қайтарып алу",
            (Revocation, Locale::Ru) => "отзыв",
            (Revocation, Locale::En) => "revocation",
            (KeyUsage, Locale::Kk) => "кілт мақсаты",
            (KeyUsage, Locale::Ru) => "назначение",
            (KeyUsage, Locale::En) => "key usage",
            (Identity, Locale::Kk) => "ЖСН/БСН",
            (Identity, Locale::Ru) => "ИИН/БИН",
            (Identity, Locale::En) => "identity",
        }
    }
}

/// "signer 2: VALID".
pub fn signer_verdict(n: usize, verdict: Verdict, locale: Locale) -> String {
    let word = match (verdict, locale) {
        (Verdict::Valid, Locale::Kk) => "ЖАРАМДЫ",
        (Verdict::Valid, Locale::Ru) => "ДЕЙСТВИТЕЛЬНА",
        (Verdict::Valid, Locale::En) => "VALID",
        (Verdict::Invalid, Locale::Kk) => "ЖАРАМСЫЗ",
        (Verdict::Invalid, Locale::Ru) => "НЕДЕЙСТВИТЕЛЬНА",
        (Verdict::Invalid, Locale::En) => "INVALID",
        (Verdict::Indeterminate, Locale::Kk) => "АНЫҚТАЛМАДЫ (бір тексеруді жасау мүмкін болмады)",
        (Verdict::Indeterminate, Locale::Ru) => "НЕ ОПРЕДЕЛЕНО (одну из проверок выполнить не удалось)",
        (Verdict::Indeterminate, Locale::En) => "INDETERMINATE (a check could not be made)",
    };
    match locale {
        Locale::Kk => format!("қол қоюшы {n}: {word}"),
        Locale::Ru => format!("подписант {n}: {word}"),
        Locale::En => format!("signer {n}: {word}"),
    }
}

/// Where the signing time came from, after the time.
pub fn time_source(source: TimeSource, locale: Locale) -> &'static str {
    match (source, locale) {
        (TimeSource::Timestamp, Locale::Kk) => "сенімді уақыт белгісі бойынша",
        (TimeSource::Timestamp, Locale::Ru) => "по доверенной метке времени",
        (TimeSource::Timestamp, Locale::En) => "from a trusted timestamp",
        (TimeSource::Claimed, Locale::Kk) => "қол қоюшы көрсеткен, дәлелденбеген",
        (TimeSource::Claimed, Locale::Ru) => "указано подписантом, не доказано",
        (TimeSource::Claimed, Locale::En) => "claimed by the signer, not proven",
        (TimeSource::Check, Locale::Kk) => "осы тексеру уақыты",
        (TimeSource::Check, Locale::Ru) => "время этой проверки",
        (TimeSource::Check, Locale::En) => "the time of this check",
    }
}

/// The first line of a CMS report.
pub fn cms_header(signers: usize, attached: bool, locale: Locale) -> String {
    match (locale, attached) {
        (Locale::Kk, true) => format!("қол қоюшылар: {signers}, мазмұны ішінде"),
        (Locale::Kk, false) => format!("қол қоюшылар: {signers}, мазмұны бөлек"),
        (Locale::Ru, true) => format!("подписантов: {signers}, содержимое внутри"),
        (Locale::Ru, false) => format!("подписантов: {signers}, содержимое отдельно"),
        (Locale::En, true) => format!("{signers} signer(s), content attached"),
        (Locale::En, false) => format!("{signers} signer(s), content detached"),
    }
}

/// The first line of an XML report.
pub fn xml_header(signatures: usize, locale: Locale) -> String {
    match locale {
        Locale::Kk => format!("қолтаңбалар: {signatures}"),
        Locale::Ru => format!("подписей: {signatures}"),
        Locale::En => format!("{signatures} signature(s)"),
    }
}

/// An XML document without any signature.
pub fn no_xml_signature(locale: Locale) -> &'static str {
    match locale {
        Locale::Kk => "құжатта XML қолтаңбасы жоқ",
        Locale::Ru => "в документе нет XML-подписи",
        Locale::En => "the document has no XML signature",
    }
}

/// Why a timestamp was not taken as the signing time.
pub fn timestamp_unused(why: &TimestampUnused, locale: Locale) -> String {
    match (why, locale) {
        (TimestampUnused::NotForTimestamps, Locale::Kk) => {
            "TSA сертификаты уақыт белгілеріне арналмаған (timeStamping мақсаты жоқ)".into()
        }
        (TimestampUnused::NotForTimestamps, Locale::Ru) => {
            "сертификат TSA не предназначен для меток времени (нет назначения timeStamping)".into()
        }
        (TimestampUnused::NotForTimestamps, Locale::En) => {
            "the TSA's certificate is not one for timestamps (no timeStamping usage)".into()
        }
        (TimestampUnused::Untrusted(r), Locale::Kk) => {
            format!("уақыт белгісінің TSA-сына сенім жоқ: {}", reason(r, locale))
        }
        (TimestampUnused::Untrusted(r), Locale::Ru) => format!("TSA метки времени не доверен: {}", reason(r, locale)),
        (TimestampUnused::Untrusted(r), Locale::En) => {
            format!("the timestamp's TSA is not trusted: {}", reason(r, locale))
        }
        (TimestampUnused::NoCertificate, Locale::Kk) => "уақыт белгісінде TSA сертификаты жоқ".into(),
        (TimestampUnused::NoCertificate, Locale::Ru) => "в метке времени нет сертификата TSA".into(),
        (TimestampUnused::NoCertificate, Locale::En) => "the timestamp carries no TSA certificate".into(),
    }
}

/// The revocation source, as it follows "by" (en), "по данным" (ru), before "бойынша" (kk).
fn source(source: &Source, locale: Locale) -> String {
    match (source, locale) {
        (Source::Ocsp { produced_at_ms: p }, Locale::Kk) => {
            format!("{} күнгі OCSP түбіртегі (сол күнгі жағдай)", astana_time(*p))
        }
        (Source::Ocsp { produced_at_ms: p }, Locale::Ru) => {
            format!("квитанции OCSP от {} (проверка на эту дату)", astana_time(*p))
        }
        (Source::Ocsp { produced_at_ms: p }, Locale::En) => {
            format!("the OCSP receipt of {} (checked as of that date)", astana_time(*p))
        }
        (Source::Crl { this_update_ms: t, delta_ms: None }, Locale::Kk) => format!("{} күнгі CRL", astana_time(*t)),
        (Source::Crl { this_update_ms: t, delta_ms: None }, Locale::Ru) => format!("CRL от {}", astana_time(*t)),
        (Source::Crl { this_update_ms: t, delta_ms: None }, Locale::En) => format!("the CRL of {}", astana_time(*t)),
        (Source::Crl { this_update_ms: t, delta_ms: Some(d) }, Locale::Kk) => {
            format!("{} күнгі CRL мен {} күнгі дельта-CRL", astana_time(*t), astana_time(*d))
        }
        (Source::Crl { this_update_ms: t, delta_ms: Some(d) }, Locale::Ru) => {
            format!("CRL от {} и дельта-CRL от {}", astana_time(*t), astana_time(*d))
        }
        (Source::Crl { this_update_ms: t, delta_ms: Some(d) }, Locale::En) => {
            format!("the CRL of {} and the delta CRL of {}", astana_time(*t), astana_time(*d))
        }
    }
}

/// "at the signing time the signer claims, …" and the like.
fn when(source: TimeSource, at_ms: i64, locale: Locale) -> String {
    let at = astana_time(at_ms);
    match (source, locale) {
        (TimeSource::Timestamp, Locale::Kk) => format!("уақыт белгісінің уақытында, {at}"),
        (TimeSource::Timestamp, Locale::Ru) => format!("на время метки времени, {at}"),
        (TimeSource::Timestamp, Locale::En) => format!("at the timestamp's time {at}"),
        (TimeSource::Claimed, Locale::Kk) => format!("қол қоюшы көрсеткен қол қою уақытында, {at}"),
        (TimeSource::Claimed, Locale::Ru) => format!("на время подписания, указанное подписантом, {at}"),
        (TimeSource::Claimed, Locale::En) => format!("at the signing time the signer claims, {at}"),
        (TimeSource::Check, Locale::Kk) => format!("қазір, {at} (қолтаңбада оның қашан қойылғаны айтылмаған)"),
        (TimeSource::Check, Locale::Ru) => format!("сейчас, {at} (в подписи не сказано, когда она сделана)"),
        (TimeSource::Check, Locale::En) => format!("now, {at} (the signature does not say when it was made)"),
    }
}

fn id_name(what: IdKind, locale: Locale) -> &'static str {
    match (what, locale) {
        (IdKind::Iin, Locale::Kk) => "ЖСН",
        (IdKind::Iin, Locale::Ru) => "ИИН",
        (IdKind::Iin, Locale::En) => "IIN",
        (IdKind::Bin, Locale::Kk) => "БСН",
        (IdKind::Bin, Locale::Ru) => "БИН",
        (IdKind::Bin, Locale::En) => "BIN",
    }
}

fn identity(item: &Identity, locale: Locale) -> String {
    match (item, locale) {
        (Identity::Matches { what, value }, Locale::Kk) => format!("{} {value} күтілгендей", id_name(*what, locale)),
        (Identity::Matches { what, value }, Locale::Ru) => format!("{} {value}, как ожидалось", id_name(*what, locale)),
        (Identity::Matches { what, value }, Locale::En) => format!("{} {value} as expected", id_name(*what, locale)),
        (Identity::Differs { what, actual, expected }, Locale::Kk) => {
            format!("сертификаттағы {} {actual}, {expected} емес", id_name(*what, locale))
        }
        (Identity::Differs { what, actual, expected }, Locale::Ru) => {
            format!("{} в сертификате {actual}, а не {expected}", id_name(*what, locale))
        }
        (Identity::Differs { what, actual, expected }, Locale::En) => {
            format!("the certificate's {} is {actual}, not {expected}", id_name(*what, locale))
        }
        (Identity::Absent { what, expected }, Locale::Kk) => {
            format!("сертификатта {} жоқ ({expected} күтілген)", id_name(*what, locale))
        }
        (Identity::Absent { what, expected }, Locale::Ru) => {
            format!("в сертификате нет {} (ожидался {expected})", id_name(*what, locale))
        }
        (Identity::Absent { what, expected }, Locale::En) => {
            format!("the certificate has no {} (expected {expected})", id_name(*what, locale))
        }
    }
}

/// One check's finding in `locale`'s words.
pub fn reason(reason: &Reason, locale: Locale) -> String {
    use Locale::{En, Kk, Ru};
    use Reason::*;
    let l = locale;
    match (reason, l) {
        (Intact, Kk) => "қолтаңба құжатқа және сертификатқа сәйкес келеді".into(),
        (Intact, Ru) => "подпись соответствует документу и сертификату".into(),
        (Intact, En) => "the signature matches the document and the certificate".into(),
        (Broken(problems), _) => problems.clone(),
        (NoCertificate, Kk) => "қолтаңбада оқылатын сертификат жоқ".into(),
        (NoCertificate, Ru) => "в подписи нет читаемого сертификата".into(),
        (NoCertificate, En) => "the signature carries no readable certificate".into(),

        (Trusted { root: RootKind::Production, top }, Kk) => format!("ҰКО ТК: {top}"),
        (Trusted { root: RootKind::Production, top }, Ru) => format!("НУЦ РК: {top}"),
        (Trusted { root: RootKind::Production, top }, En) => format!("NCA RK: {top}"),
        (Trusted { root: RootKind::Test, top }, Kk) => format!("ҰКО ТК TEST (заңды қолтаңба емес): {top}"),
        (Trusted { root: RootKind::Test, top }, Ru) => format!("НУЦ РК TEST (не юридически значимая подпись): {top}"),
        (Trusted { root: RootKind::Test, top }, En) => format!("NCA RK TEST (not a legal signature): {top}"),
        (Trusted { root: RootKind::Given, top }, Kk) => format!("--trust арқылы берілген КО: {top}"),
        (Trusted { root: RootKind::Given, top }, Ru) => format!("УЦ, указанный через --trust: {top}"),
        (Trusted { root: RootKind::Given, top }, En) => format!("a CA given with --trust: {top}"),
        (CaNotValid { ca, at_ms, from_ms, to_ms }, _) => {
            let (at, from, to) = (astana_time(*at_ms), astana_time(*from_ms), astana_time(*to_ms));
            match l {
                Kk => format!("{ca} КО сертификаты {at} кезінде жарамсыз болды (жарамдылығы {from} – {to})"),
                Ru => format!("сертификат УЦ {ca} не действовал на {at} (действителен с {from} по {to})"),
                En => format!("the CA certificate {ca} was not valid at {at} (valid {from} to {to})"),
            }
        }
        (ChainTooLong, Kk) => "тізбек тым ұзын".into(),
        (ChainTooLong, Ru) => "цепочка слишком длинная".into(),
        (ChainTooLong, En) => "the chain is too long".into(),
        (IssuerUnreadable, Kk) => "берушінің сертификатын оқу мүмкін емес".into(),
        (IssuerUnreadable, Ru) => "сертификат издателя не читается".into(),
        (IssuerUnreadable, En) => "an issuer's certificate cannot be read".into(),
        (TestCa, Kk) => "ҰКО ТК-ның TEST КО-сы берген: бұл сынақ қолтаңбасы, заңды емес (сынақ қолтаңбаларын тексеру үшін тест түбірін --trust арқылы беріңіз)".into(),
        (TestCa, Ru) => "выдан ТЕСТОВЫМ УЦ НУЦ РК: это тестовая подпись, не юридически значимая (чтобы проверять тестовые подписи, укажите тестовый корень через --trust)".into(),
        (TestCa, En) => "issued by NCA RK's TEST CA: a test signature, not a legal one (give the test root with --trust to check test signatures)".into(),
        (SelfSigned { cn }, Kk) => format!("{cn} сертификаты өзіне-өзі қол қойған, оны сенімді КО бермеген"),
        (SelfSigned { cn }, Ru) => format!("сертификат {cn} самоподписанный, его не выдавал доверенный УЦ"),
        (SelfSigned { cn }, En) => format!("the certificate of {cn} is self-signed, not issued by a trusted CA"),
        (NcaCasMissing, Kk) => "ҰКО ТК-ның КО сертификаттары бұл компьютерде жоқ (желіге қосылғанда жүктеледі; немесе оларды --trust арқылы беріңіз)".into(),
        (NcaCasMissing, Ru) => "сертификатов УЦ НУЦ РК нет на этом компьютере (они загружаются при подключении к сети; или укажите их через --trust)".into(),
        (NcaCasMissing, En) => "NCA RK's CA certificates are not on this computer (they are downloaded when online; or give them with --trust)".into(),
        (Untrusted { issuer }, Kk) => format!("сенімді КО бермеген (беруші: {issuer})"),
        (Untrusted { issuer }, Ru) => format!("выдан не доверенным УЦ (издатель: {issuer})"),
        (Untrusted { issuer }, En) => format!("not issued by a trusted CA (issuer: {issuer})"),

        (Validity { state, when: source, at_ms, from_ms, to_ms }, _) => {
            let when = when(*source, *at_ms, l);
            let (from, to) = (astana_time(*from_ms), astana_time(*to_ms));
            match (state, l) {
                (Period::Before, Kk) => format!("{when} әлі жарамсыз: жарамдылығы {from} – {to}"),
                (Period::Before, Ru) => format!("ещё не действовал {when}: действителен с {from} по {to}"),
                (Period::Before, En) => format!("not yet valid {when}: valid {from} to {to}"),
                (Period::After, Kk) => format!("{when} мерзімі өтіп кеткен: жарамдылығы {from} – {to}"),
                (Period::After, Ru) => format!("истёк {when}: действителен с {from} по {to}"),
                (Period::After, En) => format!("expired {when}: valid {from} to {to}"),
                (Period::Within, Kk) => format!("{when} жарамды: жарамдылығы {from} – {to}"),
                (Period::Within, Ru) => format!("действителен {when}: срок с {from} по {to}"),
                (Period::Within, En) => format!("valid {when}: valid {from} to {to}"),
            }
        }

        (NotRevoked(s), Kk) => format!("кері қайтарып алынбаған ({} бойынша)", source(s, l)),
        (NotRevoked(s), Ru) => format!("не отозван, по данным {}", source(s, l)),
        (NotRevoked(s), En) => format!("not revoked, by {}", source(s, l)),
        (Revoked { at_ms, source: s }, Kk) => {
            format!("{} кері қайтарып алынған ({} бойынша)", astana_time(*at_ms), source(s, l))
        }
        (Revoked { at_ms, source: s }, Ru) => format!("отозван {}, по данным {}", astana_time(*at_ms), source(s, l)),
        (Revoked { at_ms, source: s }, En) => format!("revoked on {}, by {}", astana_time(*at_ms), source(s, l)),
        (RevokedAfterTimestamp { at_ms, source: s }, Kk) => format!(
            "уақыт белгісі қойылған кезде кері қайтарып алынбаған; кейін, {} кері қайтарып алынған ({} бойынша)",
            astana_time(*at_ms),
            source(s, l)
        ),
        (RevokedAfterTimestamp { at_ms, source: s }, Ru) => format!(
            "не был отозван на момент метки времени; отозван позже, {}, по данным {}",
            astana_time(*at_ms),
            source(s, l)
        ),
        (RevokedAfterTimestamp { at_ms, source: s }, En) => format!(
            "not revoked when the timestamp was made; revoked later, on {}, by {}",
            astana_time(*at_ms),
            source(s, l)
        ),
        (RevokedUnproven { at_ms, source: s }, Kk) => format!(
            "{} кері қайтарып алынған ({} бойынша); қолтаңбаның одан бұрын қойылғанын дәлелдейтін сенімді уақыт белгісі жоқ",
            astana_time(*at_ms),
            source(s, l)
        ),
        (RevokedUnproven { at_ms, source: s }, Ru) => format!(
            "отозван {}, по данным {}; в подписи нет доверенной метки времени, доказывающей, что она сделана раньше",
            astana_time(*at_ms),
            source(s, l)
        ),
        (RevokedUnproven { at_ms, source: s }, En) => format!(
            "revoked on {}, by {}; the signature has no trusted timestamp to prove it was made before",
            astana_time(*at_ms),
            source(s, l)
        ),
        (NeverIssued(s), Kk) => format!("OCSP қызметі бұл сертификатты КО ешқашан бермеген дейді ({})", source(s, l)),
        (NeverIssued(s), Ru) => {
            format!("служба OCSP сообщает, что УЦ не выдавал этот сертификат (по данным {})", source(s, l))
        }
        (NeverIssued(s), En) => format!("the OCSP service says the CA never issued this certificate ({})", source(s, l)),
        (RevocationUnknown(why), Kk) => format!("тексеру мүмкін болмады: {why}"),
        (RevocationUnknown(why), Ru) => format!("проверить не удалось: {why}"),
        (RevocationUnknown(why), En) => format!("could not be checked: {why}"),
        (IssuerMissing, Kk) => "тексеру мүмкін болмады: берушінің сертификаты жоқ".into(),
        (IssuerMissing, Ru) => "проверить не удалось: нет сертификата издателя".into(),
        (IssuerMissing, En) => "could not be checked: the issuer's certificate is not available".into(),

        (NoKeyUsage, Kk) => "сертификатта кілттің мақсаты көрсетілмеген".into(),
        (NoKeyUsage, Ru) => "в сертификате не указано назначение ключа".into(),
        (NoKeyUsage, En) => "the certificate has no key usage".into(),
        (SigningCertificate { listed }, Kk) => format!("қол қою сертификаты ({listed})"),
        (SigningCertificate { listed }, Ru) => format!("сертификат подписи ({listed})"),
        (SigningCertificate { listed }, En) => format!("a signing certificate ({listed})"),
        (AuthenticationNotForSigning { listed }, Kk) => {
            format!("аутентификация сертификаты ({listed}): ол жүйеге кіру үшін, құжаттарға қол қоюға арналмаған")
        }
        (AuthenticationNotForSigning { listed }, Ru) => {
            format!("сертификат аутентификации ({listed}): он для входа в системы, а не для подписания документов")
        }
        (AuthenticationNotForSigning { listed }, En) => {
            format!("an authentication certificate ({listed}): it logs in, it does not sign documents")
        }
        (NotSigningCertificate { listed }, Kk) => format!("қол қою сертификаты емес ({listed})"),
        (NotSigningCertificate { listed }, Ru) => format!("не сертификат подписи ({listed})"),
        (NotSigningCertificate { listed }, En) => format!("not a signing certificate ({listed})"),
        (AuthenticationCertificate { listed }, Kk) => format!("аутентификация сертификаты ({listed})"),
        (AuthenticationCertificate { listed }, Ru) => format!("сертификат аутентификации ({listed})"),
        (AuthenticationCertificate { listed }, En) => format!("an authentication certificate ({listed})"),
        (NotAuthenticationCertificate { listed }, Kk) => format!("аутентификация сертификаты емес ({listed})"),
        (NotAuthenticationCertificate { listed }, Ru) => format!("не сертификат аутентификации ({listed})"),
        (NotAuthenticationCertificate { listed }, En) => format!("not an authentication certificate ({listed})"),

        (Reason::Identity(items), _) => {
            // All that match when all do; else only those that do not.
            use crate::validation::Identity as Item;
            let failing: Vec<&Item> = items.iter().filter(|i| !matches!(i, Item::Matches { .. })).collect();
            let shown: Vec<&Item> = if failing.is_empty() { items.iter().collect() } else { failing };
            shown.iter().map(|i| identity(i, l)).collect::<Vec<_>>().join("; ")
        }
    }
}
