"""Cross-language checks of Parley's moderation lists (a curation aid, not a test).

Every list applies to every text, so a term must not be an ordinary word of
another language unless it says so (`| innocent: xx`), and a term matched
as a word prefix (five letters or more) or as a CJK substring must not fire
inside ordinary words of any language unless those are in safe.txt.

Usage (wordfreq's word lists are the reference vocabulary; they are not
shipped with Parley):

    python3 -m venv .cache/curation && .cache/curation/bin/pip install wordfreq==3.1.1
    .cache/curation/bin/python pipeline/moderation/curation/crosscheck.py [--top 50000]

It prints, per list, the missing `innocent:` languages (zipf frequency >= 3
in that language), and the ordinary words (top N of each language) that a
prefix or substring term would hit and that no safe word shields.
"""

import argparse
import os
import re
import sys
import unicodedata

import wordfreq

HERE = os.path.dirname(os.path.abspath(__file__))
LISTS = os.path.dirname(HERE)
LANGS = ["en", "es", "fr", "de", "pt", "it", "nl", "ru", "uk", "pl", "tr", "ja", "zh", "ko", "ar", "hi"]
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")


def fold(s):
    """Close to the Rust normaliser for plain text: NFKC, lower case, Latin accents off."""
    s = unicodedata.normalize("NFKC", s).lower()
    out = []
    for ch in s:
        if ord(ch) <= 0x24F or 0x1E00 <= ord(ch) <= 0x1EFF:
            out.extend(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        else:
            out.append(ch)
    return "".join(out).replace("ß", "ss")


def parse(path):
    terms = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        innocent = set()
        for p in parts[1:]:
            if p.startswith("innocent:"):
                innocent |= set(p[len("innocent:"):].replace(",", " ").split())
        terms.append((parts[0], innocent))
    return terms


def shielded(word, safe, listed):
    """Whether the matcher would leave `word` alone: a safe word is it or
    begins it (safe words of five letters or more shield their prefixes), or
    it is an inflection of a listed term (a term that begins it, other than
    the one being checked, is itself offensive)."""
    return any(word == s or (len(s) >= 5 and word.startswith(s)) for s in safe)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=50000)
    args = ap.parse_args()
    vocab = {}
    for lang in LANGS:
        try:
            vocab[lang] = [fold(w) for w in wordfreq.iter_wordlist(lang)][: args.top]
        except Exception as e:  # a language wordfreq lacks
            print(f"# no word list for {lang}: {e}", file=sys.stderr)
            vocab[lang] = []
    safe = [fold(l.strip()) for l in open(os.path.join(LISTS, "safe.txt"), encoding="utf-8")
            if l.strip() and not l.startswith("#")]
    listed = set()
    lists = {}
    for lang in LANGS:
        path = os.path.join(LISTS, f"{lang}.txt")
        if os.path.exists(path):
            lists[lang] = parse(path)
            listed |= {fold(t) for t, _ in lists[lang]}
    for lang, terms in lists.items():
        print(f"## {lang}")
        for term, innocent in terms:
            folded = fold(term)
            if CJK.search(term):
                for other in ("ja", "zh", "ko"):
                    hits = [w for w in vocab[other] if folded in w and w != folded and w not in listed
                            and not any(w in s or folded in s and s in w for s in safe)]
                    if hits:
                        print(f"  substring {term!r} inside {other} words: {' '.join(hits[:15])}")
                continue
            if " " not in folded:
                try:
                    home = wordfreq.zipf_frequency(folded, lang)
                except Exception:
                    home = 0.0
                for other in LANGS:
                    if other == lang or other in innocent:
                        continue
                    try:
                        z = wordfreq.zipf_frequency(folded, other)
                    except Exception:
                        continue
                    # Common there, and not merely the same vulgar loanword
                    # (web text in every language swears in English).
                    if z >= 3.5 and z > home - 0.5:
                        print(f"  {term!r}: ordinary in {other} (zipf {z:.1f}, {home:.1f} at home): add `| innocent: {other}`?")
            # Multi-word terms need their first words too: only single words
            # can fire inside an unrelated sentence through the prefix rule.
            last = folded
            if " " not in folded and len(last) >= 5:
                for other in LANGS:
                    hits = [w for w in vocab[other] if w.startswith(last) and w != last and w not in listed
                            and not shielded(w, safe, listed)]
                    if hits:
                        print(f"  prefix {term!r} begins {other} words: {' '.join(hits[:15])}")


if __name__ == "__main__":
    main()
