//! The moderation regression set: per language, offensive messages in
//! common disguises that must be caught, clean ones that must not be, and
//! the quality thresholds on the Tatoeba sentences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use parley_pipeline::moderate::{ModerationAction, Policy, Reading, RoomWords, moderate};

fn verdict(text: &str, lang: &str) -> ModerationAction {
    moderate(text, Reading::own(lang), Policy::Mask, &RoomWords::default()).1.action
}

const OFFENSIVE: &[(&str, &str)] = &[
    ("en", "you are a f.u.c.k.i.n.g idiot"),
    ("en", "5h1t happens"),
    ("en", "what an ASSHOLE"),
    ("en", "shiiiiit"),
    ("es", "eres un PENDEJO"),
    ("es", "hijo de p u t a"),
    ("es", "qué m1erda"),
    ("es", "cabrón"),
    ("fr", "quelle MERDE"),
    ("fr", "c0nnard"),
    ("fr", "va te faire enculer"),
    ("fr", "putaaaain"),
    ("de", "du Arschloch"),
    ("de", "SCHEISSE"),
    ("de", "w1chser"),
    ("de", "f.o.t.z.e"),
    ("pt", "que porra é essa"),
    ("pt", "vai tomar no cu"),
    ("pt", "c4ralho"),
    ("pt", "filho da puta"),
    ("ja", "このクソ野郎"),
    ("ja", "ちんこ"),
    ("ja", "ﾁﾝｺ"),
    ("zh", "你 他 妈 的"),
    ("zh", "傻逼"),
    ("zh", "操你妈"),
];

const CLEAN: &[(&str, &str)] = &[
    ("en", "Can you send me the link?"),
    ("en", "I passed the class assessment."),
    ("es", "Voy con mi hermana."),
    ("es", "La computadora está encendida."),
    ("fr", "Le contenu est conforme à la commande."),
    ("fr", "Le chat dort sur le canapé de Peter."),
    ("de", "Bitte schließe die Tür."),
    ("de", "In der Vergangenheit war alles anders."),
    ("pt", "Vou comer uma torta de cereja."),
    ("pt", "O cachorro está no parque."),
    ("ja", "ファックスを送ってください。"),
    ("ja", "ヒッチハイクで旅行した。"),
    ("zh", "这是我妈妈的书。"),
    ("zh", "我喜欢喝牛乳。"),
];

#[test]
fn offensive_messages_in_disguise_are_caught_in_every_language() {
    let missed: Vec<_> =
        OFFENSIVE.iter().filter(|(lang, text)| verdict(text, lang) != ModerationAction::Masked).collect();
    assert!(missed.is_empty(), "missed: {missed:?}");
}

#[test]
fn clean_messages_pass_in_every_language() {
    let flagged: Vec<_> = CLEAN.iter().filter(|(lang, text)| verdict(text, lang) != ModerationAction::None).collect();
    assert!(flagged.is_empty(), "flagged: {flagged:?}");
}

#[test]
fn masking_hides_every_letter_of_the_offending_words_only() {
    let (text, _) = moderate("eres un PENDEJO, amigo", Reading::own("es"), Policy::Mask, &RoomWords::default());
    assert_eq!(text, "eres un *******, amigo");
    let (text, _) = moderate("他妈的，好吧", Reading::own("zh"), Policy::Mask, &RoomWords::default());
    assert_eq!(text, "***，好吧");
}

#[test]
fn quality_holds_on_the_tatoeba_sentences() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/tatoeba");
    for (lang, row) in parley_pipeline::eval::moderation(&data).unwrap() {
        assert!(row.false_positives <= 1.0, "{lang}: {:.2} % false positives", row.false_positives);
        assert!(row.recall >= 95.0, "{lang}: recall {:.1} % on the lists' own terms", row.recall);
    }
    for (lang, row) in parley_pipeline::eval::detection(&data).unwrap() {
        assert!(row.sentences >= 97.0, "{lang}: detection {:.1} %", row.sentences);
    }
}

/// The development chat lines (three sets, written apart from the lists and
/// from each other): the lists' gaps were found on them, so they must stay
/// closed (recall ≥ 94 %, 90 % for the second set's Chinese and the third's
/// Chinese and Japanese; clean lines flagged ≤ 5 %).
#[test]
fn quality_holds_on_the_development_chat_lines() {
    for set in ["dev", "dev2", "dev3"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/moderation").join(set);
        check_development_set(set, &dir);
    }
}

fn check_development_set(set: &str, dir: &Path) {
    for (lang, row) in parley_pipeline::eval::moderation_held_out(dir).unwrap() {
        // Chinese and Japanese slang (pinyin initials, homophones, number
        // and kana spellings) and insults that need a sentence are the
        // lists' known gap: README, "Quality".
        let floor = match (set, lang) {
            ("dev2", "zh") | ("dev3", "zh" | "ja") => 90.0,
            _ => 94.0,
        };
        let misses: Vec<&str> = row.misses.iter().map(|l| l.text.as_str()).collect();
        let alarms: Vec<&str> = row.false_alarms.iter().map(|l| l.text.as_str()).collect();
        assert!(row.recall() >= floor, "{set} {lang}: recall {:.1} %, missed {misses:?}", row.recall());
        assert!(
            row.false_positive_rate() <= 5.0,
            "{set} {lang}: {:.1} % clean flagged: {alarms:?}",
            row.false_positive_rate()
        );
    }
}

/// The held-out chat lines were never used to tune the lists; this guards
/// against sliding back below what they measured when they were first run
/// (README, "Moderation quality"), without printing what they contain.
#[test]
fn quality_does_not_slide_back_on_the_held_out_chat_lines() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/moderation/heldout");
    for (lang, row) in parley_pipeline::eval::moderation_held_out(&dir).unwrap() {
        assert!(row.offensive >= 50 && row.clean >= 50, "{lang}: the set is complete");
        assert!(row.recall() >= HELD_OUT_RECALL_FLOOR, "{lang}: held-out recall {:.1} %", row.recall());
        assert!(
            row.false_positive_rate() <= HELD_OUT_FLAGGED_CEILING,
            "{lang}: {:.1} % of held-out clean lines flagged",
            row.false_positive_rate()
        );
    }
}

/// Floors set from the held-out measurement (README), less a margin for
/// list edits that trade a line or two.
const HELD_OUT_RECALL_FLOOR: f64 = 88.0;
const HELD_OUT_FLAGGED_CEILING: f64 = 10.0;
